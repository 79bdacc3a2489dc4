"""Staff alerts through the fake Telegram server: delivery, faults, restarts, buttons."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain.codes import AuditAction, EpisodeKind
from bot.domain.entities import Alert
from bot.fake_telegram import Fault, SentMessage
from bot.telegram import staff_texts
from tests.integration.conftest import Harness

pytestmark = pytest.mark.both_backends


async def raise_decline(h: Harness, code: str) -> Alert:
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    alert = await h.svc.alerts.open_episode(
        patient,
        kind=EpisodeKind.DECLINE,
        since=h.clock.now() - timedelta(days=2),
        explanation="Mood fell from a post-infusion level of 7.7 to 4.0.",
        text=staff_texts.episode_alert(
            patient,
            EpisodeKind.DECLINE,
            explanation="Mood fell from a post-infusion level of 7.7 to 4.0.",
            last_infusion=None,
            last_scores=[],
            now=h.clock.now(),
            tz=h.settings.timezone,
        ),
    )
    assert alert is not None
    return alert


async def edited(h: Harness, message: SentMessage, words: str) -> SentMessage:
    """Wait until the bot has edited a message to contain some words."""

    def find() -> SentMessage | None:
        for m in h.server.messages(message.chat_id):
            if m.message_id == message.message_id and words in (m.text or ""):
                return m
        return None

    return await h.server.wait_for(find)


def staff_alerts(h: Harness) -> list[SentMessage]:
    return [m for m in h.server.messages(h.staff_group.id) if "mood decline" in (m.text or "")]


async def test_alert_arrives_with_chart_buttons_and_code_only(harness: Harness) -> None:
    h = harness
    ann = h.server.add_user(first_name="Annabel", username="annabel_real")
    code = await h.enrol(ann)
    await raise_decline(h, code)
    waiting = h.expect(h.staff_group.id)
    await h.svc.alerts.deliver()
    message = await waiting
    assert message.method == "sendPhoto"
    assert message.photo is not None
    assert message.photo.startswith(b"\x89PNG")
    caption = message.text or ""
    assert code in caption
    assert "mood decline" in caption
    assert "Annabel" not in caption
    assert "annabel_real" not in caption
    assert [label for label, _ in message.buttons()] == ["Acknowledge", "Resolve"]


async def test_staff_chat_5xx_then_recovery_delivers_once(harness: Harness) -> None:
    h = harness
    ben = h.server.add_user(first_name="Ben")
    code = await h.enrol(ben)
    h.server.inject_fault(Fault(chat_id=h.staff_group.id, status=502, times=2))
    alert = await raise_decline(h, code)
    await h.svc.alerts.deliver()
    assert staff_alerts(h) == []
    for _ in range(6):
        h.clock.advance(timedelta(seconds=31))
        await h.svc.alerts.deliver()
    assert len(staff_alerts(h)) == 1
    stored = await h.svc.alerts.get(alert.id)
    assert stored is not None
    assert stored.sent
    assert stored.attempts == 3


async def test_pending_alert_survives_restart_and_arrives_once(harness: Harness) -> None:
    h = harness
    cat = h.server.add_user(first_name="Cat")
    code = await h.enrol(cat)
    h.server.inject_fault(Fault(chat_id=h.staff_group.id, status=500, times=None))
    await raise_decline(h, code)
    await h.svc.alerts.deliver()
    await h.stop()
    h.server.clear_faults()
    h.clock.advance(timedelta(minutes=2))
    waiting = h.expect(h.staff_group.id, lambda m: "mood decline" in (m.text or ""))
    await h.start()  # the start-up job delivers what is pending
    await waiting
    await h.svc.alerts.deliver()
    assert len(staff_alerts(h)) == 1


async def test_group_migration_is_followed(harness: Harness) -> None:
    h = harness
    dee = h.server.add_user(first_name="Dee")
    code = await h.enrol(dee)
    new_group = h.server.migrate_group(h.staff_group)
    await raise_decline(h, code)
    await h.svc.alerts.deliver()
    delivered = [m for m in h.server.messages(new_group.id) if "mood decline" in (m.text or "")]
    assert len(delivered) == 1
    assert await h.svc.alerts.staff_chat_id() == new_group.id


async def test_staff_commands_work_in_the_supergroup_before_any_alert(harness: Harness) -> None:
    """Telegram's migration notice is enough: no alert has to fail first."""
    h = harness
    new_group = h.server.migrate_group(h.staff_group)
    for _ in range(200):
        if await h.svc.alerts.staff_chat_id() == new_group.id:
            break
        await asyncio.sleep(0.01)

    reply = await h.say(h.staff, "/alerts", chat=new_group)

    assert await h.svc.alerts.staff_chat_id() == new_group.id
    assert "alert" in (reply.text or "").lower()


async def test_acknowledge_and_resolve_buttons(harness: Harness) -> None:
    h = harness
    eve = h.server.add_user(first_name="Eve")
    code = await h.enrol(eve)
    alert = await raise_decline(h, code)
    waiting = h.expect(h.staff_group.id)
    await h.svc.alerts.deliver()
    message = await waiting

    stranger = h.server.add_user(first_name="Mallory")
    answer = await h.press(stranger, message, message.button("Acknowledge"))
    assert "not authorised" in answer
    assert "not authorised" in await h.press(stranger, message, f"al:res:{alert.id}")
    untouched = await h.svc.alerts.get(alert.id)
    assert untouched is not None
    assert untouched.acknowledged_at is None

    assert await h.press(h.staff, message, message.button("Acknowledge")) == "Acknowledged"
    current = await edited(h, message, "Acknowledged by Nurse")
    assert [label for label, _ in current.buttons()] == ["Resolve"]
    assert "Already" in await h.press(h.staff, message, f"al:ack:{alert.id}")

    assert await h.press(h.staff, current, current.button("Resolve")) == "Resolved"
    final = await edited(h, message, "Resolved by Nurse")
    assert final.buttons() == []
    stored = await h.svc.alerts.get(alert.id)
    assert stored is not None
    assert stored.acknowledged_by == h.staff.id
    assert stored.resolved_at is not None
    log = await h.svc.storage.clinic.audit_log()
    actions = {entry.action for entry in log}
    assert {
        AuditAction.ACKNOWLEDGE_ALERT,
        AuditAction.RESOLVE_ALERT,
        AuditAction.INVITE,
    } <= actions
    assert "forged" not in actions
    assert "no longer valid" in await h.press(h.staff, current, "al:ack:99999")


async def test_staff_commands_for_alerts_and_patients(harness: Harness) -> None:
    h = harness
    fay = h.server.add_user(first_name="Fay", username="fay_private")
    code = await h.enrol(fay)
    await h.say(h.staff, f"/infusion {code}")
    await raise_decline(h, code)
    await h.svc.alerts.deliver()

    listing = await h.say(h.staff, "/alerts", chat=h.staff_group)
    assert code in (listing.text or "")
    assert "NOT acknowledged" in (listing.text or "")

    chat = h.staff_group.id
    waiting_photo = h.expect(
        chat, lambda m: m.method == "sendPhoto" and "mood chart" in (m.text or "")
    )
    summary = await h.say(h.staff, f"/patient {code.lower()}", chat=h.staff_group)
    text = summary.text or ""
    assert code in text
    assert "Open: decline" in text
    assert "Fay" not in text
    assert "fay_private" not in text
    photo = await waiting_photo
    assert photo.photo is not None

    unknown = await h.say(h.staff, "/patient P-ZZZZ", chat=h.staff_group)
    assert "no patient" in (unknown.text or "")
    usage = await h.say(h.staff, "/patient", chat=h.staff_group)
    assert "Usage" in (usage.text or "")

    resolved = await h.say(h.staff, f"/resolve {code}", chat=h.staff_group)
    assert "Resolved 1 open episode" in (resolved.text or "")
    again = await h.say(h.staff, f"/resolve {code}", chat=h.staff_group)
    assert "no open episodes" in (again.text or "")
    empty = await h.say(h.staff, "/alerts", chat=h.staff_group)
    assert "No open alerts" in (empty.text or "")
    log = await h.svc.storage.clinic.audit_log()
    assert {
        AuditAction.VIEW_PATIENT,
        AuditAction.RESOLVE_PATIENT,
        AuditAction.INFUSION,
    } <= {entry.action for entry in log}

    mallory = h.server.add_user(first_name="Mallory")
    for command in (f"/patient {code}", "/alerts", f"/resolve {code}"):
        refused = await h.say(mallory, command)
        assert "not authorised" in (refused.text or "")


async def test_staff_commands_only_in_private_or_the_staff_chat(harness: Harness) -> None:
    h = harness
    gil = h.server.add_user(first_name="Gil")
    code = await h.enrol(gil)
    other_group = h.server.add_group(title="Family chat")
    for text in (f"/patient {code}", "/patients", "/alerts", "/invite"):
        h.server.send_message(h.staff, text, chat=other_group)
    await asyncio.sleep(0.4)
    assert h.server.messages(other_group.id) == []
    # After the staff group becomes a supergroup, commands work there too.
    new_group = h.server.migrate_group(h.staff_group)
    await raise_decline(h, code)
    await h.svc.alerts.deliver()
    reply = await h.say(h.staff, "/alerts", chat=new_group)
    assert code in (reply.text or "")
