"""The direct safety questions asked of patients, and their answers."""

from __future__ import annotations

from datetime import datetime

from bot.domain.codes import QuestionAnswer, QuestionReason
from bot.domain.entities import SafetyQuestion

from ._claims import claim_rows, lease_end
from ._database import Database, Row
from ._time import from_ts, opt_from_ts, to_ts

QUESTION_COLUMNS = (
    "id, patient_id, chat_id, reason, asked_at, sent_at, answer, answered_at, escalate_at,"
    " escalated_at"
)


def question_from_row(row: Row) -> SafetyQuestion:
    """Return the entity for a safety_questions row (all of QUESTION_COLUMNS)."""
    return SafetyQuestion(
        id=row["id"],
        patient_id=row["patient_id"],
        chat_id=row["chat_id"],
        reason=QuestionReason(row["reason"]),
        asked_at=from_ts(row["asked_at"]),
        sent=row["sent_at"] is not None,
        answer=None if row["answer"] is None else QuestionAnswer(row["answer"]),
        answered_at=opt_from_ts(row["answered_at"]),
        escalate_at=from_ts(row["escalate_at"]),
        escalated=row["escalated_at"] is not None,
    )


class QuestionRepository:
    """Questions are stored before they are sent; a question is answered at most once."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def ask(
        self,
        *,
        patient_id: int,
        chat_id: int,
        reason: QuestionReason,
        now: datetime,
        escalate_at: datetime,
        update_id: int | None,
    ) -> SafetyQuestion | None:
        """Record a question about to be asked; None if this update asked one already.

        It is stored claimed by the asker, who sends it at once: `claim_unsent` takes it only
        if neither `sent` nor `not_sent` was recorded within CLAIM_LEASE (the asker died).
        """
        rows = await self._db.write_one(
            "INSERT INTO safety_questions (patient_id, chat_id, reason, asked_at, escalate_at,"
            " update_id, send_after) VALUES (?, ?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT (update_id) DO NOTHING RETURNING {QUESTION_COLUMNS}",
            (
                patient_id,
                chat_id,
                reason,
                to_ts(now),
                to_ts(escalate_at),
                update_id,
                lease_end(now),
            ),
        )
        return question_from_row(rows[0]) if rows else None

    async def sent(self, question_id: int, *, now: datetime) -> None:
        """Record that the question reached Telegram."""
        await self._db.write_one(
            "UPDATE safety_questions SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
            (to_ts(now), question_id),
        )

    async def not_sent(self, question_id: int, *, retry_at: datetime) -> None:
        """Count a failed attempt at sending the question; it is due again from `retry_at`."""
        await self._db.write_one(
            "UPDATE safety_questions SET attempts = attempts + 1, send_after = ? WHERE id = ?",
            (to_ts(retry_at), question_id),
        )

    async def answer(
        self, question_id: int, *, user_id: int, answer: QuestionAnswer, now: datetime
    ) -> SafetyQuestion | None:
        """Record the patient's answer; None if it is not theirs or was answered already."""
        rows = await self._db.write_one(
            "UPDATE safety_questions SET answer = ?, answered_at = ? WHERE id = ?"
            " AND answer IS NULL AND patient_id = (SELECT id FROM patients"
            f" WHERE telegram_user_id = ?) RETURNING {QUESTION_COLUMNS}",
            (answer, to_ts(now), question_id, user_id),
        )
        return question_from_row(rows[0]) if rows else None

    async def get(self, question_id: int) -> SafetyQuestion | None:
        """Return a question by id."""
        row = await self._db.fetch_one(
            f"SELECT {QUESTION_COLUMNS} FROM safety_questions WHERE id = ?", (question_id,)
        )
        return None if row is None else question_from_row(row)

    async def claim_unsent(self, now: datetime, *, limit: int) -> list[SafetyQuestion]:
        """Claim up to `limit` open questions not yet sent, the soonest to escalate first.

        Each is not claimable again for CLAIM_LEASE; `sent` or `not_sent` ends the claim. A
        question whose sender died goes out when the lease ends (at least once: the patient
        may be asked twice, never not at all).
        """
        rows = await claim_rows(
            self._db,
            f"SELECT {QUESTION_COLUMNS} FROM safety_questions WHERE sent_at IS NULL"
            " AND answer IS NULL AND escalated_at IS NULL"
            " AND (send_after IS NULL OR send_after <= ?) ORDER BY escalate_at, id"
            f" LIMIT ?",
            (to_ts(now), limit),
            alias="safety_questions",
            table="safety_questions",
            due_column="send_after",
            now=now,
        )
        return [question_from_row(row) for row in rows]

    async def unanswered_due(self, now: datetime) -> list[SafetyQuestion]:
        """Return questions still unanswered at their escalation time."""
        rows = await self._db.fetch_all(
            f"SELECT {QUESTION_COLUMNS} FROM safety_questions WHERE answer IS NULL"
            " AND escalated_at IS NULL AND escalate_at <= ? ORDER BY escalate_at, id",
            (to_ts(now),),
        )
        return [question_from_row(row) for row in rows]

    async def escalated(self, question_id: int, *, now: datetime) -> bool:
        """Record that an unanswered question became an alert; False if it was already."""
        rows = await self._db.write_one(
            "UPDATE safety_questions SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL"
            " AND answer IS NULL RETURNING id",
            (to_ts(now), question_id),
        )
        return bool(rows)

    async def recent(self, patient_id: int, *, limit: int = 3) -> list[SafetyQuestion]:
        """Return a patient's latest questions, newest first."""
        rows = await self._db.fetch_all(
            f"SELECT {QUESTION_COLUMNS} FROM safety_questions WHERE patient_id = ?"
            " ORDER BY asked_at DESC, id DESC LIMIT ?",
            (patient_id, limit),
        )
        return [question_from_row(row) for row in rows]
