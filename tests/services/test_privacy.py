"""Data rights through the privacy service: deletion, the retention purge, consent versions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.clock import ManualClock
from bot.domain.codes import (
    AlertKind,
    AuditAction,
    CheckinState,
    CloseReason,
    PatientStatus,
    PushKind,
    QuestionAnswer,
    QuestionReason,
)
from bot.domain.entities import Patient
from bot.services.privacy import DeleteOutcome, PrivacyService
from bot.services.questions import QuestionService
from bot.services.silence import SilenceService
from bot.services.urgent import UrgentOutbox
from storage import Storage
from storage._privacy import CLINICAL_DELETED, CLINICAL_KEPT, PATIENT_ACTOR
from tests.conftest import STAFF_ID, WORDING, Domain, alert_service, no_ack
from tests.services.test_safety import Messenger

USER = 501
# Every table holding something of one patient, and how to count it.
TABLES = (
    "checkins",
    "notes",
    "safety_questions",
    "explainer_deliveries",
    "questionnaire_responses",
    "infusions",
    "invites",
    "alerts",
    "episodes",
)


def privacy(
    domain: Domain, *, delete_clinical: bool = True, retention_days: int | None = None
) -> PrivacyService:
    alerts = alert_service(domain.storage, domain.clock)
    messenger = Messenger()
    outbox = UrgentOutbox(
        domain.storage, domain.clock, messenger, staff_chat=alerts.staff_chat_come_what_may
    )
    return PrivacyService(
        domain.storage,
        domain.clock,
        silence=SilenceService(
            domain.storage,
            domain.clock,
            alerts=alerts,
            wording=WORDING,
            pause_alert_after=domain.protocol.pause_alert_after,
        ),
        questions=QuestionService(
            domain.storage,
            domain.clock,
            alerts=alerts,
            messenger=messenger,
            outbox=outbox,
            wording=WORDING,
        ),
        retention_days=retention_days,
        delete_clinical_record=delete_clinical,
    )


async def count(storage: Storage, table: str, patient_id: int) -> int:
    row = await storage.database.fetch_one(
        f"SELECT count(*) FROM {table} WHERE patient_id = ?", (patient_id,)
    )
    assert row is not None
    return int(row[0])


async def questionnaire(
    storage: Storage, patient: Patient, *, at: int, status: str = "completed"
) -> None:
    done = status == "completed"
    await storage.database.write_one(
        "INSERT INTO questionnaire_responses (patient_id, chat_id, instrument, origin, status,"
        " answers, started_at, updated_at, expires_at, completed_at, total, band)"
        " VALUES (?, ?, 'phq9', 'requested', ?, '[1,1,1,1,1,1,1,1,0]', ?, ?, ?, ?, ?, ?)",
        (
            patient.id,
            patient.chat_id,
            status,
            at,
            at,
            at + 86400,
            at if done else None,
            8 if done else None,
            "mild" if done else None,
        ),
    )


async def full_record(domain: Domain) -> Patient:
    """A patient with an answered check-in and note, a question, an explainer, a PHQ-9."""
    patient = await domain.enrol(USER, time="09:00")
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await domain.send_next(patient.id)
    await domain.checkins.answer_button(
        user_id=USER, checkin_id=checkin_id, score=6, update_id=900, acknowledge=no_ack
    )
    now = domain.clock.now()
    await domain.storage.answers.add_note(
        patient_id=patient.id, checkin_id=checkin_id, text="slept badly", now=now, update_id=901
    )
    asked = await domain.storage.questions.ask(
        patient_id=patient.id,
        chat_id=USER,
        reason=QuestionReason.LOW_SCORE,
        now=now,
        escalate_at=now + timedelta(hours=1),
        update_id=902,
    )
    assert asked is not None
    await domain.storage.questions.answer(
        asked.id, user_id=USER, answer=QuestionAnswer.NO, now=now
    )
    await domain.storage.explainers.record_request(
        patient_id=patient.id, explainer_id="why-it-fades", now=now
    )
    waiting = await domain.storage.explainers.claim_push(
        patient_id=patient.id,
        explainer_id="what-helps",
        how=PushKind.SCHEDULED,
        now=now,
        retry_at=now + timedelta(hours=1),
    )
    assert waiting is not None
    await questionnaire(domain.storage, patient, at=int(now.timestamp()))
    found = await domain.storage.patients.get(patient.id)
    assert found is not None
    return found


async def test_deletion_removes_everything_but_the_code_and_an_audit_entry(
    domain: Domain,
) -> None:
    patient = await full_record(domain)
    for table in ("checkins", "notes", "safety_questions", "explainer_deliveries"):
        assert await count(domain.storage, table, patient.id), table
    service = privacy(domain)

    outcome = await service.delete(user_id=USER, patient_id=patient.id)

    assert outcome is DeleteOutcome.DELETED
    alerts = await domain.storage.alerts.for_patient(patient.id)
    assert [a.kind for a in alerts] == [AlertKind.DELETED]
    for table in TABLES:
        expected = 1 if table == "alerts" else 0
        assert await count(domain.storage, table, patient.id) == expected, table
    gone = await domain.storage.patients.get(patient.id)
    assert gone is not None
    assert gone.code == patient.code
    assert (gone.telegram_user_id, gone.chat_id, gone.label) == (None, None, None)
    assert gone.status is PatientStatus.STOPPED
    assert gone.deleted_at == domain.clock.now()
    assert await domain.storage.patients.by_user(USER) is None
    [entry] = [
        e
        for e in await domain.storage.clinic.audit_log(patient_id=patient.id)
        if e.action is AuditAction.DELETE_DATA
    ]
    assert (entry.actor, entry.detail, entry.at) == (
        PATIENT_ACTOR,
        CLINICAL_DELETED,
        domain.clock.now(),
    )
    # The staff are told by code only: no score, no words.
    text = alerts[0].text
    assert patient.code in text
    assert "deleted their data" in text
    assert "6/10" not in text
    assert "slept" not in text


async def test_keeping_the_clinical_record_keeps_numbers_not_words(domain: Domain) -> None:
    patient = await full_record(domain)
    await questionnaire(
        domain.storage, patient, at=int(domain.clock.now().timestamp()) + 5, status="in_progress"
    )
    before = await domain.storage.checkins.for_patient(patient.id)

    outcome = await privacy(domain, delete_clinical=False).delete(
        user_id=USER, patient_id=patient.id
    )

    assert outcome is DeleteOutcome.DELETED
    rows = await domain.storage.checkins.for_patient(patient.id)
    assert len(rows) == len(before)
    assert [r.score for r in rows if r.state is CheckinState.ANSWERED] == [6]
    assert all(r.message_id is None for r in rows)
    left_open = [r for r in rows if r.state in {CheckinState.PENDING, CheckinState.SENT}]
    assert left_open == []
    cancelled = [r for r in rows if r.state is CheckinState.CANCELLED]
    assert cancelled
    assert {r.close_reason for r in cancelled} == {CloseReason.PATIENT_STOPPED}
    assert await count(domain.storage, "infusions", patient.id) == 1
    kept = await domain.storage.database.fetch_all(
        "SELECT status, total, chat_id FROM questionnaire_responses WHERE patient_id = ?",
        (patient.id,),
    )
    assert [tuple(r) for r in kept] == [("completed", 8, 0)]
    for table in ("notes", "safety_questions", "explainer_deliveries", "invites"):
        assert await count(domain.storage, table, patient.id) == 0, table
    gone = await domain.storage.patients.get(patient.id)
    assert gone is not None
    assert gone.telegram_user_id is None
    assert gone.chat_id is None
    log = await domain.storage.clinic.audit_log(patient_id=patient.id)
    assert [e.detail for e in log if e.action is AuditAction.DELETE_DATA] == [CLINICAL_KEPT]


async def test_deletion_stops_every_message(domain: Domain) -> None:
    patient = await full_record(domain)
    await privacy(domain, delete_clinical=False).delete(user_id=USER, patient_id=patient.id)

    domain.clock.advance(timedelta(days=40))
    claimed = await domain.storage.checkins.claim_due(domain.clock.now(), limit=100)
    assert claimed == []
    assert await domain.storage.explainers.claim_waiting(domain.clock.now(), limit=50) == []
    assert await domain.storage.questions.claim_unsent(domain.clock.now(), limit=20) == []
    assert await domain.storage.questions.unanswered_due(domain.clock.now()) == []


async def test_a_second_deletion_and_a_stranger_change_nothing(domain: Domain) -> None:
    patient = await full_record(domain)
    service = privacy(domain)
    assert await service.delete(user_id=USER + 1, patient_id=patient.id) == (
        DeleteOutcome.NOT_A_PATIENT
    )
    assert await count(domain.storage, "notes", patient.id) == 1

    assert await service.delete(user_id=USER, patient_id=patient.id) is DeleteOutcome.DELETED
    domain.clock.advance(timedelta(minutes=1))
    again = await service.delete(user_id=USER, patient_id=patient.id)

    assert again is DeleteOutcome.NOT_A_PATIENT
    assert (
        await domain.storage.privacy.erase(patient.id, now=domain.clock.now(), keep_clinical=False)
        is None
    )
    log = await domain.storage.clinic.audit_log(patient_id=patient.id)
    assert [e.action for e in log].count(AuditAction.DELETE_DATA) == 1
    kinds = [a.kind for a in await domain.storage.alerts.for_patient(patient.id)]
    assert kinds == [AlertKind.DELETED]


async def test_a_button_for_another_record_deletes_nothing(domain: Domain) -> None:
    patient = await full_record(domain)
    other = await domain.enrol(USER + 7)

    outcome = await privacy(domain).delete(user_id=USER, patient_id=other.id)

    assert outcome is DeleteOutcome.OUT_OF_DATE
    for person in (patient, other):
        found = await domain.storage.patients.get(person.id)
        assert found is not None
        assert found.deleted_at is None
    assert await count(domain.storage, "notes", patient.id) == 1


async def test_an_undelivered_urgent_alert_still_reaches_the_staff(domain: Domain) -> None:
    patient = await full_record(domain)
    alerts = alert_service(domain.storage, domain.clock)
    urgent = await alerts.store_crisis(
        patient, words="I can't go on", text="URGENT", follow_up_text="again", update_id=950
    )
    assert urgent is not None

    await privacy(domain).delete(user_id=USER, patient_id=patient.id)

    kept = await domain.storage.alerts.for_patient(patient.id)
    assert sorted(a.kind for a in kept) == sorted([AlertKind.CRISIS, AlertKind.DELETED])
    assert await count(domain.storage, "notes", patient.id) == 0


async def test_the_consent_version_is_stored(domain: Domain) -> None:
    invitation = await domain.enrolment.invite(staff_id=STAFF_ID, label=None, update_id=None)
    assert invitation is not None
    await domain.enrolment.redeem(payload=invitation.token, user_id=USER, chat_id=USER)

    patient, new = await domain.enrolment.consent(user_id=USER, version="2026-12-01")

    assert new
    assert patient is not None
    assert patient.consent_version == "2026-12-01"
    again, twice = await domain.enrolment.consent(user_id=USER, version="2099-01-01")
    assert not twice
    assert again is not None
    assert again.consent_version == "2026-12-01"


# -- retention


def test_a_retention_below_30_days_is_refused(domain: Domain) -> None:
    with pytest.raises(ValueError, match="30 days"):
        privacy(domain, retention_days=29)


async def test_without_retention_nothing_is_purged(domain: Domain) -> None:
    patient = await full_record(domain)
    domain.clock.advance(timedelta(days=3650))
    assert await privacy(domain).purge() == 0
    assert await count(domain.storage, "notes", patient.id) == 1


async def test_the_purge_removes_only_finished_data_older_than_the_retention(
    domain: Domain, clock: ManualClock
) -> None:
    patient = await full_record(domain)
    unanswered = await domain.storage.questions.ask(
        patient_id=patient.id,
        chat_id=USER,
        reason=QuestionReason.WORDS,
        now=clock.now(),
        escalate_at=clock.now() + timedelta(days=400),
        update_id=903,
    )
    assert unanswered is not None
    await questionnaire(
        domain.storage, patient, at=int(clock.now().timestamp()) + 5, status="in_progress"
    )
    alerts_before = await count(domain.storage, "alerts", patient.id)
    service = privacy(domain, retention_days=30)
    start = clock.now()

    clock.advance(timedelta(days=29, hours=23))
    assert await service.purge() == 0

    clock.advance(timedelta(days=1))  # the next day's pass: 30 days and more since then
    # A new infusion: what came before it is an earlier course, which the retention covers.
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    removed = await service.purge()

    # The answered check-in, its note, the answered question and the requested explainer;
    # nothing pending, open or in progress, and not the PHQ-9 baseline.
    assert removed == 4
    rows = await domain.storage.checkins.for_patient(patient.id)
    assert [r for r in rows if r.state is CheckinState.ANSWERED] == []
    assert rows
    assert all(r.state is CheckinState.PENDING or r.due_at > start for r in rows)
    assert await count(domain.storage, "notes", patient.id) == 0
    [still] = await domain.storage.questions.recent(patient.id)
    assert still.id == unanswered.id
    statuses = await domain.storage.database.fetch_all(
        "SELECT status FROM questionnaire_responses WHERE patient_id = ?", (patient.id,)
    )
    assert sorted(r["status"] for r in statuses) == ["completed", "in_progress"]
    waiting = await domain.storage.explainers.claim_waiting(clock.now(), limit=50)
    assert [w.explainer_id for w in waiting] == ["what-helps"]
    assert await count(domain.storage, "alerts", patient.id) == alerts_before
    assert await count(domain.storage, "infusions", patient.id) == 2


async def test_the_purge_runs_once_a_day(domain: Domain, clock: ManualClock) -> None:
    patient = await domain.enrol(USER)
    service = privacy(domain, retention_days=30)
    assert await service.purge() == 0  # the day's pass, with nothing old yet

    await domain.storage.answers.add_note(
        patient_id=patient.id, checkin_id=None, text="old", now=clock.now(), update_id=None
    )
    clock.advance(timedelta(days=30, minutes=1))
    assert await service.purge() == 1
    await domain.storage.answers.add_note(
        patient_id=patient.id,
        checkin_id=None,
        text="older",
        now=clock.now() - timedelta(days=31),
        update_id=None,
    )
    clock.advance(timedelta(hours=23))
    assert await service.purge() == 0  # not a day since the last pass
    clock.advance(timedelta(hours=1))
    assert await service.purge() == 1


async def test_the_current_course_is_kept_whole(domain: Domain, clock: ManualClock) -> None:
    patient = await full_record(domain)
    service = privacy(domain, retention_days=30)
    clock.advance(timedelta(days=31))

    removed = await service.purge()

    # Only the answered question and the explainer they asked for: the check-in and its
    # note belong to the course still running (the detector compares with its start).
    assert removed == 2
    rows = await domain.storage.checkins.for_patient(patient.id)
    assert [r.score for r in rows if r.state is CheckinState.ANSWERED] == [6]
    assert await count(domain.storage, "notes", patient.id) == 1


async def test_pushed_explainers_are_remembered_so_none_is_pushed_twice(
    domain: Domain, clock: ManualClock
) -> None:
    patient = await full_record(domain)
    [waiting] = await domain.storage.explainers.claim_waiting(
        clock.now() + timedelta(hours=2), limit=50
    )
    await domain.storage.explainers.mark_sent(waiting.delivery_id, now=clock.now())
    service = privacy(domain, retention_days=30)
    clock.advance(timedelta(days=31))
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)

    await service.purge()

    again = await domain.storage.explainers.claim_push(
        patient_id=patient.id,
        explainer_id="what-helps",
        how=PushKind.SCHEDULED,
        now=clock.now(),
        retry_at=clock.now() + timedelta(hours=1),
    )
    assert again is None


async def test_resolved_alert_texts_go_with_the_retention(
    domain: Domain, clock: ManualClock
) -> None:
    patient = await full_record(domain)
    alerts = alert_service(domain.storage, domain.clock)
    old = await alerts.store_crisis(
        patient, words="I can't go on", text="URGENT words", follow_up_text="x", update_id=960
    )
    still_open = await alerts.store_crisis(
        patient, words="still here", text="URGENT open", follow_up_text="y", update_id=961
    )
    assert old is not None
    assert still_open is not None
    await domain.storage.alerts.resolve(old.id, staff_id=STAFF_ID, now=clock.now())
    service = privacy(domain, retention_days=30)
    clock.advance(timedelta(days=31))

    await service.purge()

    texts = {a.id: a.text for a in await domain.storage.alerts.for_patient(patient.id)}
    assert texts[old.id] == ""
    assert texts[still_open.id] != ""


async def test_a_kept_alert_loses_its_words_once_resolved(domain: Domain) -> None:
    patient = await full_record(domain)
    alerts = alert_service(domain.storage, domain.clock)
    urgent = await alerts.store_crisis(
        patient, words="I can't go on", text="URGENT words", follow_up_text="x", update_id=970
    )
    assert urgent is not None
    service = privacy(domain)
    await service.delete(user_id=USER, patient_id=patient.id)
    await service.purge()
    kept = await domain.storage.alerts.get(urgent.id)
    assert kept is not None
    assert kept.text == "URGENT words"  # not dealt with yet: it must still say what happened

    await domain.storage.alerts.resolve(urgent.id, staff_id=STAFF_ID, now=domain.clock.now())
    assert await service.purge() >= 1

    cleared = await domain.storage.alerts.get(urgent.id)
    assert cleared is not None
    assert cleared.text == ""
