"""URGENT alerts nobody acknowledged in time, sent on privately to the on-call staff."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.entities import Alert

from ._alerts import ALERT_COLUMNS, ALERTS_FROM, alert_of, record_carrier
from ._claims import ROUND_LEASE, claim_rows
from ._database import Database
from ._time import from_ts, to_ts


class EscalationRepository:
    """When each URGENT alert is next escalated, and the private copies it was sent as."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim_due(self, now: datetime, *, limit: int) -> list[Alert]:
        """Claim up to `limit` unacknowledged, unresolved alerts due to escalate, oldest first.

        Whether the staff chat got the alert does not matter: if it did not, the on-call
        staff are all the more needed. Each is not due for anyone else for ROUND_LEASE;
        `escalated` or `postpone` ends the claim. A round whose sender died goes out again
        when the lease ends (at least once: on-call staff may get it twice, never not at all).
        """
        rows = await claim_rows(
            self._db,
            f"SELECT {ALERT_COLUMNS} FROM {ALERTS_FROM}"
            " WHERE a.escalate_at IS NOT NULL AND a.escalate_at <= ?"
            " AND a.acknowledged_at IS NULL AND a.resolved_at IS NULL"
            f" ORDER BY a.escalate_at, a.id LIMIT ?",
            (to_ts(now), limit),
            alias="a",
            table="alerts",
            due_column="escalate_at",
            now=now,
            lease=ROUND_LEASE,
        )
        return [alert_of(row) for row in rows]

    async def next_due(self) -> datetime | None:
        """Return when the next escalation is due, if any is waiting."""
        row = await self._db.fetch_one(
            "SELECT min(escalate_at) FROM alerts WHERE escalate_at IS NOT NULL"
            " AND acknowledged_at IS NULL AND resolved_at IS NULL"
        )
        return None if row is None or row[0] is None else from_ts(row[0])

    async def escalated(self, alert_id: int, *, next_at: datetime) -> None:
        """Count one escalation and plan the next."""
        await self._db.write_one(
            "UPDATE alerts SET escalations = escalations + 1, escalate_at = ? WHERE id = ?",
            (to_ts(next_at), alert_id),
        )

    async def postpone(self, alert_id: int, *, by: timedelta, now: datetime) -> None:
        """Try an escalation that could not be worked out again a little later."""
        await self._db.write_one(
            "UPDATE alerts SET escalate_at = ? WHERE id = ?", (to_ts(now + by), alert_id)
        )

    async def record_copy(self, alert_id: int, *, chat_id: int, message_id: int) -> None:
        """Record a copy of the alert (escalated, or opened from /alerts): its buttons act."""
        async with self._db.write() as conn:
            await record_carrier(conn, alert_id, chat_id, message_id)
