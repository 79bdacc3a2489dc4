"""A patient's whole record read back from a real SQLite file, for export."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.clock import ManualClock
from bot.domain.codes import (
    AlertKind,
    CheckinState,
    PushKind,
    QuestionAnswer,
    QuestionnaireOrigin,
    QuestionnaireStatus,
    QuestionReason,
)
from bot.domain.entities import NewAlert, Patient, PlannedCheckin
from storage import Storage
from storage._records import QUESTIONNAIRE_COLUMNS, RecordRepository, questionnaire_response
from storage._time import to_ts
from tests.conftest import STAFF_ID

USER = 4242


async def add_questionnaire(
    storage: Storage,
    patient: Patient,
    *,
    answers: str,
    status: str,
    started: int,
    total: int | None = None,
    band: str | None = None,
    instrument: str = "phq9",
) -> int:
    """Store one administration with plain SQL (no repository writes them yet)."""
    async with storage.database.write() as conn:
        rows = list(
            await conn.fetch_all(
                "INSERT INTO questionnaire_responses (patient_id, chat_id, instrument, origin,"
                " status, answers, started_at, updated_at, expires_at, completed_at, total, band)"
                " VALUES (?, ?, ?, 'baseline', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    patient.id,
                    patient.chat_id,
                    instrument,
                    status,
                    answers,
                    started,
                    started + 60,
                    started + 86400,
                    started + 60 if status == "completed" else None,
                    total,
                    band,
                ),
            )
        )
    return int(rows[0]["id"])


async def enrol(storage: Storage, clock: ManualClock, user: int) -> Patient:
    """Invite, redeem and consent through the repositories; return the active patient."""
    now = clock.now()
    invited = await storage.patients.create_invited(
        code=f"P{user}",
        label=None,
        timezone="Europe/Berlin",
        token_hash=f"hash-{user}",
        now=now,
        expires_at=now + timedelta(days=7),
        created_by=STAFF_ID,
        update_id=None,
    )
    assert invited is not None
    await storage.patients.redeem(token_hash=f"hash-{user}", user_id=user, chat_id=user, now=now)
    patient = await storage.patients.record_consent(invited.id, now=now, default_time="09:00")
    assert patient is not None
    return patient


async def fill(storage: Storage, clock: ManualClock) -> Patient:
    """Enrol a patient and give them one of everything a record holds."""
    patient = await enrol(storage, clock, USER)
    plan = [PlannedCheckin(day, clock.now() + timedelta(days=day)) for day in (1, 2)]
    recorded = await storage.infusions.record(
        patient_id=patient.id,
        given_at=clock.now(),
        now=clock.now(),
        recorded_by=STAFF_ID,
        update_id=None,
        plan=plan,
    )
    assert recorded is not None
    extra = await storage.checkins.create_extra(patient.id, now=clock.now(), update_id=None)
    assert extra is not None
    first = extra.id
    clock.advance(timedelta(minutes=5))
    await storage.answers.answer(first, score=6, now=clock.now(), update_id=1, user_id=USER)
    await storage.answers.add_note(
        patient_id=patient.id, checkin_id=first, text="slept badly", now=clock.now(), update_id=2
    )
    await storage.answers.add_note(
        patient_id=patient.id, checkin_id=None, text="loose", now=clock.now(), update_id=3
    )
    base = to_ts(clock.now())
    await add_questionnaire(
        storage,
        patient,
        answers="[1,2,0,1,0,0,1,0,0,null]",
        status="completed",
        started=base,
        total=5,
        band="mild",
    )
    await add_questionnaire(storage, patient, answers="[3,2]", status="expired", started=base + 99)
    question = await storage.questions.ask(
        patient_id=patient.id,
        chat_id=USER,
        reason=QuestionReason.LOW_SCORE,
        now=clock.now(),
        escalate_at=clock.now() + timedelta(hours=1),
        update_id=4,
    )
    assert question is not None
    await storage.questions.answer(
        question.id, user_id=USER, answer=QuestionAnswer.NO, now=clock.now()
    )
    await storage.explainers.record_request(
        patient_id=patient.id, explainer_id="why-it-fades", now=clock.now()
    )
    # Claimed for a push but never sent: not delivered, so not part of the record.
    await storage.explainers.claim_push(
        patient_id=patient.id,
        explainer_id="what-helps",
        how=PushKind.SCHEDULED,
        now=clock.now(),
        retry_at=clock.now(),
    )
    alert = await storage.alerts.add(
        patient_id=patient.id, alert=NewAlert(AlertKind.REVIEW, "text"), now=clock.now()
    )
    assert alert is not None
    await storage.alerts.acknowledge(alert.id, staff_id=STAFF_ID, now=clock.now())
    return patient


async def test_the_record_holds_everything_about_the_patient(
    storage: Storage, clock: ManualClock
) -> None:
    patient = await fill(storage, clock)
    other = await enrol(storage, clock, USER + 1)
    await storage.checkins.create_extra(other.id, now=clock.now(), update_id=None)
    await storage.answers.add_note(
        patient_id=other.id, checkin_id=None, text="other", now=clock.now(), update_id=99
    )

    record = await RecordRepository(storage.database).of(patient.id)

    assert record is not None
    assert record.patient.code == patient.code
    assert len(record.infusions) == 1
    assert len(record.checkins) == 3
    assert {checkin.patient_id for checkin in record.checkins} == {patient.id}
    answered = [c for c in record.checkins if c.state is CheckinState.ANSWERED]
    assert [c.score for c in answered] == [6]
    assert [note.text for note in record.notes_of(answered[0].id)] == ["slept badly"]
    assert [note.text for note in record.loose_notes()] == ["loose"]
    done, expired = record.questionnaires
    assert done.status is QuestionnaireStatus.COMPLETED
    assert done.origin is QuestionnaireOrigin.BASELINE
    assert done.answers == (1, 2, 0, 1, 0, 0, 1, 0, 0, None)
    assert (done.total, done.band, done.completed_at is not None) == (5, "mild", True)
    assert expired.status is QuestionnaireStatus.EXPIRED
    assert expired.answers == (3, 2)
    assert expired.total is None
    assert [q.answer for q in record.safety_questions] == [QuestionAnswer.NO]
    assert [(e.explainer_id, e.how) for e in record.explainers] == [
        ("why-it-fades", PushKind.REQUESTED)
    ]
    assert [(a.kind, a.acknowledged_at is not None) for a in record.alerts] == [
        (AlertKind.REVIEW, True)
    ]


async def test_parts_are_oldest_first(storage: Storage, clock: ManualClock) -> None:
    patient = await fill(storage, clock)
    record = await RecordRepository(storage.database).of(patient.id)
    assert record is not None
    dues = [checkin.due_at for checkin in record.checkins]
    assert dues == sorted(dues)
    starts = [response.started_at for response in record.questionnaires]
    assert starts == sorted(starts)


async def test_a_patient_with_nothing_has_an_empty_record(
    storage: Storage, clock: ManualClock
) -> None:
    patient = await enrol(storage, clock, USER)

    record = await RecordRepository(storage.database).of(patient.id)

    assert record is not None
    assert record.patient == patient
    parts = (record.infusions, record.checkins, record.notes, record.questionnaires)
    others = (record.safety_questions, record.explainers, record.alerts)
    assert all(part == () for part in (*parts, *others))


async def test_no_such_patient_has_no_record(storage: Storage) -> None:
    assert await RecordRepository(storage.database).of(12345) is None


@pytest.mark.parametrize("answers", ["{}", "[1, true]", "[1.5]", '["1"]', "not json"])
async def test_stored_answers_that_are_not_scores_are_refused(
    storage: Storage, clock: ManualClock, answers: str
) -> None:
    patient = await enrol(storage, clock, USER)
    response_id = await add_questionnaire(
        storage, patient, answers=answers, status="in_progress", started=1
    )
    row = await storage.database.fetch_one(
        f"SELECT {QUESTIONNAIRE_COLUMNS} FROM questionnaire_responses WHERE id = ?",
        (response_id,),
    )
    assert row is not None
    with pytest.raises(ValueError, match=f"questionnaire response {response_id}") as caught:
        questionnaire_response(row)
    assert answers not in str(caught.value)
