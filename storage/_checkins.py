"""Check-ins through dispatch: planned rows, claims, confirmations and closings."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from bot.domain.codes import (
    CheckinKind,
    CheckinState,
    CloseReason,
    Delivery,
    DeliveryProblem,
    PatientStatus,
)
from bot.domain.entities import Checkin, DueCheckin, HousekeepingCounts

from ._checkin_rows import CHECKIN_COLUMNS, RETURNING, checkin_from_row
from ._database import Database, Transaction
from ._time import from_ts, to_ts

_PENDING = CheckinState.PENDING.value
_SENT = CheckinState.SENT.value
_MISSED = CheckinState.MISSED.value
# Hot-path queries name the state as a literal, as the partial indexes do: SQLite uses a
# partial index only when the query's WHERE contains the index's own terms. (A bound
# parameter matches only by recompiling the statement for the value bound, on every run.)
# tests/storage/test_query_plans.py checks the plans.
# The reasons a claim closes the patient's open check-in with, which a failed send undoes.
_REOPENABLE = (CloseReason.NO_ANSWER_BEFORE_NEXT.value, CloseReason.EXTRA_LEFT_OPEN.value)


class CheckinRepository:
    """Reads and writes check-ins; every state change is one guarded transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, checkin_id: int) -> Checkin | None:
        """Return a check-in by id."""
        row = await self._db.fetch_one(
            f"SELECT {CHECKIN_COLUMNS} FROM checkins c WHERE c.id = ?", (checkin_id,)
        )
        return None if row is None else checkin_from_row(row)

    async def for_patient(self, patient_id: int) -> list[Checkin]:
        """Return all of a patient's check-ins in due order."""
        rows = await self._db.fetch_all(
            f"SELECT {CHECKIN_COLUMNS} FROM checkins c WHERE c.patient_id = ?"
            " ORDER BY c.due_at, c.id",
            (patient_id,),
        )
        return [checkin_from_row(row) for row in rows]

    async def pending_planned(self, patient_id: int) -> list[tuple[Checkin, datetime]]:
        """Return pending planned check-ins with the time of the infusion they follow."""
        rows = await self._db.fetch_all(
            f"SELECT {CHECKIN_COLUMNS}, i.given_at AS infusion_at FROM checkins c"
            " JOIN infusions i ON i.id = c.infusion_id"
            " WHERE c.patient_id = ? AND c.state = ? AND c.kind = ? ORDER BY c.due_at",
            (patient_id, _PENDING, CheckinKind.PLANNED),
        )
        return [(checkin_from_row(row), from_ts(row["infusion_at"])) for row in rows]

    async def open_for_patient(self, patient_id: int) -> Checkin | None:
        """Return the newest sent and unanswered check-in of a patient."""
        row = await self._db.fetch_one(
            f"SELECT {CHECKIN_COLUMNS} FROM checkins c WHERE c.patient_id = ?"
            " AND c.state = 'sent' ORDER BY c.due_at DESC, c.id DESC LIMIT 1",
            (patient_id,),
        )
        return None if row is None else checkin_from_row(row)

    async def next_planned_due(self, patient_id: int, *, after: datetime) -> datetime | None:
        """Return when the patient's next planned (not adaptive) check-in is due."""
        row = await self._db.fetch_one(
            "SELECT min(due_at) FROM checkins WHERE patient_id = ? AND state = ? AND kind = ?"
            " AND adaptive = 0 AND due_at > ?",
            (patient_id, _PENDING, CheckinKind.PLANNED, to_ts(after)),
        )
        return None if row is None or row[0] is None else from_ts(row[0])

    async def adaptive_open(self, patient_id: int) -> Checkin | None:
        """Return the patient's adaptive check-in still pending or open, if any."""
        row = await self._db.fetch_one(
            f"SELECT {CHECKIN_COLUMNS} FROM checkins c WHERE c.patient_id = ? AND c.adaptive = 1"
            " AND c.state IN ('pending', 'sent') ORDER BY c.due_at LIMIT 1",
            (patient_id,),
        )
        return None if row is None else checkin_from_row(row)

    async def plan_adaptive(
        self, patient_id: int, *, due_at: datetime, infusion_id: int
    ) -> Checkin | None:
        """Plan one adaptive check-in; None if one is already pending or open."""
        rows = await self._db.write_one(
            "INSERT INTO checkins (patient_id, infusion_id, kind, due_at, state, adaptive)"
            " SELECT ?, ?, ?, ?, ?, 1 WHERE NOT EXISTS (SELECT 1 FROM checkins"
            "   WHERE patient_id = ? AND adaptive = 1 AND state IN ('pending', 'sent'))"
            f" RETURNING {RETURNING}",
            (patient_id, infusion_id, CheckinKind.PLANNED, to_ts(due_at), _PENDING, patient_id),
        )
        return checkin_from_row(rows[0]) if rows else None

    async def created_by_update(self, update_id: int) -> bool:
        """Return whether an extra check-in was already created for this Telegram update."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM checkins WHERE created_update_id = ?", (update_id,)
        )
        return row is not None

    async def has_work(self, now: datetime, answer_window: timedelta) -> bool:
        """Tell cheaply whether a dispatcher pass has anything to do."""
        row = await self._db.fetch_one(
            "SELECT EXISTS (SELECT 1 FROM checkins WHERE state = 'pending' AND due_at <= ?)"
            " OR EXISTS (SELECT 1 FROM checkins WHERE state = 'sent' AND due_at <= ?)",
            (to_ts(now), to_ts(now - answer_window)),
        )
        return bool(row and row[0])

    async def housekeeping(
        self, now: datetime, *, send_window: timedelta, answer_window: timedelta
    ) -> HousekeepingCounts:
        """Close unanswered, unsendable, superseded and undeliverable due check-ins."""
        now_ts = to_ts(now)
        async with self._db.write() as conn:
            unanswered = list(
                await conn.fetch_all(
                    "UPDATE checkins SET state = ?, closed_at = ?,"
                    " close_reason = CASE WHEN delivery = ? THEN ? ELSE ? END"
                    " WHERE state = 'sent' AND due_at <= ? RETURNING patient_id",
                    (
                        _MISSED,
                        now_ts,
                        Delivery.UNCERTAIN,
                        CloseReason.UNANSWERED_UNCERTAIN,
                        CloseReason.NO_ANSWER,
                        to_ts(now - answer_window),
                    ),
                )
            )
            # Patients who cannot receive anything: their due check-ins are cancelled. Only
            # the due ones are visited (checkins_pending_due), each patient by primary key.
            cancelled = await conn.execute(
                "UPDATE checkins SET state = ?, closed_at = ?,"
                " close_reason = 'patient_' || (SELECT p.status FROM patients p"
                "   WHERE p.id = checkins.patient_id)"
                " WHERE state = 'pending' AND due_at <= ? AND EXISTS ("
                "   SELECT 1 FROM patients p WHERE p.id = checkins.patient_id AND p.status != ?)",
                (CheckinState.CANCELLED, now_ts, now_ts, PatientStatus.ACTIVE),
            )
            not_sent = await conn.execute(
                "UPDATE checkins SET state = ?, closed_at = ?, close_reason = ?"
                " WHERE state = 'pending' AND due_at <= ?",
                (_MISSED, now_ts, CloseReason.NOT_SENT_IN_WINDOW, to_ts(now - send_window)),
            )
            superseded = await conn.execute(
                "UPDATE checkins SET state = ?, closed_at = ?, close_reason = ?"
                " WHERE state = 'pending' AND due_at <= ? AND EXISTS ("
                "   SELECT 1 FROM checkins newer WHERE newer.patient_id = checkins.patient_id"
                "   AND newer.state = 'pending' AND newer.due_at <= ?"
                "   AND (newer.due_at > checkins.due_at"
                "        OR (newer.due_at = checkins.due_at AND newer.id > checkins.id)))",
                (_MISSED, now_ts, CloseReason.SUPERSEDED, now_ts, now_ts),
            )
            return HousekeepingCounts(
                missed_unanswered=len(unanswered),
                missed_not_sent=not_sent,
                missed_superseded=superseded,
                cancelled=cancelled,
                patients_with_misses=frozenset(row["patient_id"] for row in unanswered),
            )

    async def claim_due(
        self, now: datetime, *, limit: int, by: int | None = None
    ) -> list[DueCheckin]:
        """Mark up to `limit` due check-ins of active patients as sent (unconfirmed), oldest first.

        Claiming before sending is what makes sending at-most-once: a row is sent only by the
        pass that moved it from pending to sent, and an unconfirmed row is never sent again.
        Claiming one closes the patient's earlier open check-in, if any. `by` is the
        claiming instance: its unconfirmed sends are its own while it lives.
        """
        now_ts = to_ts(now)
        async with self._db.write() as conn:
            rows = list(
                await conn.fetch_all(
                    "SELECT c.id, c.patient_id, p.chat_id, p.code FROM checkins c"
                    " JOIN patients p ON p.id = c.patient_id"
                    " WHERE c.state = 'pending' AND c.due_at <= ?"
                    " AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?)"
                    " AND p.status = ? AND p.chat_id IS NOT NULL"
                    f" ORDER BY c.due_at, c.id LIMIT ?{self._db.skip_locked('c')}",
                    (now_ts, now_ts, PatientStatus.ACTIVE, limit),
                )
            )
            if not rows:
                return []
            ids = [row["id"] for row in rows]
            patient_ids = sorted({row["patient_id"] for row in rows})
            closed_for = await _close_open_before_claim(conn, now_ts, ids, patient_ids)
            marks = ",".join("?" for _ in ids)
            claimed = list(
                await conn.fetch_all(
                    "UPDATE checkins AS c SET state = ?, delivery = ?, sent_at = ?,"
                    " attempts = attempts + 1, last_error = NULL, claimed_by = ?"
                    f" WHERE c.id IN ({marks}) AND c.state = ?"
                    f" RETURNING {RETURNING}",
                    (_SENT, Delivery.UNCONFIRMED, now_ts, by, *ids, _PENDING),
                )
            )
        where = {row["id"]: (row["chat_id"], row["code"]) for row in rows}
        result = [
            DueCheckin(
                checkin, *where[checkin.id], closed_previous=checkin.patient_id in closed_for
            )
            for checkin in map(checkin_from_row, claimed)
        ]
        result.sort(key=lambda item: (item.checkin.due_at, item.checkin.id))
        return result

    async def confirm_sent(self, checkin_id: int, *, message_id: int) -> None:
        """Record that Telegram accepted the check-in message."""
        await self._db.write_one(
            "UPDATE checkins SET delivery = ?, message_id = ? WHERE id = ?",
            (Delivery.CONFIRMED, message_id, checkin_id),
        )

    async def mark_uncertain(self, checkin_id: int, *, problem: DeliveryProblem) -> None:
        """Keep a send whose outcome is unknown as sent, flagged uncertain; it is never resent."""
        await self._db.write_one(
            "UPDATE checkins SET delivery = ?, last_error = ? WHERE id = ? AND delivery = ?",
            (Delivery.UNCERTAIN, problem, checkin_id, Delivery.UNCONFIRMED),
        )

    async def release(
        self, checkin_id: int, *, retry_at: datetime, problem: DeliveryProblem
    ) -> None:
        """Return a check-in that certainly was not delivered to pending, to retry later.

        The check-in its claim closed as superseded is open again: the patient can still
        answer it, since nothing newer reached them.
        """
        async with self._db.write() as conn:
            await _reopen_superseded(conn, checkin_id)
            await conn.execute(
                "UPDATE checkins SET state = ?, delivery = NULL, sent_at = NULL,"
                " next_attempt_at = ?, last_error = ? WHERE id = ? AND state = ?"
                " AND delivery = ?",
                (_PENDING, to_ts(retry_at), problem, checkin_id, _SENT, Delivery.UNCONFIRMED),
            )

    async def fail(
        self,
        checkin_id: int,
        *,
        problem: DeliveryProblem,
        now: datetime,
        patient_status: PatientStatus | None = None,
    ) -> None:
        """Record a check-in whose send was refused, optionally changing the patient."""
        async with self._db.write() as conn:
            await _reopen_superseded(conn, checkin_id)
            await conn.execute(
                "UPDATE checkins SET state = ?, delivery = NULL, close_reason = ?,"
                " last_error = ?, closed_at = ? WHERE id = ? AND state = ?",
                (
                    CheckinState.FAILED,
                    CloseReason.SEND_FAILED,
                    problem,
                    to_ts(now),
                    checkin_id,
                    _SENT,
                ),
            )
            if patient_status is not None:
                await conn.execute(
                    "UPDATE patients SET status = ?, status_changed_at = ? WHERE id = ("
                    "SELECT patient_id FROM checkins WHERE id = ?) AND status = ?",
                    (patient_status, to_ts(now), checkin_id, PatientStatus.ACTIVE),
                )

    async def recover_unconfirmed(self, *, alive: Collection[int] = ()) -> int:
        """Flag as uncertain the sends a stop or crash cut short; they are never resent.

        Only the claims of instances not `alive` are taken as cut short: a live instance
        is still waiting for Telegram's answer to its own. Cheap when there is nothing to
        do (one read of the unconfirmed sends' claimants, by index), so it can run often.
        """
        claimants = await self._db.fetch_all(
            "SELECT DISTINCT claimed_by FROM checkins"
            " WHERE delivery = 'unconfirmed' AND state = 'sent'"
        )
        living = set(alive)
        if all(row[0] is not None and row[0] in living for row in claimants):
            return 0
        keep = ",".join("?" for _ in living)
        not_alive = f" AND (claimed_by IS NULL OR claimed_by NOT IN ({keep}))" if living else ""
        rows = await self._db.write_one(
            "UPDATE checkins SET delivery = ?, last_error = ?"
            f" WHERE delivery = 'unconfirmed' AND state = 'sent'{not_alive} RETURNING id",
            (Delivery.UNCERTAIN, DeliveryProblem.PROCESS_STOPPED, *sorted(living)),
        )
        return len(rows)

    async def create_extra(
        self, patient_id: int, *, now: datetime, update_id: int | None, by: int | None = None
    ) -> Checkin | None:
        """Create an extra check-in claimed for immediate sending.

        None for a repeated update, or when the patient already has an open check-in (the
        dispatcher may have sent one since the caller looked).
        """
        async with self._db.write() as conn:
            rows = list(
                await conn.fetch_all(
                    "INSERT INTO checkins (patient_id, kind, due_at, state, attempts, sent_at,"
                    " delivery, created_update_id, claimed_by) SELECT ?, ?, ?, ?, 1, ?, ?, ?, ?"
                    " WHERE NOT EXISTS (SELECT 1 FROM checkins"
                    " WHERE patient_id = ? AND state = 'sent')"
                    " ON CONFLICT (created_update_id) DO NOTHING"
                    f" RETURNING {RETURNING}",
                    (
                        patient_id,
                        CheckinKind.EXTRA,
                        to_ts(now),
                        _SENT,
                        to_ts(now),
                        Delivery.UNCONFIRMED,
                        update_id,
                        by,
                        patient_id,
                    ),
                )
            )
            if rows:
                # As with a planned check-in: a new one supersedes the offer of a note about
                # an earlier one, so text now answers this one.
                await conn.execute(
                    "UPDATE patients SET awaiting_note_checkin_id = NULL WHERE id = ?",
                    (patient_id,),
                )
        return checkin_from_row(rows[0]) if rows else None


async def _close_open_before_claim(
    conn: Transaction, now_ts: int, ids: list[int], patient_ids: list[int]
) -> set[int]:
    """Close the open check-ins of patients about to get a new one; return those patients.

    A new check-in also supersedes the offer of a note about an earlier one.
    """
    marks = ",".join("?" for _ in ids)
    patient_marks = ",".join("?" for _ in patient_ids)
    superseded = list(
        await conn.fetch_all(
            "UPDATE checkins SET state = ?, closed_at = ?, close_reason = CASE"
            "   WHEN kind = ? THEN ? WHEN delivery = ? THEN ? ELSE ? END"
            f" WHERE state = 'sent' AND patient_id IN ({patient_marks})"
            f" AND id NOT IN ({marks}) RETURNING patient_id",
            (
                _MISSED,
                now_ts,
                CheckinKind.EXTRA,
                CloseReason.EXTRA_LEFT_OPEN,
                Delivery.UNCERTAIN,
                CloseReason.UNANSWERED_UNCERTAIN,
                CloseReason.NO_ANSWER_BEFORE_NEXT,
                *patient_ids,
                *ids,
            ),
        )
    )
    await conn.execute(
        "UPDATE patients SET awaiting_note_checkin_id = NULL"
        f" WHERE id IN ({patient_marks}) AND awaiting_note_checkin_id IS NOT NULL",
        patient_ids,
    )
    return {row["patient_id"] for row in superseded}


async def _reopen_superseded(conn: Transaction, checkin_id: int) -> None:
    """Reopen what claiming this (still unconfirmed) check-in closed as superseded.

    Claiming closes the patient's open check-in at the claim's `sent_at`; when the new one
    certainly did not go out, that closing is undone (unless it was itself uncertain).
    Only the dispatcher's claims close others (an extra is refused while one is open), and
    never so as to leave two open.
    """
    await conn.execute(
        "UPDATE checkins AS old SET state = ?, closed_at = NULL, close_reason = NULL"
        " FROM checkins AS new"
        " WHERE new.id = ? AND new.state = ? AND new.delivery = ? AND new.kind = ?"
        " AND old.patient_id = new.patient_id AND old.id != new.id"
        " AND old.state = 'missed' AND old.closed_at = new.sent_at"
        " AND old.close_reason IN (?, ?)"
        " AND NOT EXISTS (SELECT 1 FROM checkins other WHERE other.patient_id = new.patient_id"
        "   AND other.state = 'sent' AND other.id != new.id)",
        (_SENT, checkin_id, _SENT, Delivery.UNCONFIRMED, CheckinKind.PLANNED, *_REOPENABLE),
    )
