"""Explainers and crisis safety through the fake Telegram server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.clock import ManualClock
from bot.domain.codes import CheckinState
from bot.domain.entities import Checkin
from bot.fake_telegram import FakeTelegramServer, FakeUser, Fault, SentMessage
from bot.services import enrolment
from bot.services.safety import STRANGERS_MAX
from tests.conftest import START
from tests.integration.conftest import BOT_USERNAME, TOKEN, Harness

pytestmark = pytest.mark.both_backends

CRISIS = "honestly i just want to kill myself tonight"


async def setup(h: Harness, user: FakeUser, time: str = "09:00") -> tuple[str, list[Checkin]]:
    code = await h.enrol(user, time)
    await h.say(h.staff, f"/infusion {code}")
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    return code, await h.svc.storage.checkins.for_patient(patient.id)


async def answer(h: Harness, user: FakeUser, row: Checkin, score: int) -> None:
    h.clock.set(row.due_at + timedelta(minutes=1))
    waiting = h.expect(user.id, lambda m: len(m.buttons()) == 11)
    await h.tick()
    prompt = await waiting
    await h.press(user, prompt, prompt.button(str(score)))


async def recorded_as_sent(h: Harness, patient_id: int, count: int = 1) -> None:
    """Wait until the bot has stored `count` alerts for a patient and recorded them delivered."""
    for _ in range(500):
        alerts = await h.svc.storage.alerts.for_patient(patient_id)
        if len(alerts) >= count and all(alert.sent for alert in alerts):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("alert never recorded as sent")


def urgent(h: Harness, code: str) -> list[SentMessage]:
    return [
        m
        for m in h.server.messages(h.staff_group.id)
        if "URGENT" in (m.text or "") and code in (m.text or "")
    ]


async def test_learn_menu_navigation(harness: Harness) -> None:
    h = harness
    ida = h.server.add_user(first_name="Ida")
    await h.enrol(ida)
    menu = await h.say(ida, "/learn")
    topics = menu.buttons()
    assert len(topics) >= 12
    first_title, first_data = topics[0]
    assert first_data.startswith("lx:")
    await h.press(ida, menu, first_data)
    page = await h.server.wait_for(
        lambda: next(
            (
                m
                for m in h.server.messages(ida.id)
                if m.message_id == menu.message_id and first_title in (m.text or "")
            ),
            None,
        )
    )
    labels = [label for label, _ in page.buttons()]
    assert labels == ["\u00ab Back", "Next \u00bb"]
    assert "not medical advice" in (page.text or "")
    await h.press(ida, page, page.button("Next"))
    second_title = topics[1][0]
    await h.server.wait_for(
        lambda: next(
            (
                m
                for m in h.server.messages(ida.id)
                if m.message_id == menu.message_id and second_title in (m.text or "")
            ),
            None,
        )
    )
    await h.press(ida, page, "lx:menu")
    back = await h.server.wait_for(
        lambda: next(
            (
                m
                for m in h.server.messages(ida.id)
                if m.message_id == menu.message_id and len(m.buttons()) == len(topics)
            ),
            None,
        )
    )
    assert back.buttons() == topics
    assert "no longer valid" in await h.press(ida, back, "lx:no-such-topic")
    patient = await h.svc.storage.patients.by_user(ida.id)
    assert patient is not None
    history = await h.svc.storage.explainers.history(patient.id)
    assert [how for _, how in history] == ["requested", "requested"]


async def test_scheduled_explainers_arrive_on_their_days_once(harness: Harness) -> None:
    h = harness
    jon = h.server.add_user(first_name="Jon")
    code, rows = await setup(h, jon)
    pushed_after: dict[int, list[str]] = {}
    for row in rows[:14]:
        before = len(h.server.messages(jon.id))
        await answer(h, jon, row, 7)
        await asyncio.sleep(0)
        new = h.server.messages(jon.id)[before:]
        pushed_after[row.day or 0] = [
            (m.text or "").splitlines()[0]
            for m in new
            if ("More topics", "lx:menu") in m.buttons()
        ]
    got = {day: titles for day, titles in pushed_after.items() if titles}
    assert sorted(got) == [3, 7, 14]
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    history = await h.svc.storage.explainers.history(patient.id)
    assert [(eid, how) for eid, how in history] == [
        ("after-infusion", "scheduled"),
        ("why-it-fades", "scheduled"),
        ("what-helps", "scheduled"),
    ]
    # A new infusion restarts the plan, but an explainer is never pushed twice.
    await h.say(h.staff, f"/infusion {code}")
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    fresh = [r for r in rows if r.state is CheckinState.PENDING][:4]
    for row in fresh:
        await answer(h, jon, row, 7)
    history = await h.svc.storage.explainers.history(patient.id)
    assert len(history) == 3


async def test_no_explainer_at_night_it_waits_for_the_morning(harness: Harness) -> None:
    h = harness
    kay = h.server.add_user(first_name="Kay")
    code = await h.enrol(kay, "09:00")
    await h.say(kay, "/time 23:30")
    await h.say(h.staff, f"/infusion {code}")
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    for row in rows[:3]:
        await answer(h, kay, row, 7)  # day 3 at 23:30: the explainer is due but it is night
    assert await h.svc.storage.explainers.history(patient.id) == []
    before = len(h.server.messages(kay.id))
    h.clock.advance(timedelta(hours=4))  # 03:30: still night
    await h.tick()
    assert len(h.server.messages(kay.id)) == before
    h.clock.advance(timedelta(hours=5))  # 08:30
    waiting = h.expect(kay.id, lambda m: ("More topics", "lx:menu") in m.buttons())
    await h.tick()
    pushed = await waiting
    local = h.clock.now().astimezone(h.settings.timezone)
    assert 8 <= local.hour < 22
    assert "after an infusion" in (pushed.text or "").lower()
    assert await h.svc.storage.explainers.history(patient.id) == [("after-infusion", "scheduled")]


async def test_decline_brings_one_gentle_message_and_the_contact_button(harness: Harness) -> None:
    h = harness
    lia = h.server.add_user(first_name="Lia")
    code, rows = await setup(h, lia)
    for row, score in zip(rows, [8, 8, 7, 4, 4, 4, 3], strict=False):
        await answer(h, lia, row, score)
    await h.svc.alerts.drain()
    gentle = [
        m for m in h.server.messages(lia.id) if "not a sign that you failed" in (m.text or "")
    ]
    assert len(gentle) == 1
    message = gentle[0]
    assert "contact me" in message.buttons()[0][0]
    assert "contacted" not in (message.text or "")

    answer_text = await h.press(lia, message, message.button("contact me"))
    assert "care team has been told" in answer_text
    await h.svc.alerts.drain()
    await h.svc.alerts.deliver()
    contact_alerts = [
        m
        for m in h.server.messages(h.staff_group.id)
        if "asked to be contacted" in (m.text or "") and code in (m.text or "")
    ]
    assert len(contact_alerts) == 1
    again = await h.press(lia, message, message.button("contact me"))
    assert "already knows" in again
    mallory = h.server.add_user(first_name="Mallory")
    assert "no longer valid" in await h.press(mallory, message, message.button("contact me"))
    await h.svc.alerts.drain()
    assert (
        len(
            [
                m
                for m in h.server.messages(h.staff_group.id)
                if "asked to be contacted" in (m.text or "")
            ]
        )
        == 1
    )


async def test_crisis_message_reaches_staff_at_once_and_repeats(harness: Harness) -> None:
    h = harness
    max_ = h.server.add_user(first_name="Max")
    code = await h.enrol(max_)
    waiting_staff = h.expect(h.staff_group.id, lambda m: "URGENT" in (m.text or ""))
    reply = await h.say(max_, CRISIS)
    assert "988" in (reply.text or "")
    assert "911" in (reply.text or "")
    assert "care team know" in (reply.text or "")
    alert = await waiting_staff  # without any dispatcher tick
    assert code in (alert.text or "")
    assert CRISIS in (alert.text or "")
    assert "Max" not in (alert.text or "")
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    notes = await h.svc.storage.answers.notes_for_patient(patient.id)
    assert [text for _, text in notes] == [CRISIS]
    await recorded_as_sent(h, patient.id)

    for _ in range(3):
        h.clock.advance(timedelta(minutes=15))
        await h.tick()
    assert len(urgent(h, code)) == 4  # the alert and three reminders
    await h.press(h.staff, alert, alert.button("Acknowledge"))
    for _ in range(3):
        h.clock.advance(timedelta(minutes=15))
        await h.tick()
    assert len(urgent(h, code)) == 4


async def test_urgent_alert_pending_across_a_restart_is_delivered(harness: Harness) -> None:
    h = harness
    ned = h.server.add_user(first_name="Ned")
    code = await h.enrol(ned)
    h.server.inject_fault(Fault(chat_id=h.staff_group.id, status=502, times=None))
    reply = await h.say(ned, "i have been thinking about ending my life")
    assert "988" in (reply.text or "")
    assert urgent(h, code) == []
    await h.stop()
    h.server.clear_faults()
    h.clock.advance(timedelta(minutes=1))
    waiting = h.expect(h.staff_group.id, lambda m: "URGENT" in (m.text or ""))
    await h.start()
    await waiting
    await h.tick()
    assert len(urgent(h, code)) == 1


async def test_idioms_do_not_alarm_and_strangers_get_resources(harness: Harness) -> None:
    h = harness
    oli = h.server.add_user(first_name="Oli")
    code = await h.enrol(oli)
    for text in ("this commute is killing me", "dead tired after work", "i'm not suicidal"):
        reply = await h.say(oli, text)
        assert "988" not in (reply.text or "")
    assert urgent(h, code) == []
    stranger = h.server.add_user(first_name="Pat")
    reply = await h.say(stranger, "i want to die")
    assert "988" in (reply.text or "")
    assert "contact your clinic" in (reply.text or "")


async def test_crisis_words_from_a_stranger_still_reach_the_staff(harness: Harness) -> None:
    """No patient record, no code: the staff are told anyway, without the person's identity."""
    h = harness
    pat = h.server.add_user(first_name="Pat", username="pat_in_crisis")
    told = h.expect(h.staff_group.id, lambda m: "URGENT" in (m.text or ""))

    reply = await h.say(pat, "i want to die")
    alert = (await told).text or ""

    assert "988" in (reply.text or "")
    assert "not a patient" in alert
    assert "\u201ci want to die\u201d" in alert
    for identity in ("Pat", "pat_in_crisis", str(pat.id)):
        assert identity not in alert.replace("patient", "")
    reference = alert.split("(", 1)[1].split(")", 1)[0]
    assert reference.startswith("ref ")

    # The same person again: resources again, and the staff get the new words as a follow-up.
    follow_up = h.expect(h.staff_group.id, lambda m: "another message" in (m.text or ""))
    again = await h.say(pat, "i want to kill myself")
    assert "988" in (again.text or "")
    told_again_text = (await follow_up).text or ""
    assert reference in told_again_text
    assert "\u201ci want to kill myself\u201d" in told_again_text
    stranger_alerts = [
        m for m in h.server.messages(h.staff_group.id) if "not a patient" in (m.text or "")
    ]
    assert len(stranger_alerts) == 1

    # Someone else is told about at once, under another reference; Pat again after 30 min.
    sam = h.server.add_user(first_name="Sam")
    told_sam = h.expect(h.staff_group.id, lambda m: "not a patient" in (m.text or ""))
    await h.say(sam, "i want to end my life")
    assert reference not in ((await told_sam).text or "")
    h.clock.advance(timedelta(minutes=31))
    told_again = h.expect(h.staff_group.id, lambda m: "not a patient" in (m.text or ""))
    await h.say(pat, "i want to die")
    assert reference in ((await told_again).text or "")


async def test_crisis_words_in_captions_commands_and_edits_are_caught(harness: Harness) -> None:
    h = harness
    quin = h.server.add_user(first_name="Quin")
    code = await h.enrol(quin)
    chat = h.server.private_chat(quin)
    base = {
        "chat": {"id": chat.id, "type": "private", "first_name": "Quin"},
        "from": {"id": quin.id, "is_bot": False, "first_name": "Quin"},
        "date": 1_700_000_000,
    }
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}]
    updates = [
        {"message": {**base, "message_id": 801, "photo": photo, "caption": "i want to die"}},
        {
            "edited_message": {
                **base,
                "message_id": 802,
                "edit_date": 1_700_000_100,
                "text": "i want to end my life",
            }
        },
    ]
    for update in updates:
        waiting = h.expect(chat.id, lambda m: "988" in (m.text or ""))
        h.server.inject_update(update)
        await waiting
    waiting = h.expect(chat.id, lambda m: "988" in (m.text or ""))
    h.server.send_message(quin, "/stop i am going to kill myself")
    await waiting
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    await recorded_as_sent(h, patient.id, count=3)
    assert len(urgent(h, code)) == 3
    # The command's words were a cry for help: check-ins were not stopped.
    after = await h.svc.storage.patients.by_code(code)
    assert after is not None
    assert after.status.value == "active"
    # One repeating alert; the later messages went out once each as follow-ups.
    alerts = await h.svc.storage.alerts.for_patient(patient.id)
    h.clock.advance(timedelta(minutes=15))
    await h.tick()
    reminders = [m for m in urgent(h, code) if (m.text or "").startswith("URGENT reminder")]
    assert len(reminders) == 1
    assert sum(1 for a in alerts if "another message" in a.text) == 2


async def test_a_redelivered_crisis_message_is_handled_once(harness: Harness) -> None:
    """The inbox knows the first delivery was handled: one reply, one alert.

    (Before the inbox the bot could not know and sent the resources again; a reply that
    failed to go out is now retried from the urgent outbox instead.)
    """
    h = harness
    rae = h.server.add_user(first_name="Rae")
    code = await h.enrol(rae)
    waiting = h.expect(rae.id, lambda m: "988" in (m.text or ""))
    update = h.server.send_message(rae, "i keep thinking about suicide")
    await waiting
    h.server.inject_update(update)
    await h.server.wait_for(lambda: not h.server.pending_updates or None)
    await asyncio.sleep(0.3)  # a redelivered update's handler would have finished by now
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    await recorded_as_sent(h, patient.id)
    assert len(await h.svc.storage.alerts.for_patient(patient.id)) == 1
    assert len(urgent(h, code)) == 1
    replies = [
        m for m in h.server.messages(rae.id) if "Thank you for telling me" in (m.text or "")
    ]
    assert len(replies) == 1


async def test_a_new_crisis_after_an_acknowledged_one_repeats_again(harness: Harness) -> None:
    h = harness
    sam = h.server.add_user(first_name="Sam")
    code = await h.enrol(sam)
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    first = h.expect(h.staff_group.id, lambda m: "URGENT" in (m.text or ""))
    await h.say(sam, "i want to kill myself")
    alert = await first
    await h.say(sam, "i still want to die")  # a follow-up while the first is open
    await recorded_as_sent(h, patient.id, count=2)
    await h.press(h.staff, alert, alert.button("Acknowledge"))
    h.clock.advance(timedelta(hours=3))
    await h.say(sam, "tonight i am going to end my life")
    await recorded_as_sent(h, patient.id, count=3)
    newest = (await h.svc.storage.alerts.for_patient(patient.id))[0]
    assert "another message" not in newest.text
    h.clock.advance(timedelta(minutes=15))
    await h.tick()
    reminders = [m for m in urgent(h, code) if (m.text or "").startswith("URGENT reminder")]
    assert len(reminders) == 1


async def test_learn_is_for_enrolled_patients(harness: Harness) -> None:
    h = harness
    stranger = h.server.add_user(first_name="Una")
    reply = await h.say(stranger, "/learn")
    assert "ask your clinic" in (reply.text or "").lower()
    assert reply.buttons() == []


async def test_a_stranger_crisis_message_is_retried_when_the_staff_chat_fails(
    harness: Harness,
) -> None:
    h = harness
    kit = h.server.add_user(first_name="Kit")
    h.server.inject_fault(Fault(chat_id=h.staff_group.id, status=502, times=None))

    reply = await h.say(kit, "i want to die")
    await h.say(kit, "hello")  # the crisis message is fully handled before this reply

    assert "988" in (reply.text or "")
    assert not [m for m in h.server.messages(h.staff_group.id) if "URGENT" in (m.text or "")]
    h.server.clear_faults()
    h.clock.advance(timedelta(minutes=2))
    await h.tick()
    told = [m for m in h.server.messages(h.staff_group.id) if "not a patient" in (m.text or "")]
    assert len(told) == 1
    await h.tick()
    assert len(h.server.messages(h.staff_group.id)) == 1


async def test_staff_commands_about_patients_are_not_crisis_messages(harness: Harness) -> None:
    h = harness

    reply = await h.say(h.staff, "/invite history of self-harm")

    assert "t.me/" in (reply.text or "")
    assert "988" not in (reply.text or "")
    assert not [m for m in h.server.messages(h.staff_group.id) if "URGENT" in (m.text or "")]


async def test_an_invitation_token_that_reads_like_slang_still_enrols(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    monkeypatch.setattr(
        enrolment, "new_token", lambda: "kms-5KLQDvFLkVOnBAUusC2Qqp2kPdZQbEO3gTW_R48"
    )
    _code, token = await h.invite()
    tok = h.server.add_user(first_name="Tok")

    consent = await h.say(tok, f"/start {token}")

    assert "I agree" in consent.buttons()[0][0]
    assert not [m for m in h.server.messages(h.staff_group.id) if "URGENT" in (m.text or "")]
    # Words typed after /start are still the person's own and still checked.
    for text in ("/start i want to die", "/start suicidal", "/START  kms", "/start@bot unalive"):
        crisis = await h.say(tok, text)
        assert "988" in (crisis.text or ""), text


async def test_a_staff_member_who_is_also_a_patient_is_still_heard(harness: Harness) -> None:
    """Only staff commands are exempt, not everything a staff member starts with a slash."""
    h = harness
    code = await h.enrol(h.staff)
    told = h.expect(h.staff_group.id, lambda m: "URGENT" in (m.text or ""))

    reply = await h.say(h.staff, "/stop i am going to kill myself")

    assert "988" in (reply.text or "")
    assert code in ((await told).text or "")


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot against a fake Telegram that enforces its flood limits (429 beyond them)."""
    async with FakeTelegramServer(
        token=TOKEN, bot_username=BOT_USERNAME, enforce_limits=True
    ) as server:
        h = Harness(
            server=server,
            clock=ManualClock(START),
            db_path=tmp_path / "afterglow.db",
            staff=server.add_user(first_name="Nurse", username="nurse"),
            staff_group=server.add_group(title="Clinic staff"),
        )
        try:
            await h.start()
            yield h
        finally:
            await h.stop()


async def test_a_patient_in_crisis_is_not_held_up_by_fifty_strangers(limited: Harness) -> None:
    """Under Telegram's limits, fifty strangers in crisis at once do not delay a patient.

    The clock runs with real time here, as it does in production, so waits for Telegram's
    retry_after pass.
    """
    h = limited
    pat = h.server.add_user(first_name="Pat")
    code = await h.enrol(pat)
    strangers = [h.server.add_user(first_name=f"S{number}") for number in range(50)]

    async def real_time() -> None:
        while True:
            await asyncio.sleep(0.1)
            h.clock.advance(timedelta(seconds=0.1))

    ticking = asyncio.create_task(real_time())
    try:
        for stranger in strangers:
            h.server.send_message(stranger, "i want to kill myself")
        reply = h.expect(pat.id, lambda m: "Thank you for telling me" in (m.text or ""))
        alert = h.expect(
            h.staff_group.id, lambda m: code in (m.text or "") and "URGENT" in (m.text or "")
        )
        h.server.send_message(pat, "i want to kill myself")
        await reply
        await alert
        # Every stranger got the resources; the staff chat was not flooded with them.
        await h.server.wait_for(
            lambda: all(h.server.messages(s) for s in strangers) or None, timeout=30
        )
    finally:
        ticking.cancel()
    about_strangers = [
        m for m in h.server.messages(h.staff_group) if "no patient record" in (m.text or "")
    ]
    assert len(about_strangers) <= STRANGERS_MAX


async def test_a_concern_is_asked_about_and_yes_reaches_the_staff(harness: Harness) -> None:
    """Through the fake server: the question with Yes and No, the review note, then URGENT."""
    h = harness
    una = h.server.add_user(first_name="Una")
    code = await h.enrol(una)
    question = h.expect(una.id, lambda m: bool(m.buttons()) and "directly" in (m.text or ""))
    note = h.expect(h.staff_group.id, lambda m: "for review" in (m.text or ""))
    h.server.send_message(una, "thinking about checking out early")
    asked = await question
    assert code in ((await note).text or "")

    alert = h.expect(h.staff_group.id, lambda m: "answered YES" in (m.text or ""))
    resources = h.expect(una.id, lambda m: "988" in (m.text or ""))
    await h.press(una, asked, asked.buttons()[0][1])

    assert code in ((await alert).text or "")
    await resources
