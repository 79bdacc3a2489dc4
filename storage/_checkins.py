"""Check-ins: planning, dispatch bookkeeping, answers and notes."""

from __future__ import annotations

from datetime import datetime, timedelta

import aiosqlite

from ._database import Database
from ._models import (
    AnswerOutcome,
    AnswerResult,
    Checkin,
    CheckinKind,
    CheckinState,
    Delivery,
    DueCheckin,
    HousekeepingCounts,
    PatientStatus,
)
from ._time import from_ts, opt_from_ts, to_ts

_CHECKIN_COLUMNS = (
    "c.id, c.patient_id, c.infusion_id, c.kind, c.day, c.due_at, c.state, c.reason,"
    " c.attempts, c.next_attempt_at, c.sent_at, c.delivery, c.message_id, c.score,"
    " c.answered_at"
)

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
    async with conn.execute(
        f"SELECT {_CHECKIN_COLUMNS} FROM checkins c WHERE c.id = ?", (checkin_id,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _checkin_from_row(row)


class CheckinRepository:
    """Reads and writes check-ins; every state change is one guarded transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, checkin_id: int) -> Checkin | None:
        """Return a check-in by id."""
        async with self._db.read() as conn:
            return await _fetch(conn, checkin_id)

    async def for_patient(self, patient_id: int) -> list[Checkin]:
        """Return all of a patient's check-ins in due order."""
        async with (
            self._db.read() as conn,
            conn.execute(
                f"SELECT {_CHECKIN_COLUMNS} FROM checkins c WHERE c.patient_id = ?"
                " ORDER BY c.due_at, c.id",
                (patient_id,),
            ) as cur,
        ):
            rows = await cur.fetchall()
        return [_checkin_from_row(row) for row in rows]

    async def pending_planned(self, patient_id: int) -> list[tuple[Checkin, datetime]]:
        """Return pending planned check-ins with the time of the infusion they follow."""
        async with (
            self._db.read() as conn,
            conn.execute(
                f"SELECT {_CHECKIN_COLUMNS}, i.given_at AS infusion_at FROM checkins c"
                " JOIN infusions i ON i.id = c.infusion_id"
                " WHERE c.patient_id = ? AND c.state = ? AND c.kind = ? ORDER BY c.due_at",
                (patient_id, _PENDING, CheckinKind.PLANNED),
            ) as cur,
        ):
            rows = await cur.fetchall()
        return [(_checkin_from_row(row), from_ts(row["infusion_at"])) for row in rows]

    async def open_for_patient(self, patient_id: int) -> Checkin | None:
        """Return the newest sent and unanswered check-in of a patient."""
        async with (
            self._db.read() as conn,
            conn.execute(
                f"SELECT {_CHECKIN_COLUMNS} FROM checkins c WHERE c.patient_id = ?"
                " AND c.state = ? ORDER BY c.due_at DESC, c.id DESC LIMIT 1",
                (patient_id, _SENT),
            ) as cur,
        ):
            row = await cur.fetchone()
        return None if row is None else _checkin_from_row(row)

    async def text_update_seen(self, update_id: int) -> bool:
        """Tell whether a patient message was already stored as an answer or a note."""
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT EXISTS (SELECT 1 FROM checkins WHERE answer_update_id = ?)"
                " OR EXISTS (SELECT 1 FROM notes WHERE update_id = ?)",
                (update_id, update_id),
            ) as cur,
        ):
            row = await cur.fetchone()
        return bool(row and row[0])

    async def has_work(self, now: datetime, answer_window: timedelta) -> bool:
        """Tell cheaply whether a dispatcher pass has anything to do."""
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT EXISTS (SELECT 1 FROM checkins WHERE state = ? AND due_at <= ?)"
                " OR EXISTS (SELECT 1 FROM checkins WHERE state = ? AND due_at <= ?)",
                (_PENDING, to_ts(now), _SENT, to_ts(now - answer_window)),
            ) as cur,
        ):
            row = await cur.fetchone()
        return bool(row and row[0])

    async def housekeeping(
        self, now: datetime, *, send_window: timedelta, answer_window: timedelta
    ) -> HousekeepingCounts:
        """Close unanswered, unsendable, superseded and undeliverable due check-ins."""
        now_ts = to_ts(now)
        async with self._db.write() as conn:
            unanswered = await conn.execute(
                "UPDATE checkins SET state = 'missed', reason = 'no answer', closed_at = ?"
                " WHERE state = 'sent' AND due_at <= ?",
                (now_ts, to_ts(now - answer_window)),
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
                missed_unanswered=unanswered.rowcount,
                missed_not_sent=not_sent.rowcount,
                missed_superseded=superseded.rowcount,
                cancelled=cancelled.rowcount,
            )

    async def claim_due(self, now: datetime, *, limit: int) -> list[DueCheckin]:
        """Mark up to `limit` due check-ins of active patients as sent (unconfirmed), oldest first.

        Claiming before sending is what makes sending at-most-once: a row is sent only by the
        pass that moved it from pending to sent, and an unconfirmed row is never sent again.
        """
        now_ts = to_ts(now)
        async with self._db.write() as conn:
            async with conn.execute(
                f"SELECT {_CHECKIN_COLUMNS}, p.chat_id, p.code FROM checkins c"
                " JOIN patients p ON p.id = c.patient_id"
                " WHERE c.state = 'pending' AND c.due_at <= ?"
                " AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?)"
                " AND p.status = ? AND p.chat_id IS NOT NULL"
                " ORDER BY c.due_at, c.id LIMIT ?",
                (now_ts, now_ts, PatientStatus.ACTIVE, limit),
            ) as cur:
                rows = await cur.fetchall()
            claimed: list[DueCheckin] = []
            for row in rows:
                await conn.execute(
                    "UPDATE checkins SET state = 'missed', closed_at = ?,"
                    " reason = 'no answer before the next check-in'"
                    " WHERE patient_id = ? AND state = 'sent' AND id != ?",
                    (now_ts, row["patient_id"], row["id"]),
                )
                await conn.execute(
                    "UPDATE checkins SET state = 'sent', delivery = 'unconfirmed', sent_at = ?,"
                    " attempts = attempts + 1, reason = NULL WHERE id = ? AND state = 'pending'",
                    (now_ts, row["id"]),
                )
                checkin = await _fetch(conn, row["id"])
                assert checkin is not None
                claimed.append(DueCheckin(checkin, row["chat_id"], row["code"]))
        return claimed

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
        """Return a check-in that certainly was not delivered to pending, to retry later."""
        async with self._db.write() as conn:
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
        """Create an extra check-in claimed for immediate sending; None for a repeated update."""
        async with self._db.write() as conn:
            if update_id is not None:
                async with conn.execute(
                    "SELECT 1 FROM checkins WHERE created_update_id = ?", (update_id,)
                ) as cur:
                    if await cur.fetchone() is not None:
                        return None
            cursor = await conn.execute(
                "INSERT INTO checkins (patient_id, kind, due_at, state, attempts, sent_at,"
                " delivery, created_update_id) VALUES (?, 'extra', ?, 'sent', 1, ?,"
                " 'unconfirmed', ?)",
                (patient_id, to_ts(now), to_ts(now), update_id),
            )
            assert cursor.lastrowid is not None
            checkin = await _fetch(conn, cursor.lastrowid)
        assert checkin is not None
        return checkin

    async def answer(
        self,
        checkin_id: int,
        *,
        patient_id: int,
        score: int,
        now: datetime,
        update_id: int | None,
    ) -> AnswerResult:
        """Store a score on an open check-in of this patient and await an optional note."""
        if not 0 <= score <= 10:
            raise ValueError("score out of range")
        async with self._db.write() as conn:
            if update_id is not None:
                async with conn.execute(
                    "SELECT id FROM checkins WHERE answer_update_id = ?", (update_id,)
                ) as cur:
                    duplicate = await cur.fetchone()
                if duplicate is not None:
                    return AnswerResult(
                        AnswerOutcome.DUPLICATE, await _fetch(conn, duplicate["id"])
                    )
            checkin = await _fetch(conn, checkin_id)
            if checkin is None or checkin.patient_id != patient_id:
                return AnswerResult(AnswerOutcome.NOT_FOUND, None)
            if checkin.state is CheckinState.ANSWERED:
                return AnswerResult(AnswerOutcome.ALREADY_ANSWERED, checkin)
            if checkin.state is not CheckinState.SENT:
                return AnswerResult(AnswerOutcome.CLOSED, checkin)
            await conn.execute(
                "UPDATE checkins SET state = 'answered', score = ?, answered_at = ?,"
                " answer_update_id = ?, closed_at = ? WHERE id = ?",
                (score, to_ts(now), update_id, to_ts(now), checkin_id),
            )
            await conn.execute(
                "UPDATE patients SET awaiting_note_checkin_id = ? WHERE id = ?",
                (checkin_id, patient_id),
            )
            stored = await _fetch(conn, checkin_id)
        return AnswerResult(AnswerOutcome.STORED, stored)

    async def add_note(
        self,
        *,
        patient_id: int,
        checkin_id: int | None,
        text: str,
        now: datetime,
        update_id: int | None,
    ) -> bool:
        """Store a free-text note and stop awaiting one; False for a repeated update."""
        async with self._db.write() as conn:
            if update_id is not None:
                async with conn.execute(
                    "SELECT 1 FROM notes WHERE update_id = ?", (update_id,)
                ) as cur:
                    if await cur.fetchone() is not None:
                        return False
            await conn.execute(
                "INSERT INTO notes (patient_id, checkin_id, text, created_at, update_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (patient_id, checkin_id, text, to_ts(now), update_id),
            )
            await conn.execute(
                "UPDATE patients SET awaiting_note_checkin_id = NULL WHERE id = ?", (patient_id,)
            )
        return True

    async def notes_for_patient(self, patient_id: int) -> list[tuple[datetime, str]]:
        """Return a patient's notes, oldest first."""
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT created_at, text FROM notes WHERE patient_id = ? ORDER BY created_at, id",
                (patient_id,),
            ) as cur,
        ):
            rows = await cur.fetchall()
        return [(from_ts(row["created_at"]), row["text"]) for row in rows]
