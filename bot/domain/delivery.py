"""One vocabulary for what happened to any message Afterglow sent.

Every sender (check-ins, staff alerts, explainers, crisis replies) reports one of these
outcomes and never raises; the services decide what each means for their own rule (a
check-in is sent at most once, an alert at least once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain.codes import DeliveryProblem


@dataclass(frozen=True, slots=True)
class Delivered:
    """Telegram accepted the message."""

    message_id: int
    photo: bool = False


@dataclass(frozen=True, slots=True)
class NotDelivered:
    """The message certainly did not reach Telegram; it is safe to try again later."""

    problem: DeliveryProblem
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Unknown:
    """The message may or may not have reached the recipient."""

    problem: DeliveryProblem
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RateLimited:
    """Telegram asked to wait before sending more (429); the message was not sent."""

    retry_after: timedelta


@dataclass(frozen=True, slots=True)
class Undeliverable:
    """Telegram refused the message; sending it again as it is would be refused again.

    `recipient_gone` says the chat itself is gone for the bot (blocked, or not found).
    """

    problem: DeliveryProblem
    detail: str = ""
    recipient_gone: bool = False


@dataclass(frozen=True, slots=True)
class Migrated:
    """The group became a supergroup with a new chat id; nothing was sent."""

    new_chat_id: int


SendOutcome = Delivered | NotDelivered | Unknown | RateLimited | Undeliverable | Migrated


def problem_of(outcome: SendOutcome) -> DeliveryProblem | None:
    """Return the delivery problem an outcome names, if any."""
    match outcome:
        case NotDelivered(problem=problem) | Unknown(problem=problem):
            return problem
        case Undeliverable(problem=problem):
            return problem
        case RateLimited():
            return DeliveryProblem.RATE_LIMITED
    return None
