"""Questionnaire administrations (PHQ-9, GAD-7): started, answered item by item, completed
or expired. Each step checks the answers it expects, so a double press cannot count twice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from bot.domain.codes import QuestionnaireOrigin, QuestionnaireStatus
from bot.domain.entities import QuestionnaireCandidate, QuestionnaireResponse

from ._database import Database, Row
from ._time import from_ts, opt_from_ts, to_ts

QUESTIONNAIRE_COLUMNS = (
    "id, patient_id, chat_id, instrument, origin, status, answers, started_at, updated_at,"
    " expires_at, completed_at, total, band, safety_alerted, safety_told"
)

Answers = tuple[int | None, ...]
_DAY = timedelta(days=1)


def encode_answers(answers: Answers) -> str:
    """Return the stored form of the answers: a compact JSON array."""
    return json.dumps(list(answers), separators=(",", ":"))


def decode_answers(text: str, response_id: int) -> Answers:
    """Return the answers from their stored form.

    Raises ValueError when they are not a JSON array of whole numbers and nulls; the
    message names the row, never the answers.
    """
    try:
        values = json.loads(text)
    except (TypeError, ValueError):
        values = None
    if not isinstance(values, list) or not all(
        value is None or (isinstance(value, int) and not isinstance(value, bool))
        for value in values
    ):
        raise ValueError(f"questionnaire response {response_id}: answers are not a score list")
    return tuple(values)


def questionnaire_response(row: Row) -> QuestionnaireResponse:
    """Return the entity for a questionnaire_responses row (all of `QUESTIONNAIRE_COLUMNS`)."""
    return QuestionnaireResponse(
        id=row["id"],
        patient_id=row["patient_id"],
        chat_id=row["chat_id"],
        instrument=row["instrument"],
        origin=QuestionnaireOrigin(row["origin"]),
        status=QuestionnaireStatus(row["status"]),
        answers=decode_answers(row["answers"], row["id"]),
        started_at=from_ts(row["started_at"]),
        updated_at=from_ts(row["updated_at"]),
        expires_at=from_ts(row["expires_at"]),
        completed_at=opt_from_ts(row["completed_at"]),
        total=row["total"],
        band=row["band"],
        safety_alerted=bool(row["safety_alerted"]),
        safety_told=row["safety_told"],
    )


class QuestionnaireRepository:
    """At most one administration per patient is in progress (the database enforces it)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(
        self,
        *,
        patient_id: int,
        chat_id: int,
        instrument: str,
        origin: QuestionnaireOrigin,
        now: datetime,
        expire_after: timedelta,
        update_id: int | None,
    ) -> QuestionnaireResponse | None:
        """Store a new administration; None if one is in progress or this update started one."""
        rows = await self._db.write_one(
            "INSERT INTO questionnaire_responses (patient_id, chat_id, instrument, origin,"
            " started_at, updated_at, expires_at, update_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT DO NOTHING RETURNING {QUESTIONNAIRE_COLUMNS}",
            (
                patient_id,
                chat_id,
                instrument,
                origin,
                to_ts(now),
                to_ts(now),
                to_ts(now + expire_after),
                update_id,
            ),
        )
        return questionnaire_response(rows[0]) if rows else None

    async def get(self, response_id: int) -> QuestionnaireResponse | None:
        """Return an administration by id."""
        row = await self._db.fetch_one(
            f"SELECT {QUESTIONNAIRE_COLUMNS} FROM questionnaire_responses WHERE id = ?",
            (response_id,),
        )
        return None if row is None else questionnaire_response(row)

    async def by_update(self, update_id: int) -> bool:
        """Tell whether this Telegram update started an administration already."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM questionnaire_responses WHERE update_id = ?", (update_id,)
        )
        return row is not None

    async def in_progress(self, patient_id: int) -> QuestionnaireResponse | None:
        """Return the patient's unfinished administration, if any."""
        row = await self._db.fetch_one(
            f"SELECT {QUESTIONNAIRE_COLUMNS} FROM questionnaire_responses WHERE patient_id = ?"
            " AND status = 'in_progress'",
            (patient_id,),
        )
        return None if row is None else questionnaire_response(row)

    async def advance(
        self, response_id: int, *, expected: Answers, answers: Answers, now: datetime
    ) -> QuestionnaireResponse | None:
        """Replace the answers if they are still `expected` and the administration is open."""
        rows = await self._db.write_one(
            "UPDATE questionnaire_responses SET answers = ?, updated_at = ? WHERE id = ?"
            " AND status = 'in_progress' AND answers = ? AND expires_at > ?"
            f" RETURNING {QUESTIONNAIRE_COLUMNS}",
            (
                encode_answers(answers),
                to_ts(now),
                response_id,
                encode_answers(expected),
                to_ts(now),
            ),
        )
        return questionnaire_response(rows[0]) if rows else None

    async def complete(
        self,
        response_id: int,
        *,
        expected: Answers,
        answers: Answers,
        total: int,
        band: str,
        now: datetime,
    ) -> QuestionnaireResponse | None:
        """Store the last answer, the total and the band; None if it moved on meanwhile."""
        rows = await self._db.write_one(
            "UPDATE questionnaire_responses SET answers = ?, updated_at = ?, completed_at = ?,"
            " total = ?, band = ?, status = 'completed' WHERE id = ? AND status = 'in_progress'"
            f" AND answers = ? AND expires_at > ? RETURNING {QUESTIONNAIRE_COLUMNS}",
            (
                encode_answers(answers),
                to_ts(now),
                to_ts(now),
                total,
                band,
                response_id,
                encode_answers(expected),
                to_ts(now),
            ),
        )
        return questionnaire_response(rows[0]) if rows else None

    async def flag_safety(self, response_id: int, value: int) -> bool:
        """Record that the staff were told of a safety-item answer; False if not higher."""
        rows = await self._db.write_one(
            "UPDATE questionnaire_responses SET safety_alerted = 1, safety_told = ?"
            " WHERE id = ? AND coalesce(safety_told, 0) < ? RETURNING id",
            (value, response_id, value),
        )
        return bool(rows)

    async def discard(self, response_id: int) -> None:
        """Forget an administration whose first item never reached the patient."""
        await self._db.write_one(
            "DELETE FROM questionnaire_responses WHERE id = ? AND status = 'in_progress'"
            " AND answers = '[]'",
            (response_id,),
        )

    async def expire(self, response_id: int, *, now: datetime) -> None:
        """Close an unfinished administration now (the patient cannot be reached)."""
        await self._db.write_one(
            "UPDATE questionnaire_responses SET status = 'expired', updated_at = ?"
            " WHERE id = ? AND status = 'in_progress'",
            (to_ts(now), response_id),
        )

    async def expire_due(self, now: datetime) -> list[QuestionnaireResponse]:
        """Mark unfinished administrations past their expiry as expired; return them."""
        rows = await self._db.write_one(
            "UPDATE questionnaire_responses SET status = 'expired', updated_at = ?"
            f" WHERE status = 'in_progress' AND expires_at <= ? RETURNING {QUESTIONNAIRE_COLUMNS}",
            (to_ts(now), to_ts(now)),
        )
        return [questionnaire_response(row) for row in rows]

    async def completed(
        self, patient_id: int, instrument: str | None = None
    ) -> list[QuestionnaireResponse]:
        """Return a patient's completed administrations, oldest first."""
        rows = await self._db.fetch_all(
            f"SELECT {QUESTIONNAIRE_COLUMNS} FROM questionnaire_responses WHERE patient_id = ?"
            " AND status = 'completed' AND (CAST(? AS TEXT) IS NULL OR instrument = ?)"
            " ORDER BY completed_at, id",
            (patient_id, instrument, instrument),
        )
        return [questionnaire_response(row) for row in rows]

    async def last_started(self, patient_id: int) -> dict[str, datetime]:
        """Return when each instrument was last started for a patient."""
        rows = await self._db.fetch_all(
            "SELECT instrument, max(started_at) AS at FROM questionnaire_responses"
            " WHERE patient_id = ? GROUP BY instrument",
            (patient_id,),
        )
        return {row["instrument"]: from_ts(row["at"]) for row in rows}

    async def plan_candidates(
        self,
        now: datetime,
        *,
        instruments: tuple[str, ...],
        every: timedelta,
        after_infusion: timedelta,
    ) -> list[QuestionnaireCandidate]:
        """Return (patient, instrument) pairs that may be due by now, in one query.

        A coarse filter (the exact moment, at the patient's own time, is the service's):
        the patient is active, has nothing in progress, no check-in sent and unanswered or
        due and unsent, and the instrument was never started, was started `every` ago, or
        an infusion `after_infusion` ago came after its last start.
        """
        if not instruments:
            return []
        marks = ", ".join("(?)" for _ in instruments)
        # A day early: the moment is the patient's time on the due calendar day.
        interval_cutoff = to_ts(now - every + _DAY)
        infusion_cutoff = to_ts(now - after_infusion + _DAY)
        after = int(after_infusion.total_seconds())
        rows = await self._db.fetch_all(
            _PLAN_CANDIDATES.format(marks=marks),
            (
                *instruments,
                interval_cutoff,
                interval_cutoff - after,
                infusion_cutoff,
                interval_cutoff,
                after,
                infusion_cutoff,
                to_ts(now),
            ),
        )
        return [_candidate(row) for row in rows]


def _candidate(row: Row) -> QuestionnaireCandidate:
    return QuestionnaireCandidate(
        patient_id=row["id"],
        chat_id=row["chat_id"],
        timezone=row["timezone"],
        checkin_time=row["checkin_time"],
        enrolled_at=from_ts(row["consent_at"]),
        instrument=row["instrument"],
        last_started=opt_from_ts(row["last_started"]),
        last_infusion=opt_from_ts(row["last_infusion"]),
    )


# Run every dispatcher pass, so each plannable patient (patients_plannable) costs one index
# probe per instrument when nothing is due. The pre-filter in `pairs` lets through a
# superset of the pairs the exact test below keeps: no start after the interval cutoff
# means never started or last started by it; otherwise the latest infusion can only count
# if it is after `last_started - after_infusion`, which is after `interval_cutoff -
# after_infusion`, so that patient has an infusion in the window the uncorrelated IN reads
# once (infusions_given). The exact test and the checks that the patient is free (each a
# probe of a partial index) then run only for what passed.
_PLAN_CANDIDATES = (
    "WITH wanted (instrument) AS (VALUES {marks}),"
    " pairs AS (SELECT p.id, p.chat_id, p.timezone, p.checkin_time, p.consent_at,"
    " w.instrument, (SELECT max(q.started_at) FROM questionnaire_responses q"
    " WHERE q.patient_id = p.id AND q.instrument = w.instrument) AS last_started,"
    " (SELECT max(i.given_at) FROM infusions i WHERE i.patient_id = p.id)"
    " AS last_infusion FROM patients p, wanted w WHERE p.status = 'active'"
    " AND p.chat_id IS NOT NULL AND p.consent_at IS NOT NULL"
    " AND (NOT EXISTS (SELECT 1 FROM questionnaire_responses q"
    "   WHERE q.patient_id = p.id AND q.instrument = w.instrument"
    "   AND q.started_at > ?)"
    "  OR p.id IN (SELECT i.patient_id FROM infusions i"
    "   WHERE i.given_at > ? AND i.given_at <= ?)))"
    " SELECT * FROM pairs WHERE (last_started IS NULL OR last_started <= ?"
    " OR (last_infusion > last_started - ? AND last_infusion <= ?))"
    " AND NOT EXISTS (SELECT 1 FROM questionnaire_responses q"
    "   WHERE q.patient_id = pairs.id AND q.status = 'in_progress')"
    " AND NOT EXISTS (SELECT 1 FROM checkins c"
    "   WHERE c.patient_id = pairs.id AND c.state = 'sent')"
    " AND NOT EXISTS (SELECT 1 FROM checkins c"
    "   WHERE c.patient_id = pairs.id AND c.state = 'pending' AND c.due_at <= ?)"
    " ORDER BY id"
)
