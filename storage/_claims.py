"""Claims on queued rows: taken for one sender, by moving the row's due time past a lease.

Several instances may run the same queue on one database. A claim is one short write
transaction: it selects the due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has
one writer) and moves each one's due-time column to the end of the lease, so that it is not
due for anyone else while its sender works. The queue's own recorders then overwrite that
column with the real next time, or mark the row done. A sender that dies mid-send leaves
its rows to come due again when the lease ends, and another instance sends them: delivery
after a crash is at least once, and two live senders never hold one row at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ._database import Database, Row
from ._time import to_ts

#: How long a row claimed for a send that bypasses the flood queue (crisis messages,
#: urgent alerts, the direct question) is not due for anyone else: above two of the urgent
#: client's longest attempts (connect 5 + write 10 + read 10 + pool 1 s) with a 429's wait
#: between them, so a live sender is not overtaken; and a crash delays the send again by
#: two minutes at most. The services claim one row just before its send.
CLAIM_LEASE = timedelta(minutes=2)
#: The same for a send that may first wait in the flood queue (at most 20 a minute to the
#: staff group, 429s waited out).
QUEUED_LEASE = timedelta(minutes=10)
#: An escalation round: one urgent send per on-call member, then a note to the staff chat.
ROUND_LEASE = timedelta(minutes=5)


def lease_end(now: datetime, lease: timedelta = CLAIM_LEASE) -> int:
    """Return, in stored seconds, when a claim taken at `now` runs out."""
    return to_ts(now + lease)


async def claim_rows(
    db: Database,
    select: str,
    params: Sequence[object],
    *,
    alias: str,
    table: str,
    due_column: str,
    now: datetime,
    lease: timedelta = CLAIM_LEASE,
    urgent_lease: timedelta | None = None,
) -> list[Row]:
    """Claim the rows `select` finds, in one write transaction; return them.

    `select` reads the due rows, with an `id` column; in the claim it ends with the
    database's `skip_locked` clause for `alias`, and `due_column` of each row moves to the
    lease's end. A plain read comes first, so an empty queue (the usual case, looked at
    every second) costs no write transaction and takes no lock. With
    `urgent_lease`, rows whose `urgent` column is set take that lease instead (an urgent
    alert bypasses the flood queue). `table` and `due_column` are names from the
    repositories, never from input.
    """
    if not await db.fetch_all(select, params):
        return []
    async with db.write() as conn:
        rows = list(await conn.fetch_all(select + db.skip_locked(alias), params))
        if rows:
            ids = [row["id"] for row in rows]
            marks = ",".join("?" for _ in ids)
            until = "?"
            ends: tuple[int, ...] = (lease_end(now, lease),)
            if urgent_lease is not None:
                until = "CASE WHEN urgent = 1 THEN CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END"
                ends = (lease_end(now, urgent_lease), *ends)
            await conn.execute(
                f"UPDATE {table} SET {due_column} = {until} WHERE id IN ({marks})",
                (*ends, *ids),
            )
    return rows


class LeaseRepository:
    """Ends the leases a stopped or crashed process left, where nobody else can hold one."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def end_orphaned(self, now: datetime) -> int:
        """At start-up, with no other instance alive: make the urgent queues due at once.

        A lease there (crisis messages, urgent alerts, unsent direct questions) can only be
        the dead process's, so what it was sending goes out now rather than when the lease
        would end. A retry planned within the same span comes a little early, which is
        harmless. The flood-limited queues keep their leases (early there would mean early
        reminders and escalations).
        """
        start, end = to_ts(now), lease_end(now)
        async with self._db.write() as conn:
            alerts = await conn.execute(
                "UPDATE alerts SET next_attempt_at = ? WHERE state = 'pending' AND urgent = 1"
                " AND next_attempt_at > ? AND next_attempt_at <= ?",
                (start, start, end),
            )
            messages = await conn.execute(
                "UPDATE urgent_outbox SET next_attempt_at = ? WHERE sent_at IS NULL"
                " AND next_attempt_at > ? AND next_attempt_at <= ?",
                (start, start, end),
            )
            questions = await conn.execute(
                "UPDATE safety_questions SET send_after = NULL WHERE sent_at IS NULL"
                " AND answer IS NULL AND escalated_at IS NULL"
                " AND send_after > ? AND send_after <= ?",
                (start, end),
            )
        return alerts + messages + questions
