"""Which explainers went to which patient, and when."""

from __future__ import annotations

from datetime import datetime

from bot.domain.codes import PatientStatus, PushKind
from bot.domain.entities import WaitingPush

from ._claims import QUEUED_LEASE, claim_rows
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
        how: PushKind,
        now: datetime,
        retry_at: datetime,
        episode_id: int | None = None,
    ) -> int | None:
        """Record a push before sending it; its id, or None if it was pushed before.

        It stays waiting (not sent) until `mark_sent`, so a crash between this and the send
        leaves it to be sent from `retry_at` on rather than recorded as delivered.
        """
        rows = await self._db.write_one(
            "INSERT INTO explainer_deliveries"
            " (patient_id, explainer_id, how, at, episode_id, sent, not_before)"
            " VALUES (?, ?, ?, ?, ?, 0, ?)"
            " ON CONFLICT (patient_id, explainer_id) WHERE how != 'requested' DO NOTHING"
            " RETURNING id",
            (patient_id, explainer_id, how, to_ts(now), episode_id, to_ts(retry_at)),
        )
        return int(rows[0]["id"]) if rows else None

    async def defer(self, delivery_id: int, *, not_before: datetime) -> None:
        """Mark a claimed push as waiting until a later time."""
        await self._db.write_one(
            "UPDATE explainer_deliveries SET sent = 0, not_before = ? WHERE id = ?",
            (to_ts(not_before), delivery_id),
        )

    async def mark_sent(self, delivery_id: int, *, now: datetime) -> None:
        """Record that a waiting push went out."""
        await self._db.write_one(
            "UPDATE explainer_deliveries SET sent = 1, not_before = NULL, at = ? WHERE id = ?",
            (to_ts(now), delivery_id),
        )

    async def release(self, delivery_id: int) -> None:
        """Forget a claimed push that could not be sent, so the record stays true."""
        await self._db.write_one("DELETE FROM explainer_deliveries WHERE id = ?", (delivery_id,))

    async def claim_waiting(self, now: datetime, *, limit: int) -> list[WaitingPush]:
        """Claim up to `limit` waiting pushes whose time has come, with where to send them.

        Each is not due for anyone else for QUEUED_LEASE; `mark_sent`, `defer` or `release`
        ends the claim. One whose sender died is due again when the lease ends.
        """
        rows = await claim_rows(
            self._db,
            "SELECT d.id, d.patient_id, d.explainer_id, p.chat_id, p.code, p.timezone, p.status,"
            " d.how, d.episode_id, e.id IS NOT NULL AND e.ended_at IS NULL AS episode_open"
            " FROM explainer_deliveries d JOIN patients p ON p.id = d.patient_id"
            " LEFT JOIN episodes e ON e.id = d.episode_id"
            " WHERE d.sent = 0 AND d.not_before <= ?"
            " ORDER BY d.not_before, d.id LIMIT ?",
            (to_ts(now), limit),
            alias="d",
            table="explainer_deliveries",
            due_column="not_before",
            now=now,
            lease=QUEUED_LEASE,
        )
        return [
            WaitingPush(
                delivery_id=row["id"],
                patient_id=row["patient_id"],
                explainer_id=row["explainer_id"],
                chat_id=row["chat_id"],
                patient_code=row["code"],
                timezone=row["timezone"],
                active=row["status"] == PatientStatus.ACTIVE,
                how=PushKind(row["how"]),
                episode_id=row["episode_id"],
                episode_open=bool(row["episode_open"]),
            )
            for row in rows
        ]

    async def record_request(self, *, patient_id: int, explainer_id: str, now: datetime) -> None:
        """Record an explainer the patient opened from /learn."""
        await self._db.write_one(
            "INSERT INTO explainer_deliveries (patient_id, explainer_id, how, at)"
            " VALUES (?, ?, ?, ?)",
            (patient_id, explainer_id, PushKind.REQUESTED, to_ts(now)),
        )

    async def pushed(self, patient_id: int) -> set[str]:
        """Return the ids of explainers already pushed to a patient."""
        rows = await self._db.fetch_all(
            "SELECT explainer_id FROM explainer_deliveries WHERE patient_id = ?"
            " AND how != 'requested'",
            (patient_id,),
        )
        return {str(row["explainer_id"]) for row in rows}

    async def history(self, patient_id: int) -> list[tuple[str, PushKind]]:
        """Return (explainer id, how) of every delivery to a patient, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT explainer_id, how FROM explainer_deliveries WHERE patient_id = ? AND sent = 1"
            " ORDER BY at, id",
            (patient_id,),
        )
        return [(str(row["explainer_id"]), PushKind(row["how"])) for row in rows]
