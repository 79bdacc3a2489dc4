"""Check-ins: planning, dispatch bookkeeping, answers and notes."""

from __future__ import annotations

from datetime import datetime, timedelta

import aiosqlite

from bot.domain.entities import (
    AnswerOutcome,
    AnswerResult,
    Checkin,
    CheckinKind,
    CheckinState,
    Delivery,
    DueCheckin,
    HousekeepingCounts,
    MoodPoint,
    Outcome,
    PatientStatus,
)

from ._database import Database
from ._time import from_ts, opt_from_ts, to_ts

_CHECKIN_COLUMNS = (
    "c.id, c.patient_id, c.infusion_id, c.kind, c.day, c.due_at, c.state, c.reason,"
    " c.attempts, c.next_attempt_at, c.sent_at, c.delivery, c.message_id, c.score,"
    " c.answered_at"
)

_RETURNING = _CHECKIN_COLUMNS.replace("c.", "")

_PATIENT_OF_USER = "(SELECT p.id FROM patients p WHERE p.telegram_user_id = ?)"

_PENDING = CheckinState.PENDING.value
_SENT = CheckinState.SENT.value


def _checkin_from_row(row: aiosqlite.Row) -> Checkin:
    return Checkin(
        id=row["id"],
        patient_id=row["patient_id"],
        infusion_id=row["infusion_id"],
        kind=CheckinKind(row["kind"]),
        day=row["day"],
        due_at=from_ts(row["due_at"]),
        state=CheckinState(row["state"]),
        reason=row["reason"],
        attempts=row["attempts"],
        next_attempt_at=opt_from_ts(row["next_attempt_at"]),
        sent_at=opt_from_ts(row["sent_at"]),
        delivery=None if row["delivery"] is None else Delivery(row["delivery"]),
        message_id=row["message_id"],
        score=row["score"],
        answered_at=opt_from_ts(row["answered_at"]),
    )


async def _fetch(conn: aiosqlite.Connection, checkin_id: int) -> Checkin | None:
    rows = list(
        await conn.execute_fetchall(
            f"SELECT {_CHECKIN_COLUMNS} FROM checkins c WHERE c.id = ?", (checkin_id,)
        )
    )
    return _checkin_from_row(rows[0]) if rows else None


class CheckinRepository:
    """Reads and writes check-ins; every state change is one guarded transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, checkin_id: int) -> Checkin | None:
        """Return a check-in by id."""
        row = await self._db.fetch_one(
            f"SELECT {_CHECKIN_COLUMNS} FROM checkins c WHERE c.id = ?", (checkin_id,)
        )
        return None if row is None else _checkin_from_row(row)

    async def for_patient(self, patient_id: int) -> list[Checkin]:
        """Return all of a patient's check-ins in due order."""
        rows = await self._db.fetch_all(
            f"SELECT {_CHECKIN_COLUMNS} FROM checkins c WHERE c.patient_id = ?"
            " ORDER BY c.due_at, c.id",
            (patient_id,),
        )
        return [_checkin_from_row(row) for row in rows]

    async def pending_planned(self, patient_id: int) -> list[tuple[Checkin, datetime]]:
        """Return pending planned check-ins with the time of the infusion they follow."""
        rows = await self._db.fetch_all(
            f"SELECT {_CHECKIN_COLUMNS}, i.given_at AS infusion_at FROM checkins c"
            " JOIN infusions i ON i.id = c.infusion_id"
            " WHERE c.patient_id = ? AND c.state = ? AND c.kind = ? ORDER BY c.due_at",
            (patient_id, _PENDING, CheckinKind.PLANNED),
        )
        return [(_checkin_from_row(row), from_ts(row["infusion_at"])) for row in rows]

    async def open_for_patient(self, patient_id: int) -> Checkin | None:
        """Return the newest sent and unanswered check-in of a patient."""
        row = await self._db.fetch_one(
            f"SELECT {_CHECKIN_COLUMNS} FROM checkins c WHERE c.patient_id = ?"
            " AND c.state = ? ORDER BY c.due_at DESC, c.id DESC LIMIT 1",
            (patient_id, _SENT),
        )
        return None if row is None else _checkin_from_row(row)

    async def created_by_update(self, update_id: int) -> bool:
        """Return whether an extra check-in was already created for this Telegram update."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM checkins WHERE created_update_id = ?", (update_id,)
        )
        return row is not None

    async def has_work(self, now: datetime, answer_window: timedelta) -> bool:
        """Tell cheaply whether a dispatcher pass has anything to do."""
        row = await self._db.fetch_one(
            "SELECT EXISTS (SELECT 1 FROM checkins WHERE state = ? AND due_at <= ?)"
            " OR EXISTS (SELECT 1 FROM checkins WHERE state = ? AND due_at <= ?)",
            (_PENDING, to_ts(now), _SENT, to_ts(now - answer_window)),
        )
        return bool(row and row[0])

    async def housekeeping(
        self, now: datetime, *, send_window: timedelta, answer_window: timedelta
    ) -> HousekeepingCounts:
        """Close unanswered, unsendable, superseded and undeliverable due check-ins."""
        now_ts = to_ts(now)
        async with self._db.write() as conn:
            unanswered = list(
                await conn.execute_fetchall(
                    "UPDATE checkins SET state = 'missed', closed_at = ?, reason = CASE"
                    "   WHEN delivery = 'uncertain' THEN 'unanswered; delivery uncertain'"
                    "   ELSE 'no answer' END"
                    " WHERE state = 'sent' AND due_at <= ? RETURNING patient_id",
                    (now_ts, to_ts(now - answer_window)),
                )
            )
            # Patients who cannot receive anything: their due check-ins are cancelled.
            cancelled = await conn.execute(
                "UPDATE checkins SET state = 'cancelled', closed_at = ?,"
                " reason = 'patient ' || (SELECT replace(p.status, '_', ' ') FROM patients p"
                "   WHERE p.id = checkins.patient_id)"
                " WHERE state = 'pending' AND due_at <= ? AND patient_id IN ("
                "   SELECT id FROM patients WHERE status != ?)",
                (now_ts, now_ts, PatientStatus.ACTIVE),
            )
            not_sent = await conn.execute(
                "UPDATE checkins SET state = 'missed', closed_at = ?,"
                " reason = 'not sent within the send window'"
                "   || coalesce(' (last error: ' || reason || ')', '')"
                " WHERE state = 'pending' AND due_at <= ?",
                (now_ts, to_ts(now - send_window)),
            )
            superseded = await conn.execute(
                "UPDATE checkins SET state = 'missed', closed_at = ?,"
                " reason = 'superseded by a newer due check-in'"
                " WHERE state = 'pending' AND due_at <= ? AND EXISTS ("
                "   SELECT 1 FROM checkins newer WHERE newer.patient_id = checkins.patient_id"
                "   AND newer.state = 'pending' AND newer.due_at <= ?"
                "   AND (newer.due_at > checkins.due_at"
                "        OR (newer.due_at = checkins.due_at AND newer.id > checkins.id)))",
                (now_ts, now_ts, now_ts),
            )
            return HousekeepingCounts(
                missed_unanswered=len(unanswered),
                missed_not_sent=not_sent.rowcount,
                missed_superseded=superseded.rowcount,
                cancelled=cancelled.rowcount,
                patients_with_misses=frozenset(row["patient_id"] for row in unanswered),
            )

    async def claim_due(self, now: datetime, *, limit: int) -> list[DueCheckin]:
        """Mark up to `limit` due check-ins of active patients as sent (unconfirmed), oldest first.

        Claiming before sending is what makes sending at-most-once: a row is sent only by the
        pass that moved it from pending to sent, and an unconfirmed row is never sent again.
        """
        now_ts = to_ts(now)
        async with self._db.write() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT c.id, c.patient_id, p.chat_id, p.code FROM checkins c"
                    " JOIN patients p ON p.id = c.patient_id"
                    " WHERE c.state = 'pending' AND c.due_at <= ?"
                    " AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?)"
                    " AND p.status = ? AND p.chat_id IS NOT NULL"
                    " ORDER BY c.due_at, c.id LIMIT ?",
                    (now_ts, now_ts, PatientStatus.ACTIVE, limit),
                )
            )
            if not rows:
                return []
            ids = [row["id"] for row in rows]
            marks = ",".join("?" for _ in ids)
            patient_ids = sorted({row["patient_id"] for row in rows})
            patient_marks = ",".join("?" for _ in patient_ids)
            superseded = list(
                await conn.execute_fetchall(
                    "UPDATE checkins SET state = 'missed', closed_at = ?, reason = CASE"
                    "   WHEN kind = 'extra' THEN 'extra check-in left open'"
                    "   WHEN delivery = 'uncertain' THEN 'unanswered; delivery uncertain'"
                    "   ELSE 'no answer before the next check-in' END"
                    f" WHERE state = 'sent' AND patient_id IN ({patient_marks})"
                    f" AND id NOT IN ({marks}) RETURNING patient_id",
                    (now_ts, *patient_ids, *ids),
                )
            )
            # A new check-in supersedes the offer of a note about an earlier one.
            await conn.execute(
                "UPDATE patients SET awaiting_note_checkin_id = NULL"
                f" WHERE id IN ({patient_marks}) AND awaiting_note_checkin_id IS NOT NULL",
                patient_ids,
            )
            closed_for = {row["patient_id"] for row in superseded}
            claimed = list(
                await conn.execute_fetchall(
                    "UPDATE checkins AS c SET state = 'sent', delivery = 'unconfirmed',"
                    " sent_at = ?, attempts = attempts + 1, reason = NULL"
                    f" WHERE c.id IN ({marks}) AND c.state = 'pending'"
                    f" RETURNING {_RETURNING}",
                    (now_ts, *ids),
                )
            )
        where = {row["id"]: (row["chat_id"], row["code"]) for row in rows}
        result = [
            DueCheckin(
                checkin, *where[checkin.id], closed_previous=checkin.patient_id in closed_for
            )
            for checkin in map(_checkin_from_row, claimed)
        ]
        result.sort(key=lambda item: (item.checkin.due_at, item.checkin.id))
        return result

    async def confirm_sent(self, checkin_id: int, *, message_id: int) -> None:
        """Record that Telegram accepted the check-in message."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE checkins SET delivery = 'confirmed', message_id = ? WHERE id = ?",
                (message_id, checkin_id),
            )

    async def mark_uncertain(self, checkin_id: int, *, reason: str) -> None:
        """Keep a send whose outcome is unknown as sent, flagged uncertain; it is never resent."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE checkins SET delivery = 'uncertain', reason = ?"
                " WHERE id = ? AND delivery = 'unconfirmed'",
                (reason, checkin_id),
            )

    async def release(self, checkin_id: int, *, retry_at: datetime, reason: str) -> None:
        """Return a check-in that certainly was not delivered to pending, to retry later.

        The check-in its claim closed as superseded is open again: the patient can still
        answer it, since nothing newer reached them.
        """
        async with self._db.write() as conn:
            await _reopen_superseded(conn, checkin_id)
            await conn.execute(
                "UPDATE checkins SET state = 'pending', delivery = NULL, sent_at = NULL,"
                " next_attempt_at = ?, reason = ? WHERE id = ? AND state = 'sent'"
                " AND delivery = 'unconfirmed'",
                (to_ts(retry_at), reason, checkin_id),
            )

    async def fail(
        self,
        checkin_id: int,
        *,
        reason: str,
        now: datetime,
        patient_status: PatientStatus | None = None,
    ) -> None:
        """Record a check-in that can never be delivered, optionally changing the patient."""
        async with self._db.write() as conn:
            await _reopen_superseded(conn, checkin_id)
            await conn.execute(
                "UPDATE checkins SET state = 'failed', delivery = NULL, reason = ?,"
                " closed_at = ? WHERE id = ? AND state = 'sent'",
                (reason, to_ts(now), checkin_id),
            )
            if patient_status is not None:
                await conn.execute(
                    "UPDATE patients SET status = ? WHERE id = (SELECT patient_id FROM checkins"
                    " WHERE id = ?) AND status = ?",
                    (patient_status, checkin_id, PatientStatus.ACTIVE),
                )

    async def recover_unconfirmed(self) -> int:
        """At start-up, flag sends cut short by a stop or crash as uncertain; never resend."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE checkins SET delivery = 'uncertain',"
                " reason = 'process stopped before the send was confirmed'"
                " WHERE state = 'sent' AND delivery = 'unconfirmed'"
            )
            return cursor.rowcount

    async def create_extra(
        self, patient_id: int, *, now: datetime, update_id: int | None
    ) -> Checkin | None:
        """Create an extra check-in claimed for immediate sending.

        None for a repeated update, or when the patient already has an open check-in (the
        dispatcher may have sent one since the caller looked).
        """
        async with self._db.write() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "INSERT INTO checkins (patient_id, kind, due_at, state, attempts, sent_at,"
                    " delivery, created_update_id) SELECT ?, 'extra', ?, 'sent', 1, ?,"
                    " 'unconfirmed', ? WHERE NOT EXISTS (SELECT 1 FROM checkins"
                    " WHERE patient_id = ? AND state = 'sent')"
                    " ON CONFLICT (created_update_id) DO NOTHING"
                    f" RETURNING {_RETURNING}",
                    (patient_id, to_ts(now), to_ts(now), update_id, patient_id),
                )
            )
            if rows:
                # As with a planned check-in: a new one supersedes the offer of a note about
                # an earlier one, so text now answers this one.
                await conn.execute(
                    "UPDATE patients SET awaiting_note_checkin_id = NULL WHERE id = ?",
                    (patient_id,),
                )
        return _checkin_from_row(rows[0]) if rows else None

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
            "UPDATE checkins SET state = 'answered', score = ?, answered_at = ?,"
            " answer_update_id = ?, closed_at = ?"
            f" WHERE id = ? AND state = 'sent' AND patient_id = {owner}"
            " AND NOT EXISTS (SELECT 1 FROM checkins d WHERE d.answer_update_id = ?)"
            f" RETURNING {_RETURNING}",
            (score, to_ts(now), update_id, to_ts(now), checkin_id, owner_param, update_id),
        )
        if stored:
            return AnswerResult(AnswerOutcome.STORED, _checkin_from_row(stored[0]))
        if update_id is not None:
            duplicate = await self._db.fetch_one(
                f"SELECT {_CHECKIN_COLUMNS} FROM checkins c WHERE c.answer_update_id = ?",
                (update_id,),
            )
            if duplicate is not None:
                return AnswerResult(AnswerOutcome.DUPLICATE, _checkin_from_row(duplicate))
        row = await self._db.fetch_one(
            f"SELECT {_CHECKIN_COLUMNS}, p.telegram_user_id FROM checkins c"
            " JOIN patients p ON p.id = c.patient_id WHERE c.id = ?",
            (checkin_id,),
        )
        if row is None:
            return AnswerResult(AnswerOutcome.NOT_FOUND, None)
        checkin = _checkin_from_row(row)
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
            "SELECT answered_at, score FROM checkins WHERE patient_id = ? AND state = 'answered'"
            " AND answered_at >= ? ORDER BY answered_at, id",
            (patient_id, to_ts(since)),
        )
        return [MoodPoint(at=from_ts(row["answered_at"]), score=row["score"]) for row in rows]

    async def outcomes(
        self, patient_id: int, *, since: datetime, limit: int, first_answers: int = 0
    ) -> list[Outcome]:
        """Return answered and unanswered-missed check-ins since a moment, in time order.

        At most `limit` of the latest, plus the first `first_answers` answers since the moment
        (they set a patient's own level). Check-ins missed because they could not be sent,
        and cancelled ones, are not the patient's doing and are left out.
        """
        closed = (
            "SELECT CASE WHEN state = 'answered' THEN answered_at ELSE due_at END AS at,"
            " score, id FROM checkins WHERE patient_id = ? AND due_at >= ? AND ("
            " state = 'answered' OR (state = 'missed' AND reason LIKE 'no answer%'))"
        )
        rows = await self._db.fetch_all(
            f"SELECT at, score, id FROM ({closed} ORDER BY at DESC, id DESC LIMIT ?)"
            f" UNION SELECT at, score, id FROM ({closed} AND state = 'answered'"
            "  ORDER BY at, id LIMIT ?)"
            " ORDER BY at, id",
            (patient_id, to_ts(since), limit, patient_id, to_ts(since), first_answers),
        )
        return [Outcome(at=from_ts(row["at"]), score=row["score"]) for row in rows]

    async def patients_with_misses(self, since: datetime) -> list[int]:
        """Return patients with a check-in closed as unanswered since a moment."""
        rows = await self._db.fetch_all(
            "SELECT DISTINCT patient_id FROM checkins WHERE state = 'missed'"
            " AND reason LIKE 'no answer%' AND closed_at >= ?",
            (to_ts(since),),
        )
        return [int(row["patient_id"]) for row in rows]

    async def notes_for_patient(self, patient_id: int) -> list[tuple[datetime, str]]:
        """Return a patient's notes, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT created_at, text FROM notes WHERE patient_id = ? ORDER BY created_at, id",
            (patient_id,),
        )
        return [(from_ts(row["created_at"]), row["text"]) for row in rows]


async def _reopen_superseded(conn: aiosqlite.Connection, checkin_id: int) -> None:
    """Reopen what claiming this (still unconfirmed) check-in closed as superseded.

    Claiming closes the patient's open check-in at the claim's `sent_at`; when the new one
    certainly did not go out, that closing is undone (unless it was itself uncertain).
    """
    await conn.execute(
        "UPDATE checkins AS old SET state = 'sent', closed_at = NULL, reason = NULL"
        " FROM checkins AS new"
        " WHERE new.id = ? AND new.state = 'sent' AND new.delivery = 'unconfirmed'"
        # Only the dispatcher's claims close others (an extra is refused while one is open),
        # and never so as to leave two open.
        " AND new.kind = 'planned'"
        " AND old.patient_id = new.patient_id AND old.id != new.id"
        " AND old.state = 'missed' AND old.closed_at = new.sent_at"
        " AND old.reason IN ('no answer before the next check-in', 'extra check-in left open')"
        " AND NOT EXISTS (SELECT 1 FROM checkins other WHERE other.patient_id = new.patient_id"
        "   AND other.state = 'sent' AND other.id != new.id)",
        (checkin_id,),
    )
