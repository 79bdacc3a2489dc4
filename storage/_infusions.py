"""Infusions and the check-in plans they start."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.codes import CheckinKind, CheckinState, CloseReason, EpisodeEndReason
from bot.domain.entities import Infusion, PlannedCheckin

from ._database import Database, Row, Transaction
from ._time import from_ts, to_ts

INFUSION_COLUMNS = "id, patient_id, given_at, recorded_at, recorded_by"


def infusion_from_row(row: Row) -> Infusion:
    return Infusion(
        id=row["id"],
        patient_id=row["patient_id"],
        given_at=from_ts(row["given_at"]),
        recorded_at=from_ts(row["recorded_at"]),
        recorded_by=row["recorded_by"],
    )


class InfusionRepository:
    """Records infusions; each one replaces the pending plan of the previous one."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        *,
        patient_id: int,
        given_at: datetime,
        now: datetime,
        recorded_by: int,
        update_id: int | None,
        plan: Sequence[PlannedCheckin],
    ) -> tuple[Infusion, Infusion | None] | None:
        """Store an infusion and its plan, cancelling pending planned check-ins.

        Returns the infusion and, when a later one is already recorded (an earlier infusion
        entered late), that later one: then only the infusion is stored, and the later one's
        plan and episodes stay as they are. Decided inside the transaction, so two staff
        recording at once cannot both replace the plan. None when this update was already
        recorded.
        """
        async with self._db.write() as conn:
            if update_id is not None:
                seen = await conn.fetch_all(
                    "SELECT 1 FROM infusions WHERE update_id = ?", (update_id,)
                )
                if list(seen):
                    return None
            later = list(
                await conn.fetch_all(
                    f"SELECT {INFUSION_COLUMNS} FROM infusions WHERE patient_id = ?"
                    " AND given_at > ? ORDER BY given_at DESC, id DESC LIMIT 1",
                    (patient_id, to_ts(given_at)),
                )
            )
            if not later:
                await _end_the_previous_course(conn, patient_id, now)
            rows = list(
                await conn.fetch_all(
                    "INSERT INTO infusions (patient_id, given_at, recorded_at, recorded_by,"
                    f" update_id) VALUES (?, ?, ?, ?, ?) RETURNING {INFUSION_COLUMNS}",
                    (patient_id, to_ts(given_at), to_ts(now), recorded_by, update_id),
                )
            )
            infusion = infusion_from_row(rows[0])
            if later:
                return infusion, infusion_from_row(later[0])
            await conn.execute_many(
                "INSERT INTO checkins (patient_id, infusion_id, kind, day, due_at, state)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        patient_id,
                        infusion.id,
                        CheckinKind.PLANNED,
                        item.day,
                        to_ts(item.due_at),
                        CheckinState.PENDING,
                    )
                    for item in plan
                ],
            )
        return infusion, None

    async def recent(self, patient_id: int, *, limit: int = 2) -> list[Infusion]:
        """Return the patient's most recent infusions, oldest first."""
        rows = await self._db.fetch_all(
            f"SELECT {INFUSION_COLUMNS} FROM infusions WHERE patient_id = ?"
            " ORDER BY given_at DESC, id DESC LIMIT ?",
            (patient_id, limit),
        )
        return [infusion_from_row(row) for row in reversed(rows)]

    async def latest(self, patient_id: int) -> Infusion | None:
        """Return the most recent infusion of a patient."""
        row = await self._db.fetch_one(
            f"SELECT {INFUSION_COLUMNS} FROM infusions WHERE patient_id = ?"
            " ORDER BY given_at DESC, id DESC LIMIT 1",
            (patient_id,),
        )
        return None if row is None else infusion_from_row(row)


async def _end_the_previous_course(conn: Transaction, patient_id: int, now: datetime) -> None:
    """A new infusion starts a new course: open episodes end, the pending plan is cancelled."""
    await conn.execute(
        "UPDATE episodes SET ended_at = ?, end_reason = ?"
        " WHERE patient_id = ? AND ended_at IS NULL",
        (to_ts(now), EpisodeEndReason.NEW_INFUSION, patient_id),
    )
    await conn.execute(
        "UPDATE alerts SET remind_at = NULL WHERE patient_id = ? AND remind_at IS NOT NULL"
        " AND urgent = 0",
        (patient_id,),
    )
    await conn.execute(
        "UPDATE checkins SET state = ?, closed_at = ?, close_reason = ?"
        " WHERE patient_id = ? AND state = ? AND kind = ?",
        (
            CheckinState.CANCELLED,
            to_ts(now),
            CloseReason.REPLACED_BY_NEW_PLAN,
            patient_id,
            CheckinState.PENDING,
            CheckinKind.PLANNED,
        ),
    )
