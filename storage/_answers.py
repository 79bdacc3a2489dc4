"""What patients answer: scores, notes, and the history the detector and charts read."""

from __future__ import annotations

from datetime import datetime

from bot.domain.codes import PATIENT_MISSES, AnswerOutcome, CheckinState
from bot.domain.entities import AnswerResult, MoodPoint, Outcome

from ._checkin_rows import CHECKIN_COLUMNS, RETURNING, checkin_from_row
from ._database import Database
from ._time import from_ts, to_ts

_PATIENT_OF_USER = "(SELECT p.id FROM patients p WHERE p.telegram_user_id = ?)"
_ANSWERED = CheckinState.ANSWERED.value
_MISSES = tuple(sorted(reason.value for reason in PATIENT_MISSES))
_MISS_MARKS = ",".join("?" for _ in _MISSES)


class AnswerRepository:
    """Stores answers and notes exactly once per Telegram update, and reads them back."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def answer(
        self,
        checkin_id: int,
        *,
        score: int,
        now: datetime,
        update_id: int | None,
        patient_id: int | None = None,
        user_id: int | None = None,
    ) -> AnswerResult:
        """Store a score on an open check-in of this patient (by id or by Telegram user).

        One statement: the answer, and (by trigger) awaiting the optional note.
        """
        if not 0 <= score <= 10:
            raise ValueError("score out of range")
        if (patient_id is None) == (user_id is None):
            raise ValueError("give exactly one of patient_id and user_id")
        owner = "?" if patient_id is not None else _PATIENT_OF_USER
        owner_param = patient_id if patient_id is not None else user_id
        stored = await self._db.write_one(
            "UPDATE checkins SET state = ?, score = ?, answered_at = ?,"
            " answer_update_id = ?, closed_at = ?"
            f" WHERE id = ? AND state = ? AND patient_id = {owner}"
            " AND NOT EXISTS (SELECT 1 FROM checkins d WHERE d.answer_update_id = ?)"
            f" RETURNING {RETURNING}",
            (
                _ANSWERED,
                score,
                to_ts(now),
                update_id,
                to_ts(now),
                checkin_id,
                CheckinState.SENT,
                owner_param,
                update_id,
            ),
        )
        if stored:
            return AnswerResult(AnswerOutcome.STORED, checkin_from_row(stored[0]))
        return await self._why_not_stored(checkin_id, update_id, patient_id, user_id)

    async def _why_not_stored(
        self, checkin_id: int, update_id: int | None, patient_id: int | None, user_id: int | None
    ) -> AnswerResult:
        if update_id is not None:
            duplicate = await self._db.fetch_one(
                f"SELECT {CHECKIN_COLUMNS} FROM checkins c WHERE c.answer_update_id = ?",
                (update_id,),
            )
            if duplicate is not None:
                return AnswerResult(AnswerOutcome.DUPLICATE, checkin_from_row(duplicate))
        row = await self._db.fetch_one(
            f"SELECT {CHECKIN_COLUMNS}, p.telegram_user_id FROM checkins c"
            " JOIN patients p ON p.id = c.patient_id WHERE c.id = ?",
            (checkin_id,),
        )
        if row is None:
            return AnswerResult(AnswerOutcome.NOT_FOUND, None)
        checkin = checkin_from_row(row)
        mine = (
            checkin.patient_id == patient_id
            if patient_id is not None
            else row["telegram_user_id"] == user_id
        )
        if not mine:
            return AnswerResult(AnswerOutcome.NOT_FOUND, None)
        if checkin.state is CheckinState.ANSWERED:
            return AnswerResult(AnswerOutcome.ALREADY_ANSWERED, checkin)
        return AnswerResult(AnswerOutcome.CLOSED, checkin)

    async def add_note(
        self,
        *,
        patient_id: int,
        checkin_id: int | None,
        text: str,
        now: datetime,
        update_id: int | None,
    ) -> bool:
        """Store a free-text note (and, by trigger, stop awaiting one); False if repeated."""
        inserted = await self._db.write_one(
            "INSERT INTO notes (patient_id, checkin_id, text, created_at, update_id)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING RETURNING id",
            (patient_id, checkin_id, text, to_ts(now), update_id),
        )
        return bool(inserted)

    async def mood_points(self, patient_id: int, *, since: datetime) -> list[MoodPoint]:
        """Return the patient's answered scores since a moment, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT answered_at, score FROM checkins WHERE patient_id = ? AND state = ?"
            " AND answered_at >= ? ORDER BY answered_at, id",
            (patient_id, _ANSWERED, to_ts(since)),
        )
        return [MoodPoint(at=from_ts(row["answered_at"]), score=row["score"]) for row in rows]

    async def outcomes(
        self, patient_id: int, *, since: datetime, limit: int, first_answers: int = 0
    ) -> list[Outcome]:
        """Return answered and unanswered-missed check-ins since a moment, in time order.

        At most `limit` of the latest, plus the first `first_answers` answers since the moment
        (they set a patient's own level). Only misses the patient made count (see
        `CloseReason.patient_missed`): check-ins that could not be sent, may never have
        arrived, or were cancelled are not the patient's doing and are left out.
        """
        closed = (
            "SELECT CASE WHEN state = ? THEN answered_at ELSE due_at END AS at,"
            " score, id FROM checkins WHERE patient_id = ? AND due_at >= ? AND ("
            f" state = ? OR (state = ? AND close_reason IN ({_MISS_MARKS})))"
        )
        params = (
            _ANSWERED,
            patient_id,
            to_ts(since),
            _ANSWERED,
            CheckinState.MISSED,
            *_MISSES,
        )
        rows = await self._db.fetch_all(
            f"SELECT at, score, id FROM ({closed} ORDER BY at DESC, id DESC LIMIT ?) AS latest"
            f" UNION SELECT at, score, id FROM ({closed} AND state = ?"
            "  ORDER BY at, id LIMIT ?) AS earliest"
            " ORDER BY at, id",
            (*params, limit, *params, _ANSWERED, first_answers),
        )
        return [Outcome(at=from_ts(row["at"]), score=row["score"]) for row in rows]

    async def patients_with_misses(self, since: datetime) -> list[int]:
        """Return patients with a check-in they left unanswered, closed since a moment.

        In patient order. Reads only the misses closed since then (checkins_missed, which
        the literal state matches); ordering in SQL would make SQLite walk every check-in
        in patient order instead.
        """
        rows = await self._db.fetch_all(
            "SELECT DISTINCT patient_id FROM checkins WHERE state = 'missed'"
            f" AND close_reason IN ({_MISS_MARKS}) AND closed_at >= ?",
            (*_MISSES, to_ts(since)),
        )
        return sorted(int(row["patient_id"]) for row in rows)

    async def notes_for_patient(self, patient_id: int) -> list[tuple[datetime, str]]:
        """Return a patient's notes, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT created_at, text FROM notes WHERE patient_id = ? ORDER BY created_at, id",
            (patient_id,),
        )
        return [(from_ts(row["created_at"]), row["text"]) for row in rows]
