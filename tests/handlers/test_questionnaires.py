"""handlers/questionnaires.py: /phq9 and /gad7, the option, Back and Skip buttons, and the plan."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from bot.domain.codes import AlertKind, PatientStatus, QuestionnaireOrigin, QuestionnaireStatus
from bot.domain.entities import QuestionnaireResponse
from bot.services.questionnaires import StepKind
from bot.telegram import questionnaire_texts as qt
from bot.telegram import texts
from tests.handlers.conftest import CLINIC_TZ, Exchange, InProcessBot, patient_of
from tests.handlers.offline import Sent
from tests.handlers.updates import TgUser

NOTICE = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues,"
    " with an educational grant from Pfizer Inc. No permission required to reproduce,"
    " translate, display or distribute."
)
OPTIONS = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
FUNCTIONAL = [
    "Not difficult at all",
    "Somewhat difficult",
    "Very difficult",
    "Extremely difficult",
]
SAFETY_ITEM = 8  # PHQ-9 item 9, 0-based


def labels(message: Sent) -> list[str]:
    return [label for label, _ in message.buttons()]


def option(message: Sent, score: int) -> str:
    """Return the callback data of the option scored `score` on the item shown."""
    found = [data for label, data in message.buttons() if data.startswith("qa:")]
    assert len(found) == 4, message.buttons()
    return found[score]


def urgent(exchange: Exchange, bot: InProcessBot) -> list[str]:
    return [m.text for m in exchange.to(bot.staff_group.id) if "URGENT" in m.text]


def crisis_reply(bot: InProcessBot) -> str:
    return texts.crisis_reply(bot.svc.clinic.contacts, care_team_told=True)


async def open_one(bot: InProcessBot, user: TgUser) -> QuestionnaireResponse:
    found = await bot.svc.storage.questionnaires.in_progress((await patient_of(bot, user)).id)
    assert found is not None
    return found


async def stored(bot: InProcessBot, response_id: int) -> QuestionnaireResponse:
    found = await bot.svc.storage.questionnaires.get(response_id)
    assert found is not None
    return found


async def all_rows(bot: InProcessBot) -> list[tuple[int, str, str]]:
    rows = await bot.svc.storage.database.fetch_all(
        "SELECT patient_id, instrument, answers FROM questionnaire_responses ORDER BY id"
    )
    return [(row["patient_id"], row["instrument"], row["answers"]) for row in rows]


async def answer_items(
    bot: InProcessBot, user: TgUser, message: Sent, scores: list[int]
) -> list[Exchange]:
    """Press the options scored `scores`, item after item, on the one message."""
    exchanges = []
    for score in scores:
        exchanges.append(await bot.press(user, message, option(message, score)))
    return exchanges


async def ask(bot: InProcessBot, user: TgUser, command: str = "/phq9") -> Sent:
    return (await bot.send(user, command)).reply


def spread(total: int, items: int) -> list[int]:
    """Return scores 0-3 for `items` items adding up to `total`, safety item last to fill."""
    scores = [0] * items
    left = total
    for index in range(items):
        if items == 9 and index == SAFETY_ITEM:
            continue
        scores[index] = min(3, left)
        left -= scores[index]
    if items == 9:
        scores[SAFETY_ITEM] = left
    assert sum(scores) == total
    assert max(scores) <= 3
    return scores


# -- asking on demand


async def test_phq9_opens_with_the_notice_and_the_standard_options(bot: InProcessBot) -> None:
    ada = bot.user("Ada")
    await bot.enrol(ada)

    first = await ask(bot, ada)

    assert NOTICE in first.text
    assert "Here is the PHQ-9" in first.text
    assert "PHQ-9 \u00b7 question 1 of 9" in first.text
    assert "Over the last 2 weeks" in first.text
    assert "Little interest or pleasure in doing things" in first.text
    assert labels(first) == OPTIONS  # exactly, and no Back on the first item
    response = await open_one(bot, ada)
    assert response.origin is QuestionnaireOrigin.REQUESTED
    assert response.answers == ()
    assert [data for _, data in first.buttons()] == [f"qa:{response.id}:0:{n}" for n in range(4)]


async def test_gad7_opens_with_its_notice_and_seven_items(bot: InProcessBot) -> None:
    gil = bot.user("Gil")
    await bot.enrol(gil)

    first = await ask(bot, gil, "/gad7")

    assert NOTICE in first.text
    assert "GAD-7 \u00b7 question 1 of 7" in first.text
    assert "Feeling nervous, anxious, or on edge" in first.text
    assert labels(first) == OPTIONS


async def test_phq9_item_by_item_then_the_functional_question_then_the_result(
    bot: InProcessBot,
) -> None:
    bea = bot.user("Bea")
    await bot.enrol(bea)
    first = await ask(bot, bea)
    response = await open_one(bot, bea)
    scores = [2, 2, 2, 2, 2, 2, 1, 1, 0]

    for number, score in enumerate(scores, start=1):
        pressed = await bot.press(bea, first, option(first, score))
        # The same message is edited in place; nothing new is sent.
        assert pressed.replies == []
        assert len(pressed.edits) == 1
        if number < 9:
            assert f"question {number + 1} of 9" in first.text
        else:
            assert "PHQ-9 \u00b7 one more question" in first.text
        assert (await stored(bot, response.id)).answers == tuple(scores[:number])
        if number < 9:
            assert labels(first) == [*OPTIONS, qt.BACK]

    assert "If you checked off any problems" in first.text
    assert labels(first) == [*FUNCTIONAL, qt.BACK, qt.SKIP]
    done = await bot.press(bea, first, first.button("Somewhat difficult"))

    assert "Your PHQ-9 total is 14 of 27: moderate symptoms." in first.text
    assert first.buttons() == []
    assert done.replies == []
    [row] = await bot.svc.storage.questionnaires.completed((await patient_of(bot, bea)).id)
    assert row.id == response.id
    assert row.instrument == "phq9"
    assert row.status is QuestionnaireStatus.COMPLETED
    assert row.answers == (*scores, 1)
    assert (row.total, row.band) == (14, "moderate")
    assert row.completed_at == bot.clock.now()
    assert not row.safety_alerted


async def test_the_functional_question_can_be_skipped(bot: InProcessBot) -> None:
    cal = bot.user("Cal")
    await bot.enrol(cal)
    first = await ask(bot, cal)
    await answer_items(bot, cal, first, [1, 0, 0, 0, 0, 0, 0, 0, 0])

    await bot.press(cal, first, first.button(qt.SKIP))

    assert "total is 1 of 27: minimal or no symptoms" in first.text
    [row] = await bot.svc.storage.questionnaires.completed((await patient_of(bot, cal)).id)
    assert row.answers == (1, 0, 0, 0, 0, 0, 0, 0, 0, None)
    assert (row.total, row.band) == (1, "minimal")


async def test_all_nine_at_zero_completes_without_the_functional_question(
    bot: InProcessBot,
) -> None:
    dan = bot.user("Dan")
    await bot.enrol(dan)
    first = await ask(bot, dan)

    pressed = await answer_items(bot, dan, first, [0] * 9)

    assert "If you checked off" not in first.text
    assert "Your PHQ-9 total is 0 of 27: minimal or no symptoms." in first.text
    assert first.buttons() == []
    assert all(urgent(exchange, bot) == [] for exchange in pressed)
    [row] = await bot.svc.storage.questionnaires.completed((await patient_of(bot, dan)).id)
    assert row.answers == (0, 0, 0, 0, 0, 0, 0, 0, 0, None)
    assert (row.total, row.band) == (0, "minimal")


async def test_gad7_completes_after_seven_items(bot: InProcessBot) -> None:
    eli = bot.user("Eli")
    await bot.enrol(eli)
    first = await ask(bot, eli, "/gad7")

    await answer_items(bot, eli, first, [3, 3, 2, 2, 1, 1, 0])

    assert "Your GAD-7 total is 12 of 21: moderate symptoms." in first.text
    [row] = await bot.svc.storage.questionnaires.completed((await patient_of(bot, eli)).id)
    assert row.instrument == "gad7"
    assert row.answers == (3, 3, 2, 2, 1, 1, 0)
    assert (row.total, row.band) == (12, "moderate")


@pytest.mark.parametrize(
    ("instrument", "total", "band", "words"),
    [
        ("phq9", 0, "minimal", "minimal or no symptoms"),
        ("phq9", 4, "minimal", "minimal or no symptoms"),
        ("phq9", 5, "mild", "mild symptoms"),
        ("phq9", 9, "mild", "mild symptoms"),
        ("phq9", 10, "moderate", "moderate symptoms"),
        ("phq9", 14, "moderate", "moderate symptoms"),
        ("phq9", 15, "moderately severe", "moderately severe symptoms"),
        ("phq9", 19, "moderately severe", "moderately severe symptoms"),
        ("phq9", 20, "severe", "severe symptoms"),
        ("phq9", 27, "severe", "severe symptoms"),
        ("gad7", 0, "minimal", "minimal or no symptoms"),
        ("gad7", 4, "minimal", "minimal or no symptoms"),
        ("gad7", 5, "mild", "mild symptoms"),
        ("gad7", 9, "mild", "mild symptoms"),
        ("gad7", 10, "moderate", "moderate symptoms"),
        ("gad7", 14, "moderate", "moderate symptoms"),
        ("gad7", 15, "severe", "severe symptoms"),
        ("gad7", 21, "severe", "severe symptoms"),
    ],
)
async def test_every_band_boundary(
    bot: InProcessBot, instrument: str, total: int, band: str, words: str
) -> None:
    fox = bot.user("Fox")
    await bot.enrol(fox)
    service = bot.svc.questionnaires
    step = await service.request(user_id=fox.id, instrument=instrument, update_id=None)
    assert step.kind is StepKind.ASK
    assert step.response is not None
    response_id = step.response.id
    scores = spread(total, 9 if instrument == "phq9" else 7)

    for index, score in enumerate(scores):
        assert step.kind is StepKind.ASK, (index, step.kind)
        step = await service.answer(
            user_id=fox.id, response_id=response_id, index=index, value=score
        )
    if step.kind is StepKind.ASK:  # the PHQ-9's functional question
        step = await service.skip(user_id=fox.id, response_id=response_id, index=len(scores))

    assert step.kind is StepKind.DONE
    assert step.response is not None
    assert step.questionnaire is not None
    maximum = 27 if instrument == "phq9" else 21
    result = qt.completed(step.response, step.questionnaire)
    assert f"total is {total} of {maximum}: {words}." in result
    [row] = await bot.svc.storage.questionnaires.completed(
        (await patient_of(bot, fox)).id, instrument
    )
    assert row.answers[: len(scores)] == tuple(scores)
    assert (row.total, row.band) == (total, band)


async def test_a_phq9_rise_of_five_alerts_the_staff_once(bot: InProcessBot) -> None:
    hana = bot.user("Hana")
    code = await bot.enrol_and_infuse(hana)
    first = await ask(bot, hana)
    await answer_items(bot, hana, first, spread(3, 9))
    await bot.press(hana, first, first.button(qt.SKIP))
    assert bot.world.messages(bot.staff_group.id) == []

    bot.clock.advance(timedelta(days=2))
    second = await ask(bot, hana)
    pressed = await answer_items(bot, hana, second, spread(8, 9))
    done = await bot.press(hana, second, second.button(qt.SKIP))

    assert all(exchange.to(bot.staff_group.id) == [] for exchange in pressed)
    [alert] = [m.text for m in done.to(bot.staff_group.id)]
    assert code in alert
    assert "decline (PHQ-9)" in alert
    assert "up 5 points, from 3" in alert
    assert "to 8" in alert

    bot.clock.advance(timedelta(days=1))
    third = await ask(bot, hana)
    await answer_items(bot, hana, third, spread(9, 9))
    again = await bot.press(hana, third, third.button(qt.SKIP))
    assert again.to(bot.staff_group.id) == []  # one episode, one alert


# -- Back, old buttons, double presses


async def test_back_undoes_the_previous_answer(bot: InProcessBot) -> None:
    gus = bot.user("Gus")
    await bot.enrol(gus)
    first = await ask(bot, gus)
    response = await open_one(bot, gus)
    await answer_items(bot, gus, first, [1, 2, 3])
    assert "question 4 of 9" in first.text

    went_back = await bot.press(gus, first, first.button(qt.BACK))

    assert len(went_back.edits) == 1
    assert "question 3 of 9" in first.text
    assert "Trouble falling or staying asleep" in first.text
    assert (await stored(bot, response.id)).answers == (1, 2)
    await bot.press(gus, first, first.button(qt.BACK))
    assert "question 2 of 9" in first.text
    assert (await stored(bot, response.id)).answers == (1,)
    await bot.press(gus, first, first.button(qt.BACK))
    assert "question 1 of 9" in first.text
    assert labels(first) == OPTIONS  # no Back on the first item
    assert (await stored(bot, response.id)).answers == ()
    await answer_items(bot, gus, first, [0, 3])
    assert (await stored(bot, response.id)).answers == (0, 3)
    assert "question 3 of 9" in first.text


async def test_old_buttons_of_an_earlier_item_change_nothing(bot: InProcessBot) -> None:
    hal = bot.user("Hal")
    await bot.enrol(hal)
    first = await ask(bot, hal)
    response = await open_one(bot, hal)
    item_1 = option(first, 3)
    await bot.press(hal, first, option(first, 1))
    back_from_2, item_2 = first.button(qt.BACK), option(first, 3)
    await answer_items(bot, hal, first, [2, 0])
    assert "question 4 of 9" in first.text

    for old in (item_1, item_2, back_from_2):
        pressed = await bot.press(hal, first, old)
        assert (await stored(bot, response.id)).answers == (1, 2, 0), old
        assert "question 4 of 9" in first.text
        assert pressed.replies == []

    # An old message (the one /phq9 showed before) is brought up to the current item.
    again = await ask(bot, hal)
    assert "question 4 of 9" in again.text
    await bot.press(hal, again, option(again, 1))
    assert "question 4 of 9" in first.text  # the first message was left as it was
    await bot.press(hal, first, option(first, 3))  # its item-4 button is out of date now
    assert (await stored(bot, response.id)).answers == (1, 2, 0, 1)
    assert "question 5 of 9" in first.text


async def test_a_double_press_counts_once(bot: InProcessBot) -> None:
    ida = bot.user("Ida")
    await bot.enrol(ida)
    first = await ask(bot, ida)
    response = await open_one(bot, ida)
    data = option(first, 2)

    await bot.press(ida, first, data)
    second = await bot.press(ida, first, data)  # a second tap on the old item-1 button

    assert (await stored(bot, response.id)).answers == (2,)
    assert "question 2 of 9" in first.text
    assert second.replies == []
    # The next item's button pressed twice in the same way also counts once.
    item_2 = option(first, 1)
    await bot.press(ida, first, item_2)
    await bot.press(ida, first, item_2)
    assert (await stored(bot, response.id)).answers == (2, 1)


async def test_a_double_press_on_the_last_item_keeps_the_result(bot: InProcessBot) -> None:
    joy = bot.user("Joy")
    await bot.enrol(joy)
    first = await ask(bot, joy, "/gad7")
    await answer_items(bot, joy, first, [1, 1, 1, 1, 1, 1])
    again = await ask(bot, joy, "/gad7")  # the same item 7 shown in a second message
    last = option(again, 2)
    await bot.press(joy, again, last)
    result = again.text
    assert "Your GAD-7 total is 8 of 21: mild symptoms." in result

    second = await bot.press(joy, again, last)

    assert again.text == result  # not replaced by "already finished"
    assert second.answer == qt.ALREADY_DONE
    # The older message's item-7 buttons now show the result too.
    older = await bot.press(joy, first, option(first, 3))
    assert older.answer == qt.ALREADY_DONE
    assert first.text == result
    assert first.buttons() == []
    [row] = await bot.svc.storage.questionnaires.completed((await patient_of(bot, joy)).id)
    assert row.answers == (1, 1, 1, 1, 1, 1, 2)


async def test_a_redelivered_press_counts_once_and_does_not_apologise(
    bot: InProcessBot,
) -> None:
    jay = bot.user("Jay")
    await bot.enrol(jay)
    first = await ask(bot, jay)
    response = await open_one(bot, jay)
    press = bot.updates.press(jay, first, option(first, 1))
    await bot.process(press)

    again = await bot.process(press)  # the same update and the same query, again

    assert (await stored(bot, response.id)).answers == (1,)
    assert texts.SOMETHING_WENT_WRONG not in again.texts
    assert again.replies == []


# -- PHQ-9 item 9


async def test_item_9_above_zero_takes_the_urgent_path_at_once(bot: InProcessBot) -> None:
    kim = bot.user("Kim", "kim_private")
    code = await bot.enrol(kim)
    first = await ask(bot, kim)
    response = await open_one(bot, kim)
    before = await answer_items(bot, kim, first, [1, 1, 0, 0, 0, 0, 0, 0])
    assert all(urgent(exchange, bot) == [] for exchange in before)
    assert "question 9 of 9" in first.text
    assert "better off dead" in first.text
    item_9 = first.button("Several days")

    said = await bot.press(kim, first, item_9)

    # Before the questionnaire ends: the crisis reply, and the staff an URGENT alert.
    assert said.texts == [crisis_reply(bot)]
    assert said.reply.via == "urgent"
    assert "988" in said.reply.text
    [alert] = urgent(said, bot)
    assert code in alert
    assert "PHQ-9 item 9" in alert
    assert "Several days" in alert
    assert "Kim" not in alert
    assert "kim_private" not in alert
    assert said.to(bot.staff_group.id)[0].buttons()  # Acknowledge, without a tick
    assert "one more question" in first.text  # the questionnaire goes on
    row = await stored(bot, response.id)
    assert row.status is QuestionnaireStatus.IN_PROGRESS
    assert row.safety_alerted
    patient = await patient_of(bot, kim)
    alerts = await bot.svc.storage.alerts.for_patient(patient.id)
    assert [(a.kind, a.urgent) for a in alerts] == [(AlertKind.CRISIS, True)]

    # The same button again, or Back and item 9 again: no second URGENT, no second reply.
    repeat = await bot.press(kim, first, item_9)
    assert repeat.sent == []
    back = await bot.press(kim, first, first.button(qt.BACK))
    assert back.sent == []
    assert "question 9 of 9" in first.text
    # Worse than first told: no second URGENT alert or reply, but the staff hear it once.
    again = await bot.press(kim, first, first.button("Nearly every day"))
    [worse] = again.sent
    assert worse.chat_id == bot.staff_group.id
    assert code in worse.text
    assert "Nearly every day" in worse.text
    assert "worse than first told" in worse.text
    assert urgent(again, bot) == []  # a follow-up, not another URGENT alert
    assert len(await bot.svc.storage.alerts.for_patient(patient.id)) == 1
    back = await bot.press(kim, first, first.button(qt.BACK))
    assert (await bot.press(kim, first, first.button("Nearly every day"))).sent == []
    await bot.press(kim, first, first.button(qt.SKIP))
    assert "total is 5 of 27: mild symptoms" in first.text
    [done] = await bot.svc.storage.questionnaires.completed(patient.id)
    assert done.answers == (1, 1, 0, 0, 0, 0, 0, 0, 3, None)
    assert done.safety_alerted


async def test_item_9_at_zero_sends_nothing_urgent(bot: InProcessBot) -> None:
    lou = bot.user("Lou")
    await bot.enrol(lou)
    first = await ask(bot, lou)

    pressed = await answer_items(bot, lou, first, [3, 3, 3, 3, 3, 3, 3, 3, 0])

    assert all(exchange.sent == [] for exchange in pressed)
    assert bot.world.messages(bot.staff_group.id) == []
    response = await open_one(bot, lou)
    assert not response.safety_alerted
    await bot.press(lou, first, first.button("Extremely difficult"))
    assert "total is 24 of 27: severe symptoms" in first.text
    alerts = await bot.svc.storage.alerts.for_patient((await patient_of(bot, lou)).id)
    assert [alert for alert in alerts if alert.urgent] == []


async def test_gad7_has_no_safety_item(bot: InProcessBot) -> None:
    max_ = bot.user("Max")
    await bot.enrol(max_)
    first = await ask(bot, max_, "/gad7")

    pressed = await answer_items(bot, max_, first, [3] * 7)

    assert all(urgent(exchange, bot) == [] for exchange in pressed)
    assert "total is 21 of 21: severe symptoms" in first.text


# -- expiry and resuming


async def test_an_unfinished_questionnaire_expires_after_a_day(bot: InProcessBot) -> None:
    ned = bot.user("Ned")
    await bot.enrol(ned)
    first = await ask(bot, ned, "/gad7")
    response = await open_one(bot, ned)
    await answer_items(bot, ned, first, [2, 1])
    bot.clock.advance(timedelta(hours=25))

    late = await bot.press(ned, first, option(first, 3))

    assert first.text == qt.EXPIRED
    assert first.buttons() == []
    assert late.replies == []
    row = await stored(bot, response.id)
    assert row.status is QuestionnaireStatus.EXPIRED
    assert row.answers == (2, 1)
    assert row.total is None
    patient = await patient_of(bot, ned)
    assert await bot.svc.storage.questionnaires.completed(patient.id) == []

    fresh = await ask(bot, ned, "/gad7")
    assert NOTICE in fresh.text
    assert "GAD-7 \u00b7 question 1 of 7" in fresh.text
    assert "continue" not in fresh.text
    new = await open_one(bot, ned)
    assert new.id != response.id
    assert new.answers == ()
    assert (await stored(bot, response.id)).answers == (2, 1)


async def test_expiry_happens_on_the_dispatcher_pass_too(bot: InProcessBot) -> None:
    ora = bot.user("Ora")
    await bot.enrol(ora)
    first = await ask(bot, ora, "/gad7")
    response = await open_one(bot, ora)
    await answer_items(bot, ora, first, [1])

    bot.clock.advance(timedelta(hours=23, minutes=59))
    await bot.svc.questionnaires.expire_due()
    assert (await stored(bot, response.id)).status is QuestionnaireStatus.IN_PROGRESS
    bot.clock.advance(timedelta(minutes=1))
    await bot.tick()
    assert (await stored(bot, response.id)).status is QuestionnaireStatus.EXPIRED


async def test_phq9_again_resumes_where_it_was_left(bot: InProcessBot) -> None:
    pia = bot.user("Pia")
    await bot.enrol(pia)
    first = await ask(bot, pia)
    response = await open_one(bot, pia)
    await answer_items(bot, pia, first, [1, 2, 3])

    again = await ask(bot, pia)

    assert "continue" in again.text
    assert "question 4 of 9" in again.text
    assert "Feeling tired or having little energy" in again.text
    assert NOTICE not in again.text
    assert labels(again) == [*OPTIONS, qt.BACK]
    assert (await open_one(bot, pia)).id == response.id
    await bot.press(pia, again, option(again, 0))
    assert (await stored(bot, response.id)).answers == (1, 2, 3, 0)


async def test_gad7_while_a_phq9_is_open_resumes_the_phq9(bot: InProcessBot) -> None:
    quin = bot.user("Quin")
    await bot.enrol(quin)
    first = await ask(bot, quin)
    response = await open_one(bot, quin)
    await answer_items(bot, quin, first, [0, 1])

    other = await ask(bot, quin, "/gad7")

    assert qt.OTHER_OPEN in other.text
    assert "PHQ-9 \u00b7 question 3 of 9" in other.text
    assert "GAD-7" not in other.text
    rows = await all_rows(bot)
    assert [(instrument, answers) for _, instrument, answers in rows] == [("phq9", "[0,1]")]
    await bot.press(quin, other, option(other, 2))
    assert (await stored(bot, response.id)).answers == (0, 1, 2)


async def test_a_redelivered_command_starts_one_questionnaire(bot: InProcessBot) -> None:
    ros = bot.user("Ros")
    await bot.enrol(ros)
    command = bot.updates.text(ros, "/phq9")
    first = await bot.process(command)
    assert "question 1 of 9" in first.reply.text

    await bot.process(command)

    assert len(await all_rows(bot)) == 1


async def test_a_command_redelivered_after_finishing_is_silent(bot: InProcessBot) -> None:
    ray = bot.user("Ray")
    await bot.enrol(ray)
    command = bot.updates.text(ray, "/gad7")
    first = (await bot.process(command)).reply
    await answer_items(bot, ray, first, [0] * 7)

    again = await bot.process(command)

    assert again.silent  # not "This button no longer works"
    assert len(await all_rows(bot)) == 1


async def test_a_redelivered_command_is_silent_while_it_is_open(bot: InProcessBot) -> None:
    rex = bot.user("Rex")
    await bot.enrol(rex)
    command = bot.updates.text(rex, "/phq9")
    await bot.process(command)

    again = await bot.process(command)  # Telegram delivers the very same update again

    assert again.silent  # as a redelivered /checkin is


# -- who may press what


async def test_a_stranger_is_told_questionnaires_are_for_patients(bot: InProcessBot) -> None:
    sam = bot.user("Sam")

    for command in ("/phq9", "/gad7"):
        reply = (await bot.send(sam, command)).reply
        assert reply.text == qt.NOT_ENROLLED
        assert reply.text.startswith("Questionnaires are for patients")
        assert reply.buttons() == []
    assert await all_rows(bot) == []


async def test_staff_and_a_stopped_patient_cannot_start_one(bot: InProcessBot) -> None:
    tom = bot.user("Tom")
    await bot.enrol(tom)
    await bot.stop_messages(tom)

    assert (await bot.send(tom, "/phq9")).reply.text == qt.NOT_ENROLLED
    assert (await bot.send(bot.staff, "/phq9")).reply.text == qt.NOT_ENROLLED
    assert await all_rows(bot) == []


async def test_a_paused_patient_may_still_ask_for_one(bot: InProcessBot) -> None:
    uma = bot.user("Uma")
    await bot.enrol(uma)
    await bot.send(uma, "/pause")

    first = await ask(bot, uma)

    assert "question 1 of 9" in first.text
    await bot.press(uma, first, option(first, 1))
    assert (await open_one(bot, uma)).answers == (1,)


async def test_a_stopped_patients_old_button_stores_nothing(bot: InProcessBot) -> None:
    val = bot.user("Val")
    await bot.enrol(val)
    first = await ask(bot, val)
    response = await open_one(bot, val)
    await bot.stop_messages(val)

    pressed = await bot.press(val, first, option(first, 2))

    assert pressed.replies == []
    assert (await stored(bot, response.id)).answers == ()


async def test_someone_elses_button_does_nothing(bot: InProcessBot) -> None:
    wen, xia, yan = bot.user("Wen"), bot.user("Xia"), bot.user("Yan")
    await bot.enrol(wen)
    await bot.enrol(xia)
    wens = await ask(bot, wen)
    wen_response = await open_one(bot, wen)
    xias = await ask(bot, xia)
    xia_response = await open_one(bot, xia)
    xia_text, xia_buttons = xias.text, xias.buttons()
    forged = f"qa:{wen_response.id}:0:3"

    # Xia forges Wen's button data on her own questionnaire; a stranger does too.
    for presser, message in ((xia, xias), (yan, xias), (xia, wens)):
        pressed = await bot.press(presser, message, forged)
        assert pressed.answer == qt.UNKNOWN
        assert pressed.edits == []
        assert pressed.replies == []
    assert (await stored(bot, wen_response.id)).answers == ()
    assert (await stored(bot, xia_response.id)).answers == ()
    assert (xias.text, xias.buttons()) == (xia_text, xia_buttons)
    for data in (f"qb:{wen_response.id}:1", f"qs:{wen_response.id}:9"):
        assert (await bot.press(xia, xias, data)).edits == []
    assert (await stored(bot, wen_response.id)).answers == ()
    # Their own buttons still work.
    await bot.press(wen, wens, option(wens, 1))
    await bot.press(xia, xias, option(xias, 2))
    assert (await stored(bot, wen_response.id)).answers == (1,)
    assert (await stored(bot, xia_response.id)).answers == (2,)


@pytest.mark.parametrize(
    "data",
    [
        "qa:x",
        "qa:1:99:9",
        "qa:1:0:7",
        "qa:1:0:-1",
        "qa:1:0",
        "qa:0:0:0",
        "qa:01:0:0",
        "qa:1:0:0 ",
        "qa:1:0:0:0",
        "qa:999999999:0:0",
        "qa:" + "9" * 18 + ":0:0",
        "qa:" + "9" * 19 + ":0:0",
        "qa:1:\uff10:0",
        "qb:1:0",
        "qb:1:5",
        "qb:x",
        "qs:1:0",
        "qs:1:9",
        "qz:1:0",
        "q" + "a" * 63,
    ],
)
async def test_malformed_data_gets_a_short_answer(bot: InProcessBot, data: str) -> None:
    zoe = bot.user("Zoe")
    await bot.enrol(zoe)
    first = await ask(bot, zoe)
    response = await open_one(bot, zoe)
    assert response.id == 1
    await bot.press(zoe, first, option(first, 1))
    text = first.text

    pressed = await bot.press(zoe, first, data)

    assert len(pressed.answer) <= 200
    assert pressed.replies == []
    assert texts.SOMETHING_WENT_WRONG not in pressed.texts
    assert (await stored(bot, response.id)).answers == (1,)
    assert first.text == text
    assert "question 2 of 9" in first.text


async def test_a_press_on_a_message_telegram_no_longer_shows(bot: InProcessBot) -> None:
    amy = bot.user("Amy")
    await bot.enrol(amy)
    first = await ask(bot, amy)
    response = await open_one(bot, amy)
    data = option(first, 2)
    old = bot.updates.inaccessible(amy, first.message_id)

    pressed = await bot.press(amy, old, data)

    assert texts.SOMETHING_WENT_WRONG not in pressed.texts
    assert (await stored(bot, response.id)).answers == (2,)
    assert "question 2 of 9" in first.text  # the next item, in the same message


# -- planned questionnaires


def local(day: datetime, at: str) -> datetime:
    hours, minutes = (int(part) for part in at.split(":"))
    return datetime.combine(day.astimezone(CLINIC_TZ).date(), time(hours, minutes), CLINIC_TZ)


async def finish(bot: InProcessBot, user: TgUser, message: Sent) -> None:
    """Answer every item of the questionnaire on `message` with "Several days"."""
    while "Thank you. Your" not in message.text:
        data = [d for _, d in message.buttons() if d.startswith("qa:")][1]
        await bot.press(user, message, data)


def checkin_prompts(exchange: Exchange, user: TgUser) -> list[Sent]:
    return [m for m in exchange.to(user.id) if len(m.buttons()) == 11]


def questionnaires_to(exchange: Exchange, user: TgUser) -> list[Sent]:
    return [m for m in exchange.to(user.id) if "question 1 of" in m.text]


async def test_the_baseline_comes_at_the_check_in_time_then_the_gad7(bot: InProcessBot) -> None:
    bo = bot.user("Bo")
    await bot.enrol(bo, "09:00")  # enrolled at 08:00 in Berlin
    assert (await bot.tick()).to(bo.id) == []
    bot.clock.set(local(bot.clock.now(), "08:59"))
    assert (await bot.tick()).to(bo.id) == []

    bot.clock.set(local(bot.clock.now(), "09:00"))
    passed = await bot.tick()

    [phq9] = passed.to(bo.id)
    assert "your starting point" in phq9.text
    assert NOTICE in phq9.text
    assert "PHQ-9 \u00b7 question 1 of 9" in phq9.text
    assert labels(phq9) == OPTIONS
    response = await open_one(bot, bo)
    assert response.origin is QuestionnaireOrigin.BASELINE
    assert (await bot.tick()).to(bo.id) == []  # one at a time, and not again
    await finish(bot, bo, phq9)

    [gad7] = (await bot.tick()).to(bo.id)
    assert "GAD-7 \u00b7 question 1 of 7" in gad7.text
    assert "your starting point" in gad7.text
    assert (await open_one(bot, bo)).origin is QuestionnaireOrigin.BASELINE
    await finish(bot, bo, gad7)
    bot.clock.advance(timedelta(hours=1))
    assert (await bot.tick()).to(bo.id) == []
    patient = await patient_of(bot, bo)
    done = await bot.svc.storage.questionnaires.completed(patient.id)
    assert [(r.instrument, r.origin) for r in done] == [
        ("phq9", QuestionnaireOrigin.BASELINE),
        ("gad7", QuestionnaireOrigin.BASELINE),
    ]


async def test_the_baseline_waits_for_that_days_check_in(bot: InProcessBot) -> None:
    cy = bot.user("Cy")
    await bot.enrol_and_infuse(cy, "07:00")  # 07:00 has passed: both come tomorrow
    assert (await bot.tick()).to(cy.id) == []
    patient = await patient_of(bot, cy)
    [checkin, *_] = await bot.svc.storage.checkins.for_patient(patient.id)
    assert checkin.due_at == local(bot.clock.now() + timedelta(days=1), "07:00")
    bot.clock.set(checkin.due_at)

    first = await bot.tick()

    [prompt] = first.to(cy.id)
    assert len(prompt.buttons()) == 11  # the check-in, and no questionnaire yet
    bot.clock.advance(timedelta(minutes=30))
    assert (await bot.tick()).to(cy.id) == []
    await bot.press(cy, prompt, prompt.button("6"))
    # Answered at 07:30: still night for questionnaires (before 08:00), so it waits.
    assert (await bot.tick()).to(cy.id) == []
    bot.clock.set(local(bot.clock.now(), "08:00"))

    [phq9] = (await bot.tick()).to(cy.id)
    assert "PHQ-9 \u00b7 question 1 of 9" in phq9.text
    assert "your starting point" in phq9.text


async def test_a_week_after_an_infusion_the_phq9_comes_again(bot: InProcessBot) -> None:
    di = bot.user("Di")
    code = await bot.enrol(di, "09:00")
    bot.clock.set(local(bot.clock.now(), "09:00"))
    [phq9] = (await bot.tick()).to(di.id)
    await finish(bot, di, phq9)
    [gad7] = (await bot.tick()).to(di.id)
    await finish(bot, di, gad7)
    bot.clock.advance(timedelta(hours=1))
    infused_at = bot.clock.now()
    assert code in (await bot.send(bot.staff, f"/infusion {code}")).reply.text
    patient = await patient_of(bot, di)
    checkins = await bot.svc.storage.checkins.for_patient(patient.id)

    # Day 6: the day's check-in only.
    day_6 = local(infused_at + timedelta(days=6), "09:00")
    bot.clock.set(day_6)
    [prompt] = checkin_prompts(await bot.tick(), di)
    assert len(prompt.buttons()) == 11
    await bot.press(di, prompt, prompt.button("5"))
    assert questionnaires_to(await bot.tick(), di) == []

    # A week after the infusion (10:00), at the next check-in time, after the check-in.
    bot.clock.set(local(infused_at + timedelta(days=8), "09:00"))
    [prompt] = checkin_prompts(await bot.tick(), di)
    await bot.press(di, prompt, prompt.button("5"))
    [again] = questionnaires_to(await bot.tick(), di)

    assert "It has been about a week since your infusion" in again.text
    assert "PHQ-9 \u00b7 question 1 of 9" in again.text
    assert (await open_one(bot, di)).origin is QuestionnaireOrigin.AFTER_INFUSION
    await finish(bot, di, again)
    [gad7_again] = questionnaires_to(await bot.tick(), di)
    assert "GAD-7 \u00b7 question 1 of 7" in gad7_again.text
    assert "since your infusion" in gad7_again.text
    assert checkins  # check-ins were planned by the infusion


async def test_every_two_weeks_without_an_infusion(bot: InProcessBot) -> None:
    fay = bot.user("Fay")
    await bot.enrol(fay, "09:00")
    baseline_day = local(bot.clock.now(), "09:00")
    bot.clock.set(baseline_day)
    [phq9] = (await bot.tick()).to(fay.id)
    await finish(bot, fay, phq9)
    [gad7] = (await bot.tick()).to(fay.id)
    await finish(bot, fay, gad7)

    bot.clock.set(local(baseline_day + timedelta(days=13), "09:00"))
    assert (await bot.tick()).to(fay.id) == []
    bot.clock.set(local(baseline_day + timedelta(days=14), "09:00"))
    [regular] = (await bot.tick()).to(fay.id)

    assert "Time for your regular PHQ-9." in regular.text
    assert NOTICE in regular.text
    assert (await open_one(bot, fay)).origin is QuestionnaireOrigin.INTERVAL


async def test_an_ignored_baseline_expires_and_the_gad7_follows(bot: InProcessBot) -> None:
    gia = bot.user("Gia")
    await bot.enrol(gia, "09:00")
    bot.clock.set(local(bot.clock.now(), "09:00"))
    [phq9] = (await bot.tick()).to(gia.id)
    response = await open_one(bot, gia)
    await bot.press(gia, phq9, option(phq9, 1))

    bot.clock.advance(timedelta(hours=23))
    assert (await bot.tick()).to(gia.id) == []
    bot.clock.advance(timedelta(hours=1))
    [gad7] = (await bot.tick()).to(gia.id)

    assert "GAD-7 \u00b7 question 1 of 7" in gad7.text
    kept = await stored(bot, response.id)
    assert kept.status is QuestionnaireStatus.EXPIRED
    assert kept.answers == (1,)
    pressed = await bot.press(gia, phq9, option(phq9, 2))  # the old baseline's buttons
    assert phq9.text == qt.EXPIRED
    assert pressed.sent == []
    assert (await stored(bot, response.id)).answers == (1,)


async def test_help_for_patients_lists_the_questionnaires(bot: InProcessBot) -> None:
    eve = bot.user("Eve")
    await bot.enrol(eve)

    text = (await bot.send(eve, "/help")).reply.text

    assert "/phq9" in text
    assert "/gad7" in text


async def test_a_patient_back_after_blocking_the_bot_is_welcomed_and_asked(
    bot: InProcessBot,
) -> None:
    una = bot.user("Una")
    await bot.enrol(una)
    patient = await patient_of(bot, una)
    await bot.svc.storage.patients.set_status(
        patient.id,
        PatientStatus.UNREACHABLE,
        now=bot.clock.now(),
        only_from={PatientStatus.ACTIVE},
    )

    replies = (await bot.send(una, "/phq9")).replies

    assert replies[0].text == texts.WELCOME_BACK
    assert "PHQ-9 \u00b7 question 1 of 9" in replies[-1].text
    assert (await patient_of(bot, una)).status is PatientStatus.ACTIVE


async def test_item_9_reaches_a_human_when_the_questionnaire_cannot_be_read(
    bot: InProcessBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    vic = bot.user("Vic")
    await bot.enrol(vic)
    first = await ask(bot, vic)
    await answer_items(bot, vic, first, [1] * 8)

    async def broken(response_id: int) -> None:
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(bot.svc.storage.questionnaires, "get", broken)
    pressed = await bot.process(bot.updates.press(vic, first, option(first, 2)))
    monkeypatch.undo()

    assert any(m.text == crisis_reply(bot) for m in pressed.to(vic.id))
    assert urgent(pressed, bot)
