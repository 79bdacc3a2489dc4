"""The whole check-in loop through the fake Telegram server, including restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain.codes import CheckinState, Delivery, InboxState, PatientStatus
from bot.fake_telegram import Fault
from tests.integration.conftest import Harness

pytestmark = pytest.mark.both_backends


async def due_prompt(h: Harness, code: str, index: int = 0):  # type: ignore[no-untyped-def]
    """Move the clock to a planned check-in and tick; return the prompt the patient got."""
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    h.clock.set(rows[index].due_at)
    waiting = h.expect(patient.chat_id or 0, lambda m: len(m.buttons()) == 11)
    await h.tick()
    return await waiting, rows[index]


async def test_invite_enrol_infuse_checkin_answer_restart(harness: Harness) -> None:
    h = harness
    alice = h.server.add_user(first_name="Alice")
    code = await h.enrol(alice, "09:00")

    reply = await h.say(h.staff, f"/infusion {code}")
    assert f"Infusion recorded for {code}" in (reply.text or "")
    assert "35 check-ins planned" in (reply.text or "")

    prompt, row = await due_prompt(h, code)
    assert "mood" in (prompt.text or "").lower()
    assert [label for label, _ in prompt.buttons()] == [str(n) for n in range(11)]
    local = row.due_at.astimezone(h.settings.timezone)
    assert (local.hour, local.minute) == (9, 0)

    answer = await h.press(alice, prompt, prompt.button("7"))
    assert "7/10" in answer
    edited = await h.server.wait_for(
        lambda: next(
            (
                m
                for m in h.server.messages(alice.id)
                if m.message_id == prompt.message_id and m.edited
            ),
            None,
        )
    )
    assert "Recorded: 7/10" in (edited.text or "")
    assert not edited.buttons()
    stored = await h.svc.storage.checkins.get(row.id)
    assert stored is not None
    assert stored.state is CheckinState.ANSWERED
    assert stored.score == 7

    # With the day's check-in answered, the baseline PHQ-9 comes on the next pass.
    await h.tick()
    await h.server.wait_for(
        lambda: next((m for m in h.server.messages(alice.id) if "PHQ-9" in (m.text or "")), None)
    )
    sent_before = len(h.server.messages(alice.id))
    await h.restart()
    for _ in range(3):
        await h.tick()
        h.clock.advance(timedelta(seconds=30))
    await asyncio.sleep(0.1)
    extra = [m.text for m in h.server.messages(alice.id)[sent_before:]]
    assert extra == []
    again = await h.svc.storage.checkins.get(row.id)
    assert again is not None
    assert again.score == 7

    note = await h.say(alice, "Slept well for once")
    assert "note is saved" in (note.text or "")


async def test_typed_answers_and_reprompts(harness: Harness) -> None:
    h = harness
    bob = h.server.add_user(first_name="Bob")
    code = await h.enrol(bob)
    await h.say(h.staff, f"/infusion {code}")
    prompt, row = await due_prompt(h, code)

    for bad in ("eleven", "11", "-3", "7.5", "😀"):
        reply = await h.say(bob, bad)
        assert "number from 0 to 10" in (reply.text or "")
    stored = await h.svc.storage.checkins.get(row.id)
    assert stored is not None
    assert stored.state is CheckinState.SENT

    reply = await h.say(bob, "6/10")
    assert "Recorded: 6/10" in (reply.text or "")
    prompt_now = next(m for m in h.server.messages(bob.id) if m.message_id == prompt.message_id)
    assert not prompt_now.buttons()
    skip = await h.say(bob, "/skip")
    assert "no note" in (skip.text or "").lower()
    later = await h.say(bob, "5")
    assert "no open check-in" in (later.text or "").lower()
    answered = await h.svc.storage.checkins.get(row.id)
    assert answered is not None
    assert answered.score == 6


async def test_second_press_stale_and_forged_buttons(harness: Harness) -> None:
    h = harness
    carol = h.server.add_user(first_name="Carol")
    dave = h.server.add_user(first_name="Dave")
    code = await h.enrol(carol)
    await h.enrol(dave)
    await h.say(h.staff, f"/infusion {code}")
    prompt, row = await due_prompt(h, code)

    assert "Recorded" in await h.press(carol, prompt, f"m:{row.id}:4")
    assert "already answered" in await h.press(carol, prompt, f"m:{row.id}:9")
    # Dave forges a press on Carol's check-in; strangers and garbage too.
    assert "no longer valid" in await h.press(dave, prompt, f"m:{row.id}:0")
    stranger = h.server.add_user(first_name="Eve")
    assert "no longer valid" in await h.press(stranger, prompt, f"m:{row.id}:0")
    for forged in ("m:1:11", "m:abc:1", "m:99999999:3", "x" * 64, "t:9999", "c:nope"):
        assert "no longer valid" in await h.press(carol, prompt, forged)
    stored = await h.svc.storage.checkins.get(row.id)
    assert stored is not None
    assert stored.score == 4


async def test_redelivered_update_is_stored_once(harness: Harness) -> None:
    h = harness
    frank = h.server.add_user(first_name="Frank")
    code = await h.enrol(frank)
    await h.say(h.staff, f"/infusion {code}")
    prompt, row = await due_prompt(h, code)
    update = h.server.press_button(frank, prompt, prompt.button("3"))
    await h.server.wait_for(lambda: len(h.server.calls_to("answerCallbackQuery")) >= 3 or None)
    # Telegram delivers the very same update again (same update_id, same query): the inbox
    # knows it was handled, so it is neither stored nor answered a second time.
    before = len(h.server.calls_to("answerCallbackQuery"))
    h.server.inject_update(update)
    await h.server.wait_for(lambda: not h.server.pending_updates or None)
    await asyncio.sleep(0.3)
    assert len(h.server.calls_to("answerCallbackQuery")) == before
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    answered = [c for c in rows if c.state is CheckinState.ANSWERED]
    assert [c.id for c in answered] == [row.id]

    waiting = h.expect(frank.id)
    text_update = h.server.send_message(frank, "a note about today")
    await waiting
    h.server.inject_update(text_update)
    await asyncio.sleep(0.3)
    notes = await h.svc.storage.answers.notes_for_patient(patient.id)
    assert [text for _, text in notes] == ["a note about today"]


async def test_a_redelivered_checkin_command_prompts_once(harness: Harness) -> None:
    h = harness
    gus = h.server.add_user(first_name="Gus")
    await h.enrol(gus)
    chat = h.server.private_chat(gus)
    waiting = h.expect(chat.id)
    command = h.server.send_message(gus, "/checkin")
    await waiting
    before = len(h.server.messages(chat.id))

    h.server.inject_update(command)  # Telegram delivers the very same update again
    reprompt = h.expect(chat.id, lambda m: "number from 0 to 10" in (m.text or ""))
    h.server.send_message(gus, "hello")  # handled after the redelivery, in order
    await reprompt

    after = [m.text or "" for m in h.server.messages(chat.id)[before:]]
    assert len(after) == 1, after


async def test_stale_checkins_are_missed_after_downtime(harness: Harness) -> None:
    h = harness
    gina = h.server.add_user(first_name="Gina")
    code = await h.enrol(gina)
    await h.say(h.staff, f"/infusion {code}")
    found = await h.svc.storage.patients.by_code(code)
    assert found is not None
    rows = await h.svc.storage.checkins.for_patient(found.id)
    await h.stop()
    h.clock.set(rows[3].due_at + timedelta(hours=2))  # bot was down for four days
    waiting = h.expect(gina.id, lambda m: len(m.buttons()) == 11)
    await h.start()  # the start-up tick runs at once
    prompt = await waiting
    assert prompt.buttons()[0][1] == f"m:{rows[3].id}:0"
    states = [c.state for c in await h.svc.storage.checkins.for_patient(found.id)][:5]
    assert states == [CheckinState.MISSED] * 3 + [CheckinState.SENT, CheckinState.PENDING]
    assert sum(1 for m in h.server.messages(gina.id) if len(m.buttons()) == 11) == 1


async def test_blocked_patient_is_marked_unreachable(harness: Harness) -> None:
    h = harness
    hank = h.server.add_user(first_name="Hank")
    code = await h.enrol(hank)
    await h.say(h.staff, f"/infusion {code}")
    h.server.inject_fault(Fault(method="sendMessage", chat_id=hank.id, status=403, times=None))
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    h.clock.set(rows[0].due_at)
    await h.tick()
    after = await h.svc.storage.patients.by_code(code)
    assert after is not None
    assert after.status is PatientStatus.UNREACHABLE
    failed = await h.svc.storage.checkins.get(rows[0].id)
    assert failed is not None
    assert failed.state is CheckinState.FAILED
    attempts = len(h.server.calls_to("sendMessage"))
    h.clock.set(rows[1].due_at)
    await h.tick()
    assert len(h.server.calls_to("sendMessage")) == attempts
    # The patient unblocks and writes again: they are welcomed back.
    h.server.clear_faults()
    reply = await h.say(hank, "/resume")
    assert "again" in (reply.text or "").lower()
    await h.say(hank, "hello")  # replies in order: whatever /resume said came before this
    said = [m.text or "" for m in h.server.messages(h.server.private_chat(hank).id)]
    assert not any("not paused" in text for text in said)
    back = await h.svc.storage.patients.by_code(code)
    assert back is not None
    assert back.status is PatientStatus.ACTIVE


async def test_429_waits_and_delivers_once(harness: Harness) -> None:
    h = harness
    ivy = h.server.add_user(first_name="Ivy")
    code = await h.enrol(ivy)
    await h.say(h.staff, f"/infusion {code}")
    h.server.inject_fault(Fault(method="sendMessage", chat_id=ivy.id, status=429, retry_after=1))
    prompt, row = await due_prompt(h, code)
    assert sum(1 for m in h.server.messages(ivy.id) if len(m.buttons()) == 11) == 1
    stored = await h.svc.storage.checkins.get(row.id)
    assert stored is not None
    assert stored.delivery is Delivery.CONFIRMED
    assert stored.message_id == prompt.message_id


async def test_5xx_is_retried_on_a_later_tick(harness: Harness) -> None:
    h = harness
    jo = h.server.add_user(first_name="Jo")
    code = await h.enrol(jo)
    await h.say(h.staff, f"/infusion {code}")
    h.server.inject_fault(Fault(method="sendMessage", chat_id=jo.id, status=502, times=1))
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    h.clock.set(rows[0].due_at)
    await h.tick()
    pending = await h.svc.storage.checkins.get(rows[0].id)
    assert pending is not None
    assert pending.state is CheckinState.PENDING
    assert not [m for m in h.server.messages(jo.id) if len(m.buttons()) == 11]
    h.clock.advance(timedelta(seconds=31))
    waiting = h.expect(jo.id, lambda m: len(m.buttons()) == 11)
    await h.tick()
    await waiting
    sent = await h.svc.storage.checkins.get(rows[0].id)
    assert sent is not None
    assert sent.delivery is Delivery.CONFIRMED


async def test_timeout_after_delivery_is_not_resent(harness: Harness) -> None:
    h = harness
    await h.stop()
    h.request_timeout = 0.5
    await h.start()
    kim = h.server.add_user(first_name="Kim")
    code = await h.enrol(kim)
    await h.say(h.staff, f"/infusion {code}")
    h.server.inject_fault(
        Fault(method="sendMessage", chat_id=kim.id, delay=1.5, deliver=True, times=1)
    )
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    h.clock.set(rows[0].due_at)
    await h.tick()
    stored = await h.svc.storage.checkins.get(rows[0].id)
    assert stored is not None
    assert stored.state is CheckinState.SENT
    assert stored.delivery is Delivery.UNCERTAIN
    await asyncio.sleep(1.2)  # the slow answer arrives server-side; the message exists
    await h.restart()
    for _ in range(4):
        h.clock.advance(timedelta(minutes=5))
        await h.tick()
    prompts = [m for m in h.server.messages(kim.id) if len(m.buttons()) == 11]
    assert len(prompts) == 1
    # The patient can still answer the prompt they received.
    assert "Recorded" in await h.press(kim, prompts[0], prompts[0].button("5"))


async def test_dispatcher_job_runs_on_its_own(harness: Harness) -> None:
    h = harness
    await h.stop()
    h.dispatch_interval = 0.2
    await h.start()
    lee = h.server.add_user(first_name="Lee")
    code = await h.enrol(lee)
    await h.say(h.staff, f"/infusion {code}")
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    waiting = h.expect(lee.id, lambda m: len(m.buttons()) == 11)
    h.clock.set(rows[0].due_at)
    await waiting
    await asyncio.sleep(0.5)
    assert sum(1 for m in h.server.messages(lee.id) if len(m.buttons()) == 11) == 1


async def test_an_update_the_library_cannot_parse_is_skipped_and_logged_without_content(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    ann, ben = h.server.add_user(first_name="Ann"), h.server.add_user(first_name="Ben")
    before = h.expect(ann.id)
    h.server.send_message(ann, "hello")
    await before
    poison = h.server.inject_update(
        {
            "message": {
                "message_id": 77,
                "date": "not a date",
                "chat": {"id": ann.id, "type": "private"},
                "from": {"id": ann.id, "is_bot": False, "first_name": "Ann"},
                "text": "my private words",
            }
        }
    )
    after = h.expect(ben.id)
    h.server.send_message(ben, "hello too")

    await after  # the update after the poison one is handled

    assert await h.svc.storage.inbox.state(poison["update_id"]) is InboxState.POISON
    assert f"intake.poison update={poison['update_id']}" in caplog.text
    assert "my private words" not in caplog.text
    assert not h.server.pending_updates
