"""The check-in row: its columns and how a row becomes a `Checkin`."""

from __future__ import annotations

from bot.domain.codes import CheckinKind, CheckinState, CloseReason, Delivery, DeliveryProblem
from bot.domain.entities import Checkin

from ._database import Row
from ._time import from_ts, opt_from_ts

CHECKIN_COLUMNS = (
    "c.id, c.patient_id, c.infusion_id, c.kind, c.day, c.due_at, c.state, c.close_reason,"
    " c.last_error, c.attempts, c.next_attempt_at, c.sent_at, c.delivery, c.message_id,"
    " c.score, c.answered_at, c.adaptive"
)
RETURNING = CHECKIN_COLUMNS.replace("c.", "")


def checkin_from_row(row: Row) -> Checkin:
    """Build a Checkin from a row selected with CHECKIN_COLUMNS (or RETURNING)."""
    return Checkin(
        id=row["id"],
        patient_id=row["patient_id"],
        infusion_id=row["infusion_id"],
        kind=CheckinKind(row["kind"]),
        day=row["day"],
        due_at=from_ts(row["due_at"]),
        state=CheckinState(row["state"]),
        close_reason=None if row["close_reason"] is None else CloseReason(row["close_reason"]),
        last_error=None if row["last_error"] is None else DeliveryProblem(row["last_error"]),
        attempts=row["attempts"],
        next_attempt_at=opt_from_ts(row["next_attempt_at"]),
        sent_at=opt_from_ts(row["sent_at"]),
        delivery=None if row["delivery"] is None else Delivery(row["delivery"]),
        message_id=row["message_id"],
        score=row["score"],
        answered_at=opt_from_ts(row["answered_at"]),
        adaptive=bool(row["adaptive"]),
    )
