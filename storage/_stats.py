"""The figures behind /stats: alert handling times, patients and check-ins over a window."""

from __future__ import annotations

from datetime import datetime

from bot.domain.codes import AlertKind, CheckinState, PatientStatus
from bot.domain.stats import AlertTiming, CheckinTally

from ._database import Database
from ._time import opt_from_ts, to_ts


class StatsRepository:
    """Read-only counts; the arithmetic is `bot.domain.stats`'s."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def alert_timings(self, since: datetime, until: datetime) -> list[AlertTiming]:
        """Return every alert raised in the window with when it was sent and handled."""
        rows = await self._db.fetch_all(
            "SELECT kind, urgent, remind_every, sent_at, acknowledged_at, resolved_at"
            " FROM alerts WHERE created_at >= ? AND created_at <= ? ORDER BY created_at, id",
            (to_ts(since), to_ts(until)),
        )
        return [
            AlertTiming(
                kind=AlertKind(row["kind"]),
                # A crisis follow-up is urgent and sent once, beside the alert that repeats.
                follow_up=bool(row["urgent"])
                and row["kind"] == AlertKind.CRISIS
                and row["remind_every"] is None,
                sent_at=opt_from_ts(row["sent_at"]),
                acknowledged_at=opt_from_ts(row["acknowledged_at"]),
                resolved_at=opt_from_ts(row["resolved_at"]),
            )
            for row in rows
        ]

    async def checkins(self, since: datetime, until: datetime) -> CheckinTally:
        """Count the check-ins due in the window by how they ended."""
        rows = await self._db.fetch_all(
            "SELECT state, count(*) AS n FROM checkins WHERE due_at >= ? AND due_at <= ?"
            " GROUP BY state",
            (to_ts(since), to_ts(until)),
        )
        counts = {CheckinState(row["state"]): int(row["n"]) for row in rows}
        return CheckinTally(
            answered=counts.get(CheckinState.ANSWERED, 0),
            missed=counts.get(CheckinState.MISSED, 0),
            failed=counts.get(CheckinState.FAILED, 0),
            open=counts.get(CheckinState.PENDING, 0) + counts.get(CheckinState.SENT, 0),
            cancelled=counts.get(CheckinState.CANCELLED, 0),
        )

    async def patients(self, since: datetime) -> tuple[int, int]:
        """Return how many patients are active now, and how many answered since `since`."""
        active = await self._db.fetch_one(
            "SELECT count(*) FROM patients WHERE status = ?", (PatientStatus.ACTIVE,)
        )
        answered = await self._db.fetch_one(
            "SELECT count(DISTINCT patient_id) FROM checkins WHERE state = ? AND answered_at >= ?",
            (CheckinState.ANSWERED, to_ts(since)),
        )
        return (
            0 if active is None else int(active[0]),
            0 if answered is None else int(answered[0]),
        )
