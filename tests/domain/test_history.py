"""The patient's own history, built from their record, and its chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.codes import (
    CheckinKind,
    CheckinState,
    PatientStatus,
    QuestionnaireOrigin,
    QuestionnaireStatus,
)
from bot.domain.entities import Checkin, Infusion, Patient, QuestionnaireResponse
from bot.domain.history import LAST_ENTRIES, history_of
from bot.domain.record import PatientNote, PatientRecord
from bot.telegram.history_chart import render_history
from bot.telegram.record_texts import history_text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Berlin")


def patient() -> Patient:
    return Patient(
        id=1,
        code="P-TEST",
        label=None,
        status=PatientStatus.ACTIVE,
        telegram_user_id=5,
        chat_id=5,
        timezone="Europe/Berlin",
        checkin_time="09:00",
        consent_at=T0,
        created_at=T0 - timedelta(days=1),
        awaiting_note_checkin_id=None,
    )


def checkin(n: int, score: int | None) -> Checkin:
    at = T0 + timedelta(days=n)
    fields = dict(Checkin.__dataclass_fields__)
    values: dict[str, object] = {name: None for name in fields}
    values.update(
        id=n,
        patient_id=1,
        infusion_id=1,
        kind=CheckinKind.PLANNED,
        day=n,
        due_at=at,
        state=CheckinState.ANSWERED if score is not None else CheckinState.MISSED,
        attempts=1,
        score=score,
        answered_at=at if score is not None else None,
    )
    return Checkin(**{name: values[name] for name in fields if name in values})  # type: ignore[arg-type]


def phq9(n: int, total: int) -> QuestionnaireResponse:
    at = T0 + timedelta(days=n)
    return QuestionnaireResponse(
        id=n,
        patient_id=1,
        chat_id=5,
        instrument="phq9",
        origin=QuestionnaireOrigin.INTERVAL,
        status=QuestionnaireStatus.COMPLETED,
        answers=(1,) * 9 + (None,),
        started_at=at,
        updated_at=at,
        expires_at=at + timedelta(days=1),
        completed_at=at,
        total=total,
        band="mild",
        safety_alerted=False,
    )


def record() -> PatientRecord:
    return PatientRecord(
        patient=patient(),
        infusions=(
            Infusion(1, 1, T0 - timedelta(days=3), T0, 9),  # before enrolment: not drawn
            Infusion(2, 1, T0 + timedelta(days=2), T0, 9),
        ),
        checkins=tuple(checkin(n, None if n == 3 else n % 10) for n in range(1, 9)),
        notes=(PatientNote(1, 2, "a long day", T0 + timedelta(days=8, hours=1)),),
        questionnaires=(phq9(4, 9), phq9(8, 6)),
    )


def test_history_runs_from_enrolment_to_now() -> None:
    now = T0 + timedelta(days=10)
    history = history_of(record(), now=now)
    assert history.end == now
    assert history.start < T0
    assert [p.score for p in history.points] == [1, 2, 4, 5, 6, 7, 8]
    assert [(t.at, t.total) for t in history.totals] == [
        (T0 + timedelta(days=4), 9),
        (T0 + timedelta(days=8), 6),
    ]
    assert history.infusions == (T0 + timedelta(days=2),)
    assert len(history.latest) == LAST_ENTRIES
    assert history.latest[-1].note == "a long day"
    assert not history.empty


def test_history_words_and_chart() -> None:
    history = history_of(record(), now=T0 + timedelta(days=10))
    words = history_text(history, TZ)
    assert "7 mood answers, 2 questionnaires, 1 infusions" in words
    assert "PHQ-9 total 6" in words
    assert "your note \u201ca long day\u201d" in words
    png = render_history(history, tz=TZ)
    assert png.startswith(b"\x89PNG")


def test_an_empty_record_has_nothing_to_draw() -> None:
    history = history_of(PatientRecord(patient=patient()), now=T0)
    assert history.empty
    assert history.latest == ()
    assert render_history(history, tz=TZ).startswith(b"\x89PNG")
