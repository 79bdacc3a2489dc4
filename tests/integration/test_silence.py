"""Silence through the fake Telegram server: each event reaches the staff chat once, restarts
included (a failing staff chat first, then a restart before it is delivered)."""

from __future__ import annotations

from datetime import timedelta

from bot.fake_telegram import Fault
from tests.integration.conftest import Harness


def told(h: Harness, words: str, code: str) -> list[str]:
    return [
        m.text
        for m in h.server.messages(h.staff_group.id)
        if m.text is not None and words in m.text and code in m.text
    ]


async def settle(h: Harness, passes: int = 3) -> None:
    for _ in range(passes):
        await h.tick()
        await h.svc.alerts.deliver()


async def test_stop_is_told_once_even_when_the_staff_chat_fails_across_a_restart(
    harness: Harness,
) -> None:
    h = harness
    ann = h.server.add_user(first_name="Ann")
    code = await h.enrol(ann)
    asked = await h.say(ann, "/stop")
    assert asked.buttons()
    h.server.inject_fault(Fault(chat_id=h.staff_group.id, status=500, times=None))
    chat = h.server.private_chat(ann)
    confirmed = h.expect(chat.id)
    await h.press(ann, asked, "st:yes")
    await confirmed
    await h.svc.alerts.deliver()
    assert told(h, "stopped all messages", code) == []
    await h.stop()
    h.server.clear_faults()
    h.clock.advance(timedelta(minutes=5))
    await h.start()
    await settle(h)
    await h.restart()
    await settle(h)
    assert len(told(h, "stopped all messages", code)) == 1
    assert all("Ann" not in text for text in told(h, "stopped", code))


async def test_a_patient_who_blocks_the_bot_is_told_once_across_a_restart(
    harness: Harness,
) -> None:
    h = harness
    bea = h.server.add_user(first_name="Bea")
    code = await h.enrol(bea)
    recorded = await h.say(h.staff, f"/infusion {code}")
    assert recorded.text is not None
    assert code in recorded.text
    h.server.block_bot(bea)
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    h.clock.set(rows[0].due_at)
    await settle(h)
    await h.restart()
    h.clock.advance(timedelta(days=1))
    await settle(h)
    assert len(told(h, "can no longer be reached", code)) == 1


async def test_a_long_pause_and_an_unused_invitation_are_told_once_across_a_restart(
    harness: Harness,
) -> None:
    h = harness
    cy = h.server.add_user(first_name="Cy")
    paused = await h.enrol(cy)
    reply = await h.say(cy, "/pause")
    assert reply.text
    unused, _token = await h.invite()
    h.clock.advance(timedelta(days=7, hours=1))
    await settle(h)
    await h.restart()
    h.clock.advance(timedelta(hours=2))
    await settle(h)
    assert len(told(h, "paused for 7 days", paused)) == 1
    assert len(told(h, "never opened", unused)) == 1
    back = h.expect(h.staff_group.id, lambda m: "back after" in (m.text or ""))
    await h.say(cy, "/resume")
    message = await back
    assert message.text is not None
    assert paused in message.text
    await h.restart()
    await settle(h)
    assert len(told(h, "back after", paused)) == 1
