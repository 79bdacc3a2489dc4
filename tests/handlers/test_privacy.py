"""/deletemydata in process: confirmation, what goes, what the staff see, what old buttons do."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain.codes import AlertKind, CheckinState, PatientStatus
from bot.telegram import keyboards, privacy_texts, staff_texts, texts
from tests.handlers.conftest import InProcessBot, due_prompt, patient_of
from tests.handlers.offline import Sent
from tests.handlers.test_questions import CONCERN
from tests.handlers.test_safety import CRISIS
from tests.handlers.updates import TgUser


async def ask_to_delete(bot: InProcessBot, user: TgUser) -> Sent:
    asked = (await bot.send(user, "/deletemydata")).reply
    assert [label for label, _ in asked.buttons()] == [
        privacy_texts.DELETE_YES,
        privacy_texts.DELETE_NO,
    ]
    return asked


async def delete(bot: InProcessBot, user: TgUser) -> Sent:
    asked = await ask_to_delete(bot, user)
    done = await bot.press(user, asked, asked.button("Delete"))
    assert done.reply.text == privacy_texts.deleted(bot.svc.clinic.contacts)
    return asked


async def restart_with(bot: InProcessBot, **changes: object) -> None:
    await bot.stop()
    bot.settings = dataclasses.replace(bot.settings, **changes)  # type: ignore[arg-type]
    await bot.start()


async def test_deletemydata_says_what_goes_and_keep_keeps_it(bot: InProcessBot) -> None:
    ada = bot.user("Ada")
    await bot.enrol_and_infuse(ada)

    asked = await ask_to_delete(bot, ada)
    for word in ("mood scores and notes", "questionnaire", "safety questions", "cannot be undone"):
        assert word in asked.text, word
    assert asked.button("Delete").startswith("dd:y:")
    kept = await bot.press(ada, asked, asked.button("Keep"))

    assert kept.reply.text == privacy_texts.KEPT
    assert asked.buttons() == []
    patient = await patient_of(bot, ada)
    assert patient.deleted_at is None
    assert patient.status is PatientStatus.ACTIVE


async def test_deletion_removes_the_data_and_tells_the_staff_once(bot: InProcessBot) -> None:
    bo = bot.user("Bo", "bo_private")
    code = await bot.enrol_and_infuse(bo)
    prompt, row = await due_prompt(bot, bo)
    await bot.press(bo, prompt, prompt.button("7"))
    await bot.send(bo, "a calm day")
    patient = await patient_of(bot, bo)
    asked = await ask_to_delete(bot, bo)

    done = await bot.press(bo, asked, asked.button("Delete"))
    told = done.to(bot.staff_group.id) + (await bot.tick()).to(bot.staff_group.id)

    assert done.reply.text == privacy_texts.deleted(bot.svc.clinic.contacts)
    assert "988" in done.reply.text  # crisis resources, even on the way out
    assert await bot.svc.storage.patients.by_user(bo.id) is None
    assert await bot.svc.storage.checkins.for_patient(patient.id) == []
    assert await bot.svc.storage.answers.notes_for_patient(patient.id) == []
    [message] = [m for m in told if "deleted their data" in m.text]
    assert code in message.text
    for private in ("Bo", "bo_private", "calm", "7/10"):
        assert private not in message.text, private
    alerts = await bot.svc.storage.alerts.for_patient(patient.id)
    assert [a.kind for a in alerts] == [AlertKind.DELETED]
    await bot.tick()
    assert len(await bot.svc.storage.alerts.for_patient(patient.id)) == 1
    del row


async def test_after_deletion_nothing_is_sent_to_them(bot: InProcessBot) -> None:
    cy = bot.user("Cy")
    await bot.enrol_and_infuse(cy)
    await bot.send(cy, CONCERN)  # an open safety question, escalated in an hour
    await restart_with(bot, delete_clinical_record=False)
    patient = await patient_of(bot, cy)
    rows = await bot.svc.storage.checkins.for_patient(patient.id)
    await delete(bot, cy)

    for days in (1, 3, 10, 40):
        bot.clock.set(rows[0].due_at + timedelta(days=days))
        ticked = await bot.tick()
        assert ticked.to(cy.id) == [], days
    kept = await bot.svc.storage.checkins.for_patient(patient.id)
    assert len(kept) == len(rows)
    assert {c.state for c in kept} == {CheckinState.CANCELLED}


async def test_staff_see_the_patient_as_deleted(bot: InProcessBot) -> None:
    dee = bot.user("Dee")
    code = await bot.enrol_and_infuse(dee)
    await delete(bot, dee)
    day = f"{bot.clock.now().astimezone(bot.settings.timezone):%Y-%m-%d}"

    summary = await bot.send(bot.staff, f"/patient {code}")
    listing = await bot.send(bot.staff, "/patients")

    [text] = [m.text for m in summary.replies if code in m.text and "Consent" in m.text]
    assert f"{code} · deleted on {day}" in text
    assert f"deleted on {day}" in listing.reply.text
    assert "Dee" not in text + listing.reply.text


async def test_no_infusion_is_recorded_for_a_deleted_patient(bot: InProcessBot) -> None:
    dee = bot.user("Dee")
    code = await bot.enrol_and_infuse(dee)
    await delete(bot, dee)
    patient = await bot.svc.storage.patients.by_code(code)
    assert patient is not None
    before = await bot.svc.storage.infusions.recent(patient.id, limit=10)

    reply = (await bot.send(bot.staff, f"/infusion {code}")).reply.text

    assert "deleted their data" in reply
    assert await bot.svc.storage.infusions.recent(patient.id, limit=10) == before
    rows = await bot.svc.storage.checkins.for_patient(patient.id)
    assert all(row.state is not CheckinState.PENDING for row in rows)


async def test_a_deleted_patients_old_buttons_do_nothing(bot: InProcessBot) -> None:
    eli = bot.user("Eli")
    await bot.enrol_and_infuse(eli)
    prompt, row = await due_prompt(bot, eli)
    said = await bot.send(eli, CONCERN)
    [question] = [m for m in said.replies if m.text == texts.SAFETY_QUESTION]
    menu = (await bot.send(eli, "/time")).reply
    learn = (await bot.send(eli, "/learn")).reply
    stop = (await bot.send(eli, "/stop")).reply
    patient = await patient_of(bot, eli)
    asked = await delete(bot, eli)

    for message, data in (
        (prompt, prompt.button("5")),
        (question, question.button(texts.SAFETY_NO)),
        (menu, "t:2000"),
        (learn, learn.buttons()[0][1]),
        (stop, "st:yes"),
        (prompt, keyboards.CONSENT_DATA),
        (asked, f"dd:y:{patient.id}"),
        (asked, keyboards.DELETE_NO_DATA),
        (prompt, "m:999:3"),
        (prompt, "qa:1:0:0"),
        (prompt, "lx:menu"),
        (prompt, "cc:1"),
        (prompt, "anything"),
    ):
        pressed = await bot.press(eli, message, data)
        assert pressed.answer == privacy_texts.NO_FOLLOW_UP, data
        assert pressed.replies == []
        assert pressed.edits == []
    # Staff buttons are refused as staff-only, as for anyone.
    alert = await bot.press(eli, prompt, "al:ack:1")
    assert alert.answer == staff_texts.NOT_AUTHORISED
    assert await bot.svc.storage.checkins.for_patient(patient.id) == []
    assert await bot.svc.storage.questions.recent(patient.id) == []
    assert await bot.svc.storage.patients.by_user(eli.id) is None
    # The review of their words and the question they never answered stay until a human
    # acknowledges them: the signal they gave before deleting must not vanish.
    assert {a.kind for a in await bot.svc.storage.alerts.for_patient(patient.id)} == {
        AlertKind.DELETED,
        AlertKind.REVIEW,
        AlertKind.QUESTION_UNANSWERED,
    }
    # "Yes" under the old safety question is never nothing: resources, and staff are told.
    yes = await bot.press(eli, question, question.button(texts.SAFETY_YES))
    assert any("988" in m.text for m in yes.to(eli.id))
    assert any("URGENT" in m.text for m in yes.to(bot.staff_group.id))
    assert await bot.svc.storage.questions.recent(patient.id) == []
    del row


async def test_item_nine_on_an_old_phq9_after_deletion_still_reaches_staff(
    bot: InProcessBot,
) -> None:
    eli = bot.user("Eli")
    await bot.enrol(eli)
    first = (await bot.send(eli, "/phq9")).reply
    for _ in range(8):
        await bot.press(eli, first, first.button("Not at all"))
    await delete(bot, eli)

    pressed = await bot.press(eli, first, first.button("Several days"))

    assert any("988" in m.text for m in pressed.to(eli.id))
    assert any("URGENT" in m.text for m in pressed.to(bot.staff_group.id))
    # A harmless answer on the same old message stays a no-op.
    later = await bot.press(eli, first, first.button("Not at all"))
    assert later.answer == privacy_texts.NO_FOLLOW_UP
    assert later.to(bot.staff_group.id) == []


async def test_a_deleted_person_is_a_stranger_but_still_gets_crisis_help(
    bot: InProcessBot,
) -> None:
    fox = bot.user("Fox")
    await bot.enrol_and_infuse(fox)
    await delete(bot, fox)

    assert (await bot.send(fox, "7")).reply.text == texts.NOT_INVITED
    assert (await bot.send(fox, "/checkin")).reply.text == texts.NOT_INVITED
    assert (await bot.send(fox, "/deletemydata")).reply.text == privacy_texts.NOTHING_TO_DELETE
    crisis = await bot.send(fox, CRISIS)
    staff = crisis.to(bot.staff_group.id) + (await bot.tick()).to(bot.staff_group.id)

    assert any("988" in text for text in crisis.texts)
    assert [m for m in staff if "URGENT" in m.text and "not a patient" in m.text]


async def test_an_old_delete_button_after_re_enrolment_deletes_nothing(
    bot: InProcessBot,
) -> None:
    gus = bot.user("Gus")
    await bot.enrol_and_infuse(gus)
    old = await ask_to_delete(bot, gus)
    data = old.button("Delete")
    await bot.press(gus, old, data)
    new_code = await bot.enrol_and_infuse(gus)
    new = await patient_of(bot, gus)
    assert new.code == new_code
    assert data != f"dd:y:{new.id}"

    pressed = await bot.press(gus, old, data)

    assert pressed.answer == privacy_texts.OUT_OF_DATE
    assert pressed.replies == []
    still = await patient_of(bot, gus)
    assert still.deleted_at is None
    assert still.status is PatientStatus.ACTIVE
    assert await bot.svc.storage.checkins.for_patient(still.id)


async def test_a_delete_button_pressed_by_someone_else_deletes_nothing(
    bot: InProcessBot,
) -> None:
    hal, ivy, jon = bot.user("Hal"), bot.user("Ivy"), bot.user("Jon")
    await bot.enrol_and_infuse(hal)
    await bot.enrol(ivy)
    asked = await ask_to_delete(bot, hal)

    by_patient = await bot.press(ivy, asked, asked.button("Delete"))
    by_stranger = await bot.press(jon, asked, asked.button("Delete"))
    by_staff = await bot.press(bot.staff, asked, asked.button("Delete"))

    assert by_patient.answer == privacy_texts.OUT_OF_DATE
    assert by_stranger.answer == privacy_texts.NOTHING_TO_DELETE
    assert by_staff.answer == privacy_texts.NOTHING_TO_DELETE
    for user in (hal, ivy):
        assert (await patient_of(bot, user)).deleted_at is None
    for forged in ("dd:y:0", "dd:y:abc", "dd:y:1 ", "dd:yes", "dd:", "dd:n:1"):
        pressed = await bot.press(hal, asked, forged)
        assert pressed.answer == privacy_texts.OUT_OF_DATE, forged
    assert (await patient_of(bot, hal)).deleted_at is None


async def test_pressing_delete_twice_deletes_once(bot: InProcessBot) -> None:
    kim = bot.user("Kim")
    await bot.enrol_and_infuse(kim)
    patient = await patient_of(bot, kim)
    asked = await ask_to_delete(bot, kim)
    data = asked.button("Delete")

    first = await bot.press(kim, asked, data)
    second = await bot.press(kim, asked, data)

    assert first.reply.text == privacy_texts.deleted(bot.svc.clinic.contacts)
    assert second.answer == privacy_texts.NO_FOLLOW_UP
    assert second.replies == []
    log = await bot.svc.storage.clinic.audit_log(patient_id=patient.id)
    assert [e.action.value for e in log].count("delete_data") == 1


async def test_people_without_a_record_have_nothing_to_delete(bot: InProcessBot) -> None:
    lou = bot.user("Lou")
    for user in (lou, bot.staff):
        said = await bot.send(user, "/deletemydata")
        assert said.reply.text == privacy_texts.NOTHING_TO_DELETE
        assert said.reply.buttons() == []
    # In the staff group the command is nobody's: no answer, nothing deleted.
    assert (await bot.send(bot.staff, "/deletemydata", chat=bot.staff_group)).replies == []


async def test_before_consent_the_data_can_be_deleted_too(bot: InProcessBot) -> None:
    mo = bot.user("Mo")
    _, token = await bot.invite()
    consent = (await bot.send(mo, f"/start {token}")).reply
    await delete(bot, mo)

    pressed = await bot.press(mo, consent, keyboards.CONSENT_DATA)

    assert pressed.answer == privacy_texts.NO_FOLLOW_UP
    assert await bot.svc.storage.patients.by_user(mo.id) is None


async def test_keeping_the_clinical_record_keeps_scores_not_words(bot: InProcessBot) -> None:
    await restart_with(bot, delete_clinical_record=False)
    ned = bot.user("Ned")
    code = await bot.enrol_and_infuse(ned)
    prompt, _row = await due_prompt(bot, ned)
    await bot.press(ned, prompt, prompt.button("8"))
    await bot.send(ned, "my private words")
    patient = await patient_of(bot, ned)
    asked = await ask_to_delete(bot, ned)
    assert "Your clinic keeps its clinical record" in asked.text

    await bot.press(ned, asked, asked.button("Delete"))

    rows = await bot.svc.storage.checkins.for_patient(patient.id)
    assert [r.score for r in rows if r.state is CheckinState.ANSWERED] == [8]
    assert await bot.svc.storage.answers.notes_for_patient(patient.id) == []
    summary = await bot.send(bot.staff, f"/patient {code}")
    text = "\n".join(summary.texts)
    assert "deleted on" in text
    assert "private words" not in text


# -- consent


async def test_consent_says_what_happens_and_its_version_is_stored(bot: InProcessBot) -> None:
    await restart_with(bot, retention_days=180)
    oz = bot.user("Oz")
    _, token = await bot.invite()
    consent = (await bot.send(oz, f"/start {token}")).reply
    for words in (
        "care team reads your answers and any notes",
        "checked for words",
        "alert the care team",
        "patient code",
        "kept for 180 days",
        "/pause",
        "/stop",
        "/mydata",
        "/deletemydata",
        "not an encrypted medical channel",
    ):
        assert words in consent.text, words
    assert len(consent.text) < 1500

    await bot.press(oz, consent, keyboards.CONSENT_DATA)

    patient = await patient_of(bot, oz)
    assert patient.consent_version == texts.CONSENT_VERSION
    summary = await bot.send(bot.staff, f"/patient {patient.code}")
    assert any(f"Consent: version {texts.CONSENT_VERSION}" in t for t in summary.texts)


async def test_without_retention_the_consent_says_data_is_kept(bot: InProcessBot) -> None:
    _, token = await bot.invite()
    consent = (await bot.send(bot.user("Pia"), f"/start {token}")).reply
    assert "kept until you or your clinic delete them" in consent.text


async def test_help_lists_deletemydata(bot: InProcessBot) -> None:
    qi = bot.user("Qi")
    await bot.enrol(qi)
    assert "/deletemydata" in (await bot.send(qi, "/help")).reply.text
