"""The running instances: each registers at start, and its claims carry its id."""

from __future__ import annotations

from datetime import datetime

from ._database import Database
from ._time import to_ts


class InstanceRepository:
    """Registers instances and tells which of them are alive now."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def register(self, *, now: datetime, pid: int) -> int:
        """Record a starting instance; return its id, never one given before."""
        rows = await self._db.write_one(
            "INSERT INTO instances (started_at, pid) VALUES (?, ?) RETURNING id",
            (to_ts(now), pid),
        )
        return int(rows[0]["id"])

    async def alive(self, me: int) -> frozenset[int]:
        """Return the ids of the instances alive now, `me` (the caller) among them.

        On PostgreSQL an instance is alive while its liveness lock is held, which ends with
        its connection, a killed process's too; on SQLite the caller is the only one.
        """
        held = await self._db.live_instances()
        return frozenset({me}) if held is None else held | {me}
