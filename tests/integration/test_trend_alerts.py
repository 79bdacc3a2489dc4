"""From check-ins to one staff alert: the detector runs after answers and on ticks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain.entities import Checkin
from bot.fake_telegram import FakeUser, SentMessage
from tests.integration.conftest import Harness


async def setup(h: Harness, user: FakeUser) -> tuple[str, list[Checkin]]:
    code = await h.enrol(user, "09:00")
    await h.say(h.staff, f"/infusion {code}")
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    return code, await h.svc.storage.checkins.for_patient(patient.id)


async def prompt_for(h: Harness, user: FakeUser, row: Checkin) -> SentMessage:
    h.clock.set(row.due_at + timedelta(minutes=5))
    waiting = h.expect(user.id, lambda m: len(m.buttons()) == 11)
    await h.tick()
    return await waiting


def staff_alerts(h: Harness, code: str, words: str) -> list[SentMessage]:
    """Alerts (not their reminders) about a patient that contain some words."""
    return [
        m
        for m in h.server.messages(h.staff_group.id)
        if code in (m.text or "")
        and words in (m.text or "")
        and not (m.text or "").startswith("Reminder")
    ]


async def test_declining_answers_bring_one_alert_with_a_chart(harness: Harness) -> None:
    h = harness
    gus = h.server.add_user(first_name="Gus")
    code, rows = await setup(h, gus)
    for index, score in enumerate([8, 8, 7, 4, 4, 3, 4, 3, 2, 3]):
        prompt = await prompt_for(h, gus, rows[index])
        await h.press(gus, prompt, prompt.button(str(score)))
        if index == 4:
            # 8, 8, 7, then 4, 4: flagged by the second 4 at the latest.
            await h.server.wait_for(lambda: staff_alerts(h, code, "mood decline") or None)
    await asyncio.sleep(0.3)  # let the last answer's review finish
    await h.svc.alerts.drain()
    declines = staff_alerts(h, code, "mood decline")
    assert len(declines) == 1
    alert = declines[0]
    assert alert.method == "sendPhoto"
    assert alert.photo is not None
    assert "Last scores:" in (alert.text or "")
    assert "Gus" not in (alert.text or "")
    # Days went by unacknowledged: one reminder, not one a day.
    staff_chat = h.server.messages(h.staff_group.id)
    reminders = [
        m
        for m in staff_chat
        if (m.text or "").startswith("Reminder") and "mood decline" in (m.text or "")
    ]
    assert len(reminders) == 1


async def test_missed_checkins_after_answering_flag_disengagement(harness: Harness) -> None:
    h = harness
    hal = h.server.add_user(first_name="Hal")
    code, rows = await setup(h, hal)
    prompt = await prompt_for(h, hal, rows[0])
    await h.press(hal, prompt, prompt.button("7"))
    for index in (1, 2, 3, 4):
        await prompt_for(h, hal, rows[index])  # sent, never answered
    await h.svc.alerts.drain()
    await h.svc.alerts.deliver()
    assert len(staff_alerts(h, code, "stopped answering")) == 1
