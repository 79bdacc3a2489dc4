"""The rule for recording what happened to a check-in prompt, for every sender of one.

The Bot API has no idempotency key, so a send whose outcome is unknown cannot be repeated
without risking a duplicate. Afterglow therefore sends each check-in at most once:

1. A check-in is *claimed* (pending -> sent, delivery "unconfirmed") in its own committed
   transaction before the request goes out (the dispatcher's `claim_due`, or `create_extra`
   for a check-in the patient asked for).
2. When Telegram answers with the message, delivery becomes "confirmed".
3. When the request certainly did not reach Telegram (connection refused, connect timeout,
   HTTP 5xx or 429), a planned check-in's claim is released back to pending and retried on
   a later pass, as long as it is inside its send window; an extra one (asked for now, so
   stale later) is recorded as failed.
4. When the outcome is unknown (a read timeout, a connection dropped mid-response, or the
   process dying between claim and confirmation), the check-in stays "sent" with delivery
   "uncertain" and is never sent again. If the patient did get it they can answer it as
   usual; if not, it closes as missed at the end of its answer window (not counted as the
   patient's miss), and the next planned check-in (or /checkin) gives them the next chance.
   A duplicate prompt is never traded for a possibly lost one.
5. When Telegram refuses it (403, 400), it is failed; a blocked bot or a chat that is gone
   marks the patient unreachable.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain.backoff import backoff
from bot.domain.codes import DeliveryProblem, PatientStatus
from bot.domain.delivery import (
    Delivered,
    Migrated,
    NotDelivered,
    RateLimited,
    SendOutcome,
    Undeliverable,
    Unknown,
)
from bot.domain.entities import DueCheckin
from bot.services.ports import CheckinSender
from storage import Storage

log = logging.getLogger(__name__)

RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=30)


async def send_prompt(
    sender: CheckinSender, item: DueCheckin, *, prepaid: bool = False
) -> SendOutcome:
    """Send a claimed check-in's prompt; a sender that raises counts as an unknown outcome."""
    try:
        return await sender.send_checkin(item.chat_id, item.checkin.id, prepaid=prepaid)
    except Exception as err:  # the sender must not raise; treat a bug as unknown outcome
        log.exception("dispatch.sender_error code=%s", item.patient_code)
        return Unknown(problem=DeliveryProblem.SENDER_ERROR, detail=type(err).__name__)


def retry_delay(attempts: int) -> timedelta:
    """Return the wait before a planned check-in is tried again after `attempts` failures."""
    return backoff(attempts, first=RETRY_FIRST, ceiling=RETRY_MAX)


async def record_prompt(
    storage: Storage, item: DueCheckin, outcome: SendOutcome, *, now: datetime, may_retry: bool
) -> None:
    """Record the outcome of sending a claimed check-in, by the rule above."""
    checkins = storage.checkins
    checkin = item.checkin
    code = item.patient_code
    match outcome:
        case Delivered(message_id=message_id):
            await checkins.confirm_sent(checkin.id, message_id=message_id)
            log.info("checkin.sent code=%s checkin=%d", code, checkin.id)
        case Unknown(problem=problem):
            await checkins.mark_uncertain(checkin.id, problem=problem)
            log.warning(
                "checkin.uncertain code=%s checkin=%d problem=%s", code, checkin.id, problem
            )
        case NotDelivered(problem=problem) if may_retry:
            await checkins.release(
                checkin.id, retry_at=now + retry_delay(checkin.attempts), problem=problem
            )
            log.warning("checkin.retry code=%s checkin=%d problem=%s", code, checkin.id, problem)
        case RateLimited(retry_after=wait) if may_retry:
            await checkins.release(
                checkin.id, retry_at=now + wait, problem=DeliveryProblem.RATE_LIMITED
            )
            log.warning("checkin.rate_limited code=%s wait_s=%.0f", code, wait.total_seconds())
        case Undeliverable(problem=problem, recipient_gone=gone):
            await _fail(storage, item, problem, now=now, unreachable=gone)
        case NotDelivered(problem=problem):
            await _fail(storage, item, problem, now=now, unreachable=False)
        case RateLimited():
            await _fail(storage, item, DeliveryProblem.RATE_LIMITED, now=now, unreachable=False)
        case Migrated():
            await _fail(storage, item, DeliveryProblem.TELEGRAM_ERROR, now=now, unreachable=False)


async def _fail(
    storage: Storage,
    item: DueCheckin,
    problem: DeliveryProblem,
    *,
    now: datetime,
    unreachable: bool,
) -> None:
    await storage.checkins.fail(
        item.checkin.id,
        problem=problem,
        now=now,
        patient_status=PatientStatus.UNREACHABLE if unreachable else None,
    )
    log.warning(
        "checkin.failed code=%s checkin=%d problem=%s unreachable=%s",
        item.patient_code,
        item.checkin.id,
        problem,
        unreachable,
    )
