"""Which explainers went to which patient, and when."""

from __future__ import annotations

from datetime import datetime

from ._database import Database
from ._time import to_ts


class ExplainerDeliveryRepository:
    """Records explainer deliveries; a pushed explainer is claimed once per patient."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim_push(
        self,
        *,
        patient_id: int,
        explainer_id: str,
        how: str,
        now: datetime,
        episode_id: int | None = None,
    ) -> bool:
        """Record a push before sending it; False if this explainer was pushed before."""
        rows = await self._db.write_one(
            "INSERT INTO explainer_deliveries (patient_id, explainer_id, how, at, episode_id)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (patient_id, explainer_id) WHERE how != 'requested' DO NOTHING"
            " RETURNING id",
            (patient_id, explainer_id, how, to_ts(now), episode_id),
        )
        return bool(rows)

    async def record_request(self, *, patient_id: int, explainer_id: str, now: datetime) -> None:
        """Record an explainer the patient opened from /learn."""
        await self._db.write_one(
            "INSERT INTO explainer_deliveries (patient_id, explainer_id, how, at)"
            " VALUES (?, ?, 'requested', ?)",
            (patient_id, explainer_id, to_ts(now)),
        )

    async def pushed(self, patient_id: int) -> set[str]:
        """Return the ids of explainers already pushed to a patient."""
        rows = await self._db.fetch_all(
            "SELECT explainer_id FROM explainer_deliveries WHERE patient_id = ?"
            " AND how != 'requested'",
            (patient_id,),
        )
        return {str(row["explainer_id"]) for row in rows}

    async def history(self, patient_id: int) -> list[tuple[str, str]]:
        """Return (explainer id, how) of every delivery to a patient, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT explainer_id, how FROM explainer_deliveries WHERE patient_id = ?"
            " ORDER BY at, id",
            (patient_id,),
        )
        return [(str(row["explainer_id"]), str(row["how"])) for row in rows]
