"""Finding silence: patients paused for long, invitations left unused, last answers."""

from __future__ import annotations

from datetime import datetime

from bot.domain.codes import CheckinState, PatientStatus
from bot.domain.entities import MoodPoint, Patient

from ._database import Database
from ._patients import PATIENT_COLUMNS, patient_from_row
from ._time import from_ts, to_ts


class SilenceRepository:
    """The reads behind the staff's messages about patients who went quiet."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def paused_since_before(self, moment: datetime) -> list[Patient]:
        """Return patients paused since before a moment."""
        rows = await self._db.fetch_all(
            f"SELECT {PATIENT_COLUMNS} FROM patients WHERE status = ?"
            " AND status_changed_at < ? ORDER BY id",
            (PatientStatus.PAUSED, to_ts(moment)),
        )
        return [patient_from_row(row) for row in rows]

    async def invitations_expired(self, now: datetime) -> list[Patient]:
        """Return invited patients whose invitation expired unused."""
        rows = await self._db.fetch_all(
            f"SELECT {PATIENT_COLUMNS} FROM patients WHERE status = ? AND EXISTS ("
            " SELECT 1 FROM invites i WHERE i.patient_id = patients.id AND i.used_at IS NULL"
            " AND i.expires_at <= ?) ORDER BY id",
            (PatientStatus.INVITED, to_ts(now)),
        )
        return [patient_from_row(row) for row in rows]

    async def last_answer(self, patient_id: int) -> MoodPoint | None:
        """Return the patient's most recent answered score."""
        row = await self._db.fetch_one(
            "SELECT answered_at, score FROM checkins WHERE patient_id = ? AND state = ?"
            " ORDER BY answered_at DESC, id DESC LIMIT 1",
            (patient_id, CheckinState.ANSWERED),
        )
        return (
            None if row is None else MoodPoint(at=from_ts(row["answered_at"]), score=row["score"])
        )
