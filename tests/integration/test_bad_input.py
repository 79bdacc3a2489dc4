"""Strangers, forged and expired links, wrong commands and odd messages: short replies only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain.codes import CheckinState, PatientStatus
from tests.integration.conftest import Harness


async def quiet(h: Harness, chat_id: int, seconds: float = 0.4) -> bool:
    """Tell whether the bot stayed silent in a chat for a moment."""
    before = len(h.server.messages(chat_id))
    await asyncio.sleep(seconds)
    return len(h.server.messages(chat_id)) == before


async def test_start_without_or_with_wrong_token(harness: Harness) -> None:
    h = harness
    stranger = h.server.add_user(first_name="Stranger")
    for text in (
        "/start",
        "/start nonsense",
        "/start " + "A" * 43,
        "/start " + "x" * 200,
        "/start a b",
        "/start ../../etc",
    ):
        reply = await h.say(stranger, text)
        assert "ask your clinic for an invitation link" in (reply.text or "").lower(), text
    assert await h.svc.storage.patients.by_user(stranger.id) is None


async def test_reused_and_expired_links_bind_nothing(harness: Harness) -> None:
    h = harness
    first = h.server.add_user(first_name="First")
    second = h.server.add_user(first_name="Second")
    _, token = await h.invite()
    await h.say(first, f"/start {token}")
    reused = await h.say(second, f"/start {token}")
    assert "already been used" in (reused.text or "")
    assert await h.svc.storage.patients.by_user(second.id) is None

    _, old_token = await h.invite()
    h.clock.advance(timedelta(days=7, seconds=1))
    expired = await h.say(second, f"/start {old_token}")
    assert "expired" in (expired.text or "")
    assert await h.svc.storage.patients.by_user(second.id) is None


async def test_enrolled_user_cannot_take_another_invitation(harness: Harness) -> None:
    h = harness
    pat = h.server.add_user(first_name="Pat")
    code = await h.enrol(pat)
    other_code, other_token = await h.invite()
    reply = await h.say(pat, f"/start {other_token}")
    assert "not used" in (reply.text or "")
    other = await h.svc.storage.patients.by_code(other_code)
    assert other is not None
    assert other.status is PatientStatus.INVITED
    mine = await h.svc.storage.patients.by_user(pat.id)
    assert mine is not None
    assert mine.code == code
    again = await h.say(pat, "/start")
    assert "already set up" in (again.text or "")


async def test_consent_is_required_before_anything_else(harness: Harness) -> None:
    h = harness
    quinn = h.server.add_user(first_name="Quinn")
    _, token = await h.invite()
    consent = await h.say(quinn, f"/start {token}")
    text = consent.text or ""
    assert "not monitored around the clock" in text
    assert "988" in text
    assert "not an encrypted medical channel" in text
    for command in ("/checkin", "/time", "/pause"):
        reply = await h.say(quinn, command)
        assert "I agree" in (reply.text or ""), command
    reply = await h.say(quinn, "7")
    assert "I agree" in (reply.text or "")
    patient = await h.svc.storage.patients.by_user(quinn.id)
    assert patient is not None
    assert patient.consent_at is None
    # Reopening the link shows the consent request again rather than failing.
    again = await h.say(quinn, f"/start {token}")
    assert again.buttons()


async def test_staff_commands_from_non_staff(harness: Harness) -> None:
    h = harness
    mallory = h.server.add_user(first_name="Mallory")
    for command in ("/invite", "/infusion P-AAAA", "/patients"):
        reply = await h.say(mallory, command)
        assert "not authorised" in (reply.text or ""), command
    assert await h.svc.care.overview() == []
    # In the staff group, non-staff are ignored entirely.
    for text in ("/invite", "/patients", "hello", "7"):
        h.server.send_message(mallory, text, chat=h.staff_group)
    assert await quiet(h, h.staff_group.id)
    assert await h.svc.care.overview() == []


async def test_staff_in_the_group_and_bad_infusion_arguments(harness: Harness) -> None:
    h = harness
    reply = await h.say(h.staff, "/invite Room 4", chat=h.staff_group)
    assert "New patient P-" in (reply.text or "")
    assert "(Room 4)" in (reply.text or "")
    cases = {
        "/infusion": "Usage",
        "/infusion P-ZZZZ": "no patient P-ZZZZ",
        "/infusion hello!": "not a patient code",
        "/infusion P-ZZZZ 2026-13-01": "not a real date",
        "/infusion P-ZZZZ yesterday": "not a date",
        "/infusion P-ZZZZ 2026-03-01 9am": "not a time",
        "/infusion P-ZZZZ 2030-01-01": "future",
        "/infusion P-ZZZZ 2020-01-01": "more than a year ago",
        "/infusion a b c d": "Usage",
    }
    for text, expected in cases.items():
        answer = await h.say(h.staff, text, chat=h.staff_group)
        assert expected in (answer.text or ""), (text, answer.text)
    # A long label is refused and nothing is created.
    long_label = await h.say(h.staff, "/invite " + "x" * 80)
    assert "too long" in (long_label.text or "")
    assert len(await h.svc.care.overview()) == 1
    # Group chatter by staff that is not a command is ignored.
    h.server.send_message(h.staff, "see you tomorrow", chat=h.staff_group)
    assert await quiet(h, h.staff_group.id)


async def test_patients_list(harness: Harness) -> None:
    h = harness
    rae = h.server.add_user(first_name="Rae", username="rae_private")
    code = await h.enrol(rae)
    await h.say(h.staff, f"/infusion {code}")
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    h.clock.set(rows[0].due_at)
    waiting = h.expect(rae.id, lambda m: len(m.buttons()) == 11)
    await h.tick()
    prompt = await waiting
    await h.press(rae, prompt, prompt.button("8"))
    listing = await h.say(h.staff, "/patients", chat=h.staff_group)
    text = listing.text or ""
    assert code in text
    assert "active" in text
    assert "last 8/10" in text
    # Staff-facing text never carries the patient's Telegram identity.
    assert "Rae" not in text
    assert "rae_private" not in text


async def test_non_text_messages_and_unknown_commands(harness: Harness) -> None:
    h = harness
    sam = h.server.add_user(first_name="Sam")
    code = await h.enrol(sam)
    chat = h.server.private_chat(sam)
    waiting = h.expect(chat.id)
    h.server.inject_update(
        {
            "message": {
                "message_id": 9001,
                "date": 1_700_000_000,
                "chat": {"id": chat.id, "type": "private", "first_name": "Sam"},
                "from": {"id": sam.id, "is_bot": False, "first_name": "Sam"},
                "sticker": {
                    "file_id": "s1",
                    "file_unique_id": "u1",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                },
            }
        }
    )
    reply = await waiting
    assert "only read text" in (reply.text or "")
    unknown = await h.say(sam, "/frobnicate")
    assert "did not understand" in (unknown.text or "")
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    assert await h.svc.storage.checkins.for_patient(patient.id) == []
    assert await h.svc.storage.answers.notes_for_patient(patient.id) == []


async def test_help_shows_the_emergency_notice(harness: Harness) -> None:
    h = harness
    stranger = h.server.add_user(first_name="Tia")
    reply = await h.say(stranger, "/help")
    text = reply.text or ""
    assert "not for emergencies" in text
    assert "988" in text
    assert "911" in text
    staff_help = await h.say(h.staff, "/help")
    assert "/invite" in (staff_help.text or "")


async def test_commands_are_registered(harness: Harness) -> None:
    calls = harness.server.calls_to("setMyCommands")
    registered = {str(call.get("scope")): str(call.get("commands")) for call in calls}
    assert any("all_private_chats" in scope for scope in registered)
    joined = " ".join(registered.values())
    for command in ("checkin", "time", "pause", "resume", "stop", "help", "invite", "infusion"):
        assert command in joined


async def test_checkin_time_pause_resume_stop(harness: Harness) -> None:
    h = harness
    uma = h.server.add_user(first_name="Uma")
    code = await h.enrol(uma, "09:00")
    await h.say(h.staff, f"/infusion {code}")

    extra = await h.say(uma, "/checkin")
    assert len(extra.buttons()) == 11
    again = await h.say(uma, "/checkin")
    assert "open check-in" in (again.text or "")
    assert again.buttons() == extra.buttons()
    await h.press(uma, extra, extra.button("5"))

    menu = await h.say(uma, "/time")
    assert "09:00" in (menu.text or "")
    assert ("20:00", "t:2000") in menu.buttons()
    typed = await h.say(uma, "/time 07:45")
    assert "07:45" in (typed.text or "")
    assert "35 upcoming check-ins moved" in (typed.text or "")
    bad = await h.say(uma, "/time 7.45pm")
    assert "HH:MM" in (bad.text or "")
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    planned = [c for c in rows if c.state is CheckinState.PENDING]
    assert {c.due_at.astimezone(h.settings.timezone).strftime("%H:%M") for c in planned} == {
        "07:45"
    }

    assert "paused" in ((await h.say(uma, "/pause")).text or "")
    assert "already paused" in ((await h.say(uma, "/pause")).text or "")
    h.clock.set(planned[0].due_at)
    await h.tick()
    first = await h.svc.storage.checkins.get(planned[0].id)
    assert first is not None
    assert first.state is CheckinState.CANCELLED
    assert "on again" in ((await h.say(uma, "/resume")).text or "")
    assert "not paused" in ((await h.say(uma, "/resume")).text or "")

    open_one = await h.say(uma, "/checkin")
    stopped = await h.say(uma, "/stop")
    assert "will not message you again" in (stopped.text or "")
    assert "stopped" in await h.press(uma, open_one, open_one.button("7"))
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    assert not [c for c in rows if c.state is CheckinState.PENDING]
    h.clock.advance(timedelta(days=3))
    await h.tick()
    assert await quiet(h, uma.id, 0.2)
    after = await h.say(uma, "/checkin")
    assert "stopped" in (after.text or "")


async def test_a_stopped_patient_can_start_again_with_a_new_invitation(harness: Harness) -> None:
    h = harness
    val = h.server.add_user(first_name="Val")
    old_code = await h.enrol(val)
    await h.say(val, "/stop")
    refused = await h.say(val, "/start")
    assert "new invitation" in (refused.text or "")
    new_code, token = await h.invite()
    consent = await h.say(val, f"/start {token}")
    assert "I agree" in consent.buttons()[0][0]
    current = await h.svc.storage.patients.by_user(val.id)
    assert current is not None
    assert current.code == new_code
    old = await h.svc.storage.patients.by_code(old_code)
    assert old is not None
    assert old.status is PatientStatus.STOPPED
    assert old.telegram_user_id is None


async def test_patients_list_is_capped_for_large_clinics(harness: Harness) -> None:
    h = harness
    for n in range(160):
        await h.svc.enrolment.invite(staff_id=h.staff.id, label=None, update_id=10_000 + n)
    first = h.expect(h.staff.id)
    h.server.send_message(h.staff, "/patients")
    await first
    await h.server.wait_for(
        lambda: next(
            (m for m in h.server.messages(h.staff.id) if "and 10 more" in (m.text or "")), None
        )
    )
    listed = sum((m.text or "").count("P-") for m in h.server.messages(h.staff.id))
    assert listed == 150


async def test_patients_list_is_cut_by_telegram_length_not_python_length(
    harness: Harness,
) -> None:
    """Emoji count twice in Telegram's limit: long emoji labels still list every patient."""
    h = harness
    for n in range(30):
        await h.svc.enrolment.invite(
            staff_id=h.staff.id, label="\U0001f600" * 60, update_id=20_000 + n
        )
    first = h.expect(h.staff.id)
    h.server.send_message(h.staff, "/patients")
    await first
    await h.server.wait_for(
        lambda: (
            sum((m.text or "").count("P-") for m in h.server.messages(h.staff.id)) >= 30 or None
        )
    )
    texts = [m.text or "" for m in h.server.messages(h.staff.id)]
    assert not any("went wrong" in text for text in texts)
    assert sum(text.count("P-") for text in texts) == 30


async def test_stopping_before_consent_then_agreeing_says_stopped(harness: Harness) -> None:
    h = harness
    wes = h.server.add_user(first_name="Wes")
    _code, token = await h.invite()
    consent = await h.say(wes, f"/start {token}")
    await h.say(wes, "/stop")

    answer = await h.press(wes, consent, consent.button("I agree"))

    assert "stopped" in answer
    assert "already recorded" not in answer


async def test_a_failing_button_handler_still_answers_the_press(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The button does not keep spinning: the error handler answers the callback."""
    h = harness
    xia = h.server.add_user(first_name="Xia")
    await h.enrol(xia)
    prompt = await h.say(xia, "/checkin")

    async def broken(**_: object) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(h.svc.checkins, "answer_button", broken)

    answer = await h.press(xia, prompt, prompt.button("6"))

    assert "went wrong" in answer


async def test_a_patient_reopening_their_own_link_is_told_they_are_set_up(
    harness: Harness,
) -> None:
    h = harness
    yan = h.server.add_user(first_name="Yan")
    _code, token = await h.invite()
    consent = await h.say(yan, f"/start {token}")
    chat = h.server.private_chat(yan)
    recorded = h.expect(chat.id, lambda m: "consent is recorded" in (m.text or ""))
    await h.press(yan, consent, consent.button("I agree"))
    await recorded

    again = await h.say(yan, f"/start {token}")

    assert "already set up" in (again.text or "")


async def test_help_in_the_staff_group_lists_the_staff_commands(harness: Harness) -> None:
    h = harness

    reply = await h.say(h.staff, "/help", chat=h.staff_group)

    assert "/patient" in (reply.text or "")
    assert "988" not in (reply.text or "")
