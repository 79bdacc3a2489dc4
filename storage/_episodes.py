"""Episodes of concern: reading them and ending them when the patient recovers."""

from __future__ import annotations

from datetime import datetime

from bot.domain.codes import EpisodeEndReason, EpisodeKind
from bot.domain.entities import EpisodeRecord

from ._database import Database, Row
from ._time import from_ts, opt_from_ts, to_ts

_EPISODE_COLUMNS = "id, patient_id, kind, since, detected_at, explanation, ended_at, end_reason"


def _episode(row: Row) -> EpisodeRecord:
    return EpisodeRecord(
        id=row["id"],
        patient_id=row["patient_id"],
        kind=EpisodeKind(row["kind"]),
        since=from_ts(row["since"]),
        detected_at=from_ts(row["detected_at"]),
        explanation=row["explanation"],
        ended_at=opt_from_ts(row["ended_at"]),
        end_reason=None if row["end_reason"] is None else EpisodeEndReason(row["end_reason"]),
    )


class EpisodeRepository:
    """Episodes are opened together with their alert (`AlertRepository.open_episode`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def end(self, episode_id: int, *, reason: EpisodeEndReason, now: datetime) -> bool:
        """End an open episode; its alerts stop reminding. False if it had ended."""
        async with self._db.write() as conn:
            ended = list(
                await conn.fetch_all(
                    "UPDATE episodes SET ended_at = ?, end_reason = ?"
                    " WHERE id = ? AND ended_at IS NULL RETURNING id",
                    (to_ts(now), reason, episode_id),
                )
            )
            if ended:
                await conn.execute(
                    "UPDATE alerts SET remind_at = NULL WHERE episode_id = ?", (episode_id,)
                )
        return bool(ended)

    async def get(self, episode_id: int) -> EpisodeRecord | None:
        """Return an episode by id."""
        row = await self._db.fetch_one(
            f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE id = ?", (episode_id,)
        )
        return None if row is None else _episode(row)

    async def since(self, patient_id: int, since: datetime) -> list[EpisodeRecord]:
        """Return the patient's episodes detected since a moment, and any still open."""
        rows = await self._db.fetch_all(
            f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE patient_id = ?"
            " AND (detected_at >= ? OR ended_at IS NULL) ORDER BY detected_at, id",
            (patient_id, to_ts(since)),
        )
        return [_episode(row) for row in rows]
