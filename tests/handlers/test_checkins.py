"""handlers/patient.py, answering: /checkin, mood buttons, typed scores, notes, /skip, edits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.codes import CheckinKind, CheckinState, PatientStatus
from bot.domain.entities import NOTE_LIMIT, Checkin
from bot.services.questions import LOW_SCORE
from bot.telegram import staff_texts, texts
from tests.handlers.conftest import InProcessBot, due_prompt, patient_of


async def stored(bot: InProcessBot, checkin: Checkin) -> Checkin:
    found = await bot.svc.storage.checkins.get(checkin.id)
    assert found is not None
    return found


# -- /checkin


async def test_checkin_time_pause_resume_stop(bot: InProcessBot) -> None:
    uma = bot.user("Uma")
    code = await bot.enrol_and_infuse(uma, "09:00")

    extra = (await bot.send(uma, "/checkin")).reply
    assert len(extra.buttons()) == 11
    assert extra.text == texts.CHECKIN_PROMPT
    again = (await bot.send(uma, "/checkin")).reply
    assert again.text == texts.OPEN_CHECKIN_EXISTS
    assert "open check-in" in again.text
    assert again.buttons() == extra.buttons()
    await bot.press(uma, extra, extra.button("5"))

    menu = (await bot.send(uma, "/time")).reply
    assert "09:00" in menu.text
    assert ("20:00", "t:2000") in menu.buttons()
    typed = (await bot.send(uma, "/time 07:45")).reply.text
    assert typed == texts.time_set("07:45", "Europe/Berlin", 35)
    assert "07:45" in typed
    assert "35 upcoming check-ins moved" in typed
    bad = (await bot.send(uma, "/time 7.45pm")).reply.text
    assert "HH:MM" in bad
    patient = await bot.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await bot.svc.storage.checkins.for_patient(patient.id)
    planned = [c for c in rows if c.state is CheckinState.PENDING]
    tz = bot.settings.timezone
    assert {c.due_at.astimezone(tz).strftime("%H:%M") for c in planned} == {"07:45"}

    assert "paused" in (await bot.send(uma, "/pause")).reply.text
    assert "already paused" in (await bot.send(uma, "/pause")).reply.text
    bot.clock.set(planned[0].due_at)
    assert (await bot.tick()).to(uma.id) == []
    assert (await stored(bot, planned[0])).state is CheckinState.CANCELLED
    assert "on again" in (await bot.send(uma, "/resume")).reply.text
    assert "not paused" in (await bot.send(uma, "/resume")).reply.text

    open_one = (await bot.send(uma, "/checkin")).reply
    stopped = (await bot.stop_messages(uma)).replies[0].text
    assert "will not message you again" in stopped
    pressed = await bot.press(uma, open_one, open_one.button("7"))
    assert "stopped" in pressed.answer
    rows = await bot.svc.storage.checkins.for_patient(patient.id)
    assert not [c for c in rows if c.state is CheckinState.PENDING]
    assert not [c for c in rows if c.score == 7]
    bot.clock.advance(timedelta(days=3))
    assert (await bot.tick()).to(uma.id) == []
    after = (await bot.send(uma, "/checkin")).reply.text
    assert "stopped" in after


async def test_a_redelivered_checkin_command_prompts_once(bot: InProcessBot) -> None:
    gus = bot.user("Gus")
    await bot.enrol(gus)
    command = bot.updates.text(gus, "/checkin")
    first = await bot.process(command)
    assert len(first.reply.buttons()) == 11

    again = await bot.process(command)  # Telegram delivers the very same update again

    assert again.silent
    patient = await patient_of(bot, gus)
    extras = await bot.svc.storage.checkins.for_patient(patient.id)
    assert [c.kind for c in extras] == [CheckinKind.EXTRA]


# -- mood buttons


async def test_mood_button_stores_once_and_confirms(bot: InProcessBot) -> None:
    ann = bot.user("Ann")
    await bot.enrol_and_infuse(ann)
    prompt, row = await due_prompt(bot, ann)
    assert [label for label, _ in prompt.buttons()] == [str(n) for n in range(11)]

    pressed = await bot.press(ann, prompt, prompt.button("7"))

    assert pressed.answer == texts.score_recorded(7)
    assert prompt.text == texts.answer_recorded(7)
    assert prompt.buttons() == []
    answered = await stored(bot, row)
    assert answered.state is CheckinState.ANSWERED
    assert answered.score == 7
    second = await bot.press(ann, prompt, f"m:{row.id}:9")
    assert second.answer == texts.already_answered(7)
    assert second.edits == []
    assert (await stored(bot, row)).score == 7


async def test_forged_and_foreign_mood_buttons_store_nothing(bot: InProcessBot) -> None:
    carol, dave, eve = bot.user("Carol"), bot.user("Dave"), bot.user("Eve")
    await bot.enrol_and_infuse(carol)
    await bot.enrol(dave)
    prompt, row = await due_prompt(bot, carol)

    # Dave forges a press on Carol's check-in; a stranger does too.
    for presser in (dave, eve):
        pressed = await bot.press(presser, prompt, f"m:{row.id}:0")
        assert pressed.answer == texts.BUTTON_INVALID
        assert pressed.edits == []
    for forged in (
        "m:1:11",
        "m:abc:1",
        "m:99999999:3",
        f"m:{row.id}:-1",
        f"m:{row.id}:5 ",
        f"m:0{row.id}:5",
        f"m:{row.id}",
        "m:" + "9" * 18 + ":3",
        "m:" + "1" * 19 + ":3",
        "m:\uff11:3",
        "x" * 64,
        "x" * 65,
        "\U0001f600" * 20,
        "t:9999",
        "c:nope",
        "cc:1",
        "lx:menu ",
    ):
        pressed = await bot.press(carol, prompt, forged)
        assert pressed.answer == texts.BUTTON_INVALID, forged
        assert pressed.replies == []
        assert pressed.edits == []
    # A staff button pressed by a patient is refused as staff-only.
    assert (await bot.press(carol, prompt, "al:ack:1")).answer == staff_texts.NOT_AUTHORISED
    assert (await stored(bot, row)).state is CheckinState.SENT
    assert prompt.buttons()  # the real prompt still works
    assert (await bot.press(carol, prompt, f"m:{row.id}:4")).answer == texts.score_recorded(4)


@pytest.mark.parametrize("data", ["", None])
async def test_a_button_without_data_is_no_longer_valid(
    bot: InProcessBot, data: str | None
) -> None:
    mia = bot.user("Mia")
    await bot.enrol_and_infuse(mia)
    prompt, row = await due_prompt(bot, mia)

    pressed = await bot.press(mia, prompt, data)

    assert (await stored(bot, row)).state is CheckinState.SENT
    assert pressed.answer == texts.BUTTON_INVALID


async def test_a_closed_checkin_says_so(bot: InProcessBot) -> None:
    fay = bot.user("Fay")
    await bot.enrol_and_infuse(fay)
    prompt, row = await due_prompt(bot, fay)
    bot.clock.advance(timedelta(hours=25))
    await bot.tick()
    assert (await stored(bot, row)).state is CheckinState.MISSED

    pressed = await bot.press(fay, prompt, prompt.button("6"))

    assert pressed.answer == texts.CHECKIN_CLOSED
    assert (await stored(bot, row)).score is None


async def test_a_redelivered_button_press_is_stored_once(bot: InProcessBot) -> None:
    frank = bot.user("Frank")
    await bot.enrol_and_infuse(frank)
    prompt, row = await due_prompt(bot, frank)
    press = bot.updates.press(frank, prompt, prompt.button("3"))
    await bot.process(press)

    await bot.process(press)  # the same update_id and the same query, again

    patient = await patient_of(bot, frank)
    rows = await bot.svc.storage.checkins.for_patient(patient.id)
    answered = [c for c in rows if c.state is CheckinState.ANSWERED]
    assert [(c.id, c.score) for c in answered] == [(row.id, 3)]


async def test_a_redelivered_button_press_does_not_apologise(bot: InProcessBot) -> None:
    gil = bot.user("Gil")
    await bot.enrol_and_infuse(gil)
    prompt, _row = await due_prompt(bot, gil)
    press = bot.updates.press(gil, prompt, prompt.button("3"))
    await bot.process(press)

    again = await bot.process(press)

    assert texts.SOMETHING_WENT_WRONG not in again.texts


# -- typed answers and notes


@pytest.mark.parametrize(
    ("typed", "score"),
    [("0", 0), ("10", 10), (" 7 ", 7), ("7/10", 7), ("7 / 10", 7), ("07", 7)],
)
async def test_typed_scores(bot: InProcessBot, typed: str, score: int) -> None:
    hal = bot.user("Hal")
    await bot.enrol_and_infuse(hal)
    prompt, row = await due_prompt(bot, hal)

    replies = (await bot.send(hal, typed)).replies

    assert replies[0].text == texts.answer_recorded_short(score)
    if score <= LOW_SCORE:
        # A very low score is met with the direct question at once.
        assert [reply.text for reply in replies[1:]] == [texts.SAFETY_QUESTION]
    else:
        assert len(replies) == 1
    assert prompt.text == texts.answer_recorded_typed(score)
    assert prompt.buttons() == []
    assert (await stored(bot, row)).score == score


async def test_typed_answers_and_reprompts(bot: InProcessBot) -> None:
    bob = bot.user("Bob")
    await bot.enrol_and_infuse(bob)
    prompt, row = await due_prompt(bot, bob)

    for bad in (
        "eleven",
        "11",
        "-3",
        "7.5",
        "\U0001f600",
        "\U0001f600\U0001f64f\U0001f3fd",
        "7 out of 10",
        "10/10/10",
        "\u0667",  # an Arabic-Indic seven
        "x" * 5000,
    ):
        reply = (await bot.send(bob, bad)).reply.text
        assert reply == texts.REPROMPT_SCORE, bad[:20]
        assert "number from 0 to 10" in reply
    assert (await stored(bot, row)).state is CheckinState.SENT

    reply = (await bot.send(bob, "6/10")).reply.text
    assert "Recorded: 6/10" in reply
    assert not prompt.buttons()
    skip = (await bot.send(bob, "/skip")).reply.text
    assert skip == texts.NOTE_SKIPPED
    assert "no note" in skip.lower()
    later = (await bot.send(bob, "5")).reply.text
    assert later == texts.NO_OPEN_CHECKIN
    assert "no open check-in" in later.lower()
    assert (await bot.send(bob, "/skip")).reply.text == texts.NOTHING_TO_SKIP
    answered = await stored(bot, row)
    assert answered.score == 6
    patient = await patient_of(bot, bob)
    assert await bot.svc.storage.answers.notes_for_patient(patient.id) == []


async def test_notes_long_and_emoji_only_are_kept(bot: InProcessBot) -> None:
    ivy = bot.user("Ivy")
    await bot.enrol_and_infuse(ivy)
    prompt, _row = await due_prompt(bot, ivy)
    await bot.press(ivy, prompt, prompt.button("6"))
    long_note = "a" * 3000 + " " + "b" * 3000

    reply = (await bot.send(ivy, long_note)).reply.text

    assert reply == texts.NOTE_SAVED
    patient = await patient_of(bot, ivy)
    notes = await bot.svc.storage.answers.notes_for_patient(patient.id)
    assert [len(text) for _, text in notes] == [NOTE_LIMIT]
    assert notes[0][1] == long_note[:NOTE_LIMIT]

    prompt2, _ = await due_prompt(bot, ivy, 1)
    await bot.press(ivy, prompt2, prompt2.button("7"))
    assert (await bot.send(ivy, "\U0001f642\U0001f33b")).reply.text == texts.NOTE_SAVED
    notes = await bot.svc.storage.answers.notes_for_patient(patient.id)
    assert "\U0001f642\U0001f33b" in [text for _, text in notes]


async def test_text_without_an_open_checkin(bot: InProcessBot) -> None:
    jo, stranger = bot.user("Jo"), bot.user("Stranger")
    await bot.enrol(jo)
    assert (await bot.send(jo, "7")).reply.text == texts.NO_OPEN_CHECKIN
    assert (await bot.send(jo, "hello there")).reply.text == texts.UNRECOGNISED
    assert (await bot.send(jo, "\U0001f600")).reply.text == texts.UNRECOGNISED
    assert (await bot.send(stranger, "7")).reply.text == texts.NOT_INVITED
    assert (await bot.send(stranger, "y" * 5000)).reply.text == texts.NOT_INVITED
    assert await bot.svc.storage.patients.by_user(stranger.id) is None
    patient = await patient_of(bot, jo)
    assert await bot.svc.storage.checkins.for_patient(patient.id) == []


async def test_a_redelivered_answer_and_note_are_stored_and_confirmed_once(
    bot: InProcessBot,
) -> None:
    kim = bot.user("Kim")
    await bot.enrol_and_infuse(kim)
    _prompt, row = await due_prompt(bot, kim)
    answer = bot.updates.text(kim, "8")
    assert (await bot.process(answer)).reply.text == texts.answer_recorded_short(8)
    assert (await bot.process(answer)).silent
    assert (await stored(bot, row)).score == 8

    note = bot.updates.text(kim, "a note about today")
    assert (await bot.process(note)).reply.text == texts.NOTE_SAVED
    assert (await bot.process(note)).silent
    patient = await patient_of(bot, kim)
    notes = await bot.svc.storage.answers.notes_for_patient(patient.id)
    assert [text for _, text in notes] == ["a note about today"]


async def test_edited_messages_are_not_answers_or_commands(bot: InProcessBot) -> None:
    lou = bot.user("Lou")
    await bot.enrol_and_infuse(lou)
    _prompt, row = await due_prompt(bot, lou)
    original = bot.updates.text(lou, "hmm")
    await bot.process(original)

    for edit in ("7", "/stop", "/checkin", "/pause"):
        assert (await bot.process(bot.updates.edited(original, edit))).silent, edit

    assert (await stored(bot, row)).state is CheckinState.SENT
    assert (await patient_of(bot, lou)).status is PatientStatus.ACTIVE


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("\x00\x00slept badly", "slept badly"),
        ("half an emoji \ud83d then words", "half an emoji \ufffd then words"),
        ("bell\x07 and escape\x1b[31m", "bell and escape[31m"),
    ],
)
async def test_a_note_with_characters_sqlite_or_telegram_refuse_is_stored_clean(
    bot: InProcessBot, typed: str, kept: str
) -> None:
    una = bot.user("Una")
    await bot.enrol_and_infuse(una)
    prompt, _row = await due_prompt(bot, una)
    await bot.press(una, prompt, prompt.button("6"))

    reply = (await bot.send(una, typed)).reply.text

    assert reply == texts.NOTE_SAVED
    patient = await patient_of(bot, una)
    assert [text for _, text in await bot.svc.storage.answers.notes_for_patient(patient.id)] == [
        kept
    ]
