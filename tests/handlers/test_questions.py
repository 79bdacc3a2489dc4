"""The direct safety question: concern words and very low scores ask; the answers act."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.codes import AlertKind, QuestionAnswer, QuestionReason
from bot.domain.crisis import Layer
from bot.telegram import texts
from tests.handlers.conftest import Exchange, InProcessBot, due_prompt, patient_of
from tests.handlers.updates import TgUser

CONCERN = "thinking about checking out early"
REVIEW = "my friend attempted suicide last year and i keep thinking about her"
ACTED = "i took all my pills an hour ago"


def staff_texts_of(exchange: Exchange, bot: InProcessBot) -> list[str]:
    return [m.text for m in exchange.to(bot.staff_group.id)]


async def ask_by_words(bot: InProcessBot, user: TgUser) -> Exchange:
    await bot.enrol_and_infuse(user)
    assert bot.svc.safety.assess(CONCERN).layer is Layer.CONCERN
    return await bot.send(user, CONCERN)


async def test_concern_words_ask_directly_and_tell_the_staff(bot: InProcessBot) -> None:
    una = bot.user("Una")
    said = await ask_by_words(bot, una)

    [question] = [m for m in said.replies if m.text == texts.SAFETY_QUESTION]
    assert [label for label, _ in question.buttons()] == [texts.SAFETY_YES, texts.SAFETY_NO]
    assert not [m for m in said.replies if "Thank you for telling me" in m.text]
    await bot.tick()
    patient = await patient_of(bot, una)
    alerts = await bot.svc.storage.alerts.for_patient(patient.id)
    [review] = [alert for alert in alerts if alert.kind is AlertKind.REVIEW]
    assert CONCERN in review.text
    assert patient.code in review.text
    [asked] = await bot.svc.storage.questions.recent(patient.id)
    assert asked.reason is QuestionReason.WORDS
    assert asked.sent


async def test_yes_goes_the_urgent_way(bot: InProcessBot) -> None:
    una = bot.user("Una")
    said = await ask_by_words(bot, una)
    [question] = [m for m in said.replies if m.text == texts.SAFETY_QUESTION]

    pressed = await bot.press(una, question, question.button(texts.SAFETY_YES))

    assert pressed.answer == texts.SAFETY_ALREADY
    assert any("988" in m.text for m in pressed.to(una.id))
    urgent = [m.text for m in pressed.to(bot.staff_group.id) if "URGENT" in m.text]
    assert len(urgent) == 1
    assert "YES" in urgent[0]
    patient = await patient_of(bot, una)
    [asked] = await bot.svc.storage.questions.recent(patient.id)
    assert asked.answer is QuestionAnswer.YES
    again = await bot.press(una, question, f"sq:y:{asked.id}")
    assert again.answer == texts.SAFETY_ALREADY
    assert not [m for m in again.to(bot.staff_group.id) if "URGENT" in m.text]


async def test_no_is_recorded_thanked_and_passed_on(bot: InProcessBot) -> None:
    una = bot.user("Una")
    said = await ask_by_words(bot, una)
    [question] = [m for m in said.replies if m.text == texts.SAFETY_QUESTION]

    pressed = await bot.press(una, question, question.button(texts.SAFETY_NO))
    await bot.tick()

    assert texts.safety_no_reply(bot.svc.clinic.contacts) in [m.text for m in pressed.replies]
    patient = await patient_of(bot, una)
    [asked] = await bot.svc.storage.questions.recent(patient.id)
    assert asked.answer is QuestionAnswer.NO
    alerts = await bot.svc.storage.alerts.for_patient(patient.id)
    assert any("answered No" in alert.text for alert in alerts)
    assert not any(alert.kind is AlertKind.CRISIS for alert in alerts)


async def test_no_answer_within_an_hour_becomes_an_alert_to_acknowledge(
    bot: InProcessBot,
) -> None:
    una = bot.user("Una")
    await ask_by_words(bot, una)
    patient = await patient_of(bot, una)
    bot.clock.advance(timedelta(minutes=59))
    await bot.tick()
    alerts = await bot.svc.storage.alerts.for_patient(patient.id)
    assert not any(alert.kind is AlertKind.QUESTION_UNANSWERED for alert in alerts)

    bot.clock.advance(timedelta(minutes=2))
    ticked = await bot.tick()

    [message] = [m for m in ticked.to(bot.staff_group.id) if "did not answer" in m.text]
    assert patient.code in message.text
    assert next(label for label, _ in message.buttons()) == "Acknowledge"
    [asked] = await bot.svc.storage.questions.recent(patient.id)
    assert asked.escalated


async def test_a_very_low_score_asks_too(bot: InProcessBot) -> None:
    vic = bot.user("Vic")
    await bot.enrol_and_infuse(vic)
    prompt, _row = await due_prompt(bot, vic)

    pressed = await bot.press(vic, prompt, prompt.button("1"))

    assert texts.SAFETY_QUESTION in [m.text for m in pressed.replies]
    patient = await patient_of(bot, vic)
    [asked] = await bot.svc.storage.questions.recent(patient.id)
    assert asked.reason is QuestionReason.LOW_SCORE


async def test_a_score_of_three_does_not_ask(bot: InProcessBot) -> None:
    wes = bot.user("Wes")
    await bot.enrol_and_infuse(wes)
    prompt, _row = await due_prompt(bot, wes)

    pressed = await bot.press(wes, prompt, prompt.button("3"))

    assert texts.SAFETY_QUESTION not in [m.text for m in pressed.replies]
    assert await bot.svc.storage.questions.recent((await patient_of(bot, wes)).id) == []


async def test_someone_elses_question_cannot_be_answered(bot: InProcessBot) -> None:
    una, zed = bot.user("Una"), bot.user("Zed")
    said = await ask_by_words(bot, una)
    await bot.enrol(zed)
    [question] = [m for m in said.replies if m.text == texts.SAFETY_QUESTION]
    patient = await patient_of(bot, una)
    [asked] = await bot.svc.storage.questions.recent(patient.id)

    forged = await bot.press(zed, question, f"sq:n:{asked.id}", check=False)

    assert forged.answer == texts.BUTTON_INVALID
    [still] = await bot.svc.storage.questions.recent(patient.id)
    assert still.answer is None


async def test_words_about_someone_else_reach_the_staff_as_a_note_only(
    bot: InProcessBot,
) -> None:
    xia = bot.user("Xia")
    await bot.enrol_and_infuse(xia)
    assert bot.svc.safety.assess(REVIEW).layer is Layer.REVIEW

    said = await bot.send(xia, REVIEW)
    await bot.tick()

    assert texts.SAFETY_QUESTION not in said.texts
    assert not [m for m in said.replies if "Thank you for telling me" in m.text]
    patient = await patient_of(bot, xia)
    alerts = await bot.svc.storage.alerts.for_patient(patient.id)
    assert [alert.kind for alert in alerts] == [AlertKind.REVIEW]


async def test_an_act_already_taken_is_told_to_call_now(bot: InProcessBot) -> None:
    yan = bot.user("Yan")
    await bot.enrol_and_infuse(yan)
    assessment = bot.svc.safety.assess(ACTED)
    assert assessment.layer is Layer.URGENT
    assert assessment.acted

    said = await bot.send(yan, ACTED)

    contacts = bot.svc.clinic.contacts
    assert said.texts == [texts.crisis_reply(contacts, care_team_told=True, acted=True)]
    assert said.texts[0].startswith(f"Please call {contacts.emergency_number} now")


async def test_an_act_only_the_classifiers_read_is_told_to_call_now(bot: InProcessBot) -> None:
    text = "swallowed everything in the cabinet, sorry"
    zoe = bot.user("Zoe")
    await bot.enrol_and_infuse(zoe)
    assessment = bot.svc.safety.assess(text)
    assert assessment.layer is Layer.URGENT
    assert assessment.acted
    assert not any(reason.startswith(("urgent:", "concern:")) for reason in assessment.reasons)
    assert any(reason.startswith("acted-model:") for reason in assessment.reasons)

    said = await bot.send(zoe, text)

    contacts = bot.svc.clinic.contacts
    assert said.texts == [texts.crisis_reply(contacts, care_team_told=True, acted=True)]
    staff = staff_texts_of(said, bot)
    assert any("URGENT" in line and text in line for line in staff)


async def test_patient_shows_the_questions_and_their_answers(bot: InProcessBot) -> None:
    una = bot.user("Una")
    said = await ask_by_words(bot, una)
    [question] = [m for m in said.replies if m.text == texts.SAFETY_QUESTION]
    await bot.press(una, question, question.button(texts.SAFETY_NO))
    patient = await patient_of(bot, una)

    shown = await bot.send(bot.staff, f"/patient {patient.code}")

    summary = shown.replies[0].text
    assert "Direct safety question" in summary
    assert "after their words: answered NO" in summary
