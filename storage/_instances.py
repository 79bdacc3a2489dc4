"""The running instances: each registers at start, and its claims carry its id."""

from __future__ import annotations

from datetime import datetime, timedelta

from ._database import Database
from ._time import from_ts, to_ts

# An instance that has not shown it was working for this long is taken for dead even if
# it still holds its liveness lock (a hung process keeps its connection open). Running
# instances show it every second (the urgent worker's watch).
STALE_AFTER = timedelta(seconds=60)


class InstanceRepository:
    """Registers instances and tells which of them are alive now."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def register(self, *, now: datetime, pid: int, host: str = "") -> int:
        """Record a starting instance; return its id, never one given before."""
        rows = await self._db.write_one(
            "INSERT INTO instances (started_at, pid, host, seen_at) VALUES (?, ?, ?, ?)"
            " RETURNING id",
            (to_ts(now), pid, host, to_ts(now)),
        )
        return int(rows[0]["id"])

    async def seen(self, instance: int, *, now: datetime) -> None:
        """Record that an instance is working (not only holding its lock)."""
        await self._db.write_one(
            "UPDATE instances SET seen_at = ? WHERE id = ?", (to_ts(now), instance)
        )

    async def alive(self, me: int, *, now: datetime | None = None) -> frozenset[int]:
        """Return the ids of the instances alive now, `me` (the caller) among them.

        On PostgreSQL an instance is alive while its liveness lock is held, which ends with
        its connection, a killed process's too, and (given `now`) while it was seen working
        within STALE_AFTER; on SQLite the caller is the only one.
        """
        held = await self._db.live_instances()
        if held is None:
            return frozenset({me})
        others = sorted(held - {me})
        if now is None or not others:
            return held | {me}
        marks = ",".join("?" for _ in others)
        rows = await self._db.fetch_all(
            f"SELECT id FROM instances WHERE id IN ({marks}) AND seen_at >= ?",
            (*others, to_ts(now - STALE_AFTER)),
        )
        return frozenset(int(row["id"]) for row in rows) | {me}

    async def last_seen_on(self, host: str) -> datetime | None:
        """Return when the newest instance started on `host` was last seen working."""
        row = await self._db.fetch_one(
            "SELECT seen_at FROM instances WHERE host = ? ORDER BY id DESC LIMIT 1", (host,)
        )
        return None if row is None or row[0] is None else from_ts(int(row[0]))
