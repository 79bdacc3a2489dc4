"""Clinic-wide values that change at run time, and the audit log of staff actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.codes import AuditAction
from bot.domain.entities import AuditEntry

from ._database import Database
from ._time import from_ts, to_ts

HEARTBEAT_KEY = "dispatcher_heartbeat"


class ClinicRepository:
    """Values such as the staff chat after a supergroup migration; the audit log."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def value(self, key: str) -> str | None:
        """Return a clinic value set at run time."""
        row = await self._db.fetch_one("SELECT value FROM clinic_values WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    async def set_value(self, key: str, value: str) -> None:
        """Set a clinic value (for example the staff chat after a migration)."""
        await self._db.write_one(
            "INSERT INTO clinic_values (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def record_heartbeat(self, at: datetime) -> None:
        """Record that a dispatcher pass began at `at` (the live health check reads it)."""
        await self.set_value(HEARTBEAT_KEY, str(to_ts(at)))

    async def audit(
        self,
        *,
        actor: int,
        action: AuditAction,
        now: datetime,
        patient_id: int | None,
        detail: str | None,
    ) -> None:
        """Append one staff action to the audit log."""
        await self._db.write_one(
            "INSERT INTO audit_log (at, actor, action, patient_id, detail) VALUES (?, ?, ?, ?, ?)",
            (to_ts(now), actor, action, patient_id, detail),
        )

    async def audit_log(
        self, *, patient_id: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Return recent audit entries, newest first, optionally for one patient."""
        where = "" if patient_id is None else "WHERE l.patient_id = ?"
        params: Sequence[object] = () if patient_id is None else (patient_id,)
        rows = await self._db.fetch_all(
            "SELECT l.at, l.actor, l.action, p.code, l.detail FROM audit_log l"
            f" LEFT JOIN patients p ON p.id = l.patient_id {where}"
            " ORDER BY l.at DESC, l.id DESC LIMIT ?",
            (*params, limit),
        )
        return [
            AuditEntry(
                at=from_ts(row["at"]),
                actor=row["actor"],
                action=AuditAction(row["action"]),
                patient_code=row["code"],
                detail=row["detail"],
            )
            for row in rows
        ]
