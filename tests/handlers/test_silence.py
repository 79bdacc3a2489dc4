"""Silence reaches the care team: stopping, blocking, a long pause, an unused invitation."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.codes import AlertKind
from bot.telegram import texts
from tests.handlers.conftest import InProcessBot, due_prompt, patient_of
from tests.handlers.offline import forbidden


async def kinds(bot: InProcessBot, patient_id: int) -> list[AlertKind]:
    return [alert.kind for alert in await bot.svc.storage.alerts.for_patient(patient_id)]


async def test_stop_asks_first_and_tells_the_staff_once(bot: InProcessBot) -> None:
    ann = bot.user("Ann")
    code = await bot.enrol_and_infuse(ann)
    prompt, _row = await due_prompt(bot, ann)
    await bot.press(ann, prompt, prompt.button("6"))

    asked = await bot.send(ann, "/stop")
    assert asked.reply.text == texts.STOP_CONFIRM
    assert [label for label, _ in asked.reply.buttons()] == [texts.STOP_YES, texts.STOP_NO]
    kept = await bot.press(ann, asked.reply, "st:no")
    assert texts.STOP_KEPT in kept.texts
    patient = await patient_of(bot, ann)
    assert AlertKind.STOPPED not in await kinds(bot, patient.id)

    confirmed = await bot.press(ann, asked.reply, "st:yes")
    told = (await bot.tick()).to(bot.staff_group.id) + confirmed.to(bot.staff_group.id)

    assert texts.STOPPED in confirmed.texts
    [message] = [m for m in told if "stopped all messages" in m.text]
    assert code in message.text
    assert "Last score 6/10" in message.text
    assert "Ann" not in message.text
    await bot.send(ann, "/stop")
    assert (await kinds(bot, patient.id)).count(AlertKind.STOPPED) == 1


async def test_blocking_the_bot_is_told_once(bot: InProcessBot) -> None:
    bea = bot.user("Bea")
    code = await bot.enrol_and_infuse(bea)
    patient = await patient_of(bot, bea)
    rows = await bot.svc.storage.checkins.for_patient(patient.id)
    bot.world.fail("sendMessage", forbidden(), times=None, chat_id=bea.id)
    bot.clock.set(rows[0].due_at)

    ticked = await bot.tick()
    await bot.tick()

    told = [m for m in ticked.to(bot.staff_group.id) if "can no longer be reached" in m.text]
    assert len(told) == 1
    assert code in told[0].text
    assert (await kinds(bot, patient.id)).count(AlertKind.UNREACHABLE) == 1


async def test_a_long_pause_is_told_once_and_the_return_too(bot: InProcessBot) -> None:
    cy = bot.user("Cy")
    await bot.enrol_and_infuse(cy)
    patient = await patient_of(bot, cy)
    await bot.send(cy, "/pause")
    bot.clock.advance(timedelta(days=6, hours=23))
    await bot.tick()
    assert AlertKind.PAUSED_LONG not in await kinds(bot, patient.id)

    bot.clock.advance(timedelta(hours=2))
    first = await bot.tick()
    await bot.tick()

    assert [m for m in first.to(bot.staff_group.id) if "paused for 7 days" in m.text]
    assert (await kinds(bot, patient.id)).count(AlertKind.PAUSED_LONG) == 1
    bot.clock.advance(timedelta(days=2))
    resumed = await bot.send(cy, "/resume")
    back = resumed.to(bot.staff_group.id) + (await bot.tick()).to(bot.staff_group.id)
    assert [m for m in back if "back after 9 days paused" in m.text]
    assert (await kinds(bot, patient.id)).count(AlertKind.BACK) == 1


async def test_an_invitation_left_unused_until_it_expires_is_told(bot: InProcessBot) -> None:
    code, _token = await bot.invite()
    bot.clock.advance(timedelta(days=7, minutes=1))

    ticked = await bot.tick()
    await bot.tick()

    [message] = [m for m in ticked.to(bot.staff_group.id) if "never opened" in m.text]
    assert code in message.text
    patient = await bot.svc.storage.patients.by_code(code)
    assert patient is not None
    assert (await kinds(bot, patient.id)).count(AlertKind.INVITE_EXPIRED) == 1
