"""Telegram's and httpx's errors mapped to what they say about a message."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from telegram.constants import MessageLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.domain.delivery import Migrated, NotDelivered, RateLimited, Undeliverable, Unknown
from bot.domain.entities import NOTE_LIMIT
from bot.telegram.delivery import outcome_of, retry_after_of


def _with_cause(error: TelegramError, cause: BaseException | None) -> TelegramError:
    """Return `error` as raised `from cause`, so __cause__ is set the way PTB sets it."""
    if cause is None:
        return error
    try:
        raise error from cause
    except TelegramError as raised:
        return raised


def test_forbidden_means_patient_unreachable() -> None:
    outcome = outcome_of(Forbidden("Forbidden: bot was blocked by the user"))

    assert isinstance(outcome, Undeliverable)
    assert outcome.recipient_gone is True


def test_chat_not_found_means_patient_unreachable() -> None:
    outcome = outcome_of(BadRequest("Chat not found"))

    assert isinstance(outcome, Undeliverable)
    assert outcome.recipient_gone is True


def test_other_bad_request_is_undeliverable_but_patient_reachable() -> None:
    outcome = outcome_of(BadRequest("Message is too long"))

    assert isinstance(outcome, Undeliverable)
    assert outcome.recipient_gone is False


def test_retry_after_timedelta_style(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    error = RetryAfter(5)
    assert isinstance(error.retry_after, timedelta)

    assert outcome_of(error) == RateLimited(retry_after=timedelta(seconds=5))
    assert retry_after_of(RetryAfter(timedelta(seconds=1.5))) == timedelta(seconds=1.5)


def test_retry_after_int_style(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    with pytest.warns(PTBDeprecationWarning):
        error = RetryAfter(5)
    with pytest.warns(PTBDeprecationWarning):
        seconds = error.retry_after
    assert seconds == 5
    assert isinstance(seconds, int)

    with pytest.warns(PTBDeprecationWarning):
        outcome = outcome_of(error)

    assert outcome == RateLimited(retry_after=timedelta(seconds=5))


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (httpx.ConnectTimeout("connect timed out"), NotDelivered),
        (httpx.PoolTimeout("pool timed out"), NotDelivered),
        (httpx.ReadTimeout("read timed out"), Unknown),
        (httpx.WriteTimeout("write timed out"), Unknown),
        (None, Unknown),
    ],
)
def test_timed_out_is_safe_to_retry_only_before_connecting(
    cause: BaseException | None, expected: type
) -> None:
    error = _with_cause(TimedOut(), cause)
    assert error.__cause__ is cause

    assert isinstance(outcome_of(error), expected)


def test_pool_timeout_message_without_cause_is_not_delivered() -> None:
    error = TimedOut("Pool timeout: All connections in the connection pool are occupied.")

    assert isinstance(outcome_of(error), NotDelivered)


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (None, NotDelivered),  # Telegram answered 5xx: not processed
        (httpx.ConnectError("connection refused"), NotDelivered),
        (httpx.RemoteProtocolError("server disconnected mid-response"), Unknown),
        (httpx.ReadError("connection reset"), Unknown),
    ],
)
def test_network_error_is_safe_to_retry_only_when_request_never_left(
    cause: BaseException | None, expected: type
) -> None:
    error = _with_cause(NetworkError("Bad Gateway"), cause)
    assert error.__cause__ is cause

    assert isinstance(outcome_of(error), expected)


def test_server_error_reason_names_the_message() -> None:
    outcome = outcome_of(NetworkError("Bad Gateway"))

    assert isinstance(outcome, NotDelivered)
    assert "Bad Gateway" in outcome.detail


def test_other_telegram_error_is_undeliverable_but_patient_reachable() -> None:
    outcome = outcome_of(TelegramError("something odd"))

    assert isinstance(outcome, Undeliverable)
    assert outcome.recipient_gone is False


def test_chat_migrated_names_the_new_chat() -> None:
    assert outcome_of(ChatMigrated(-1001234)) == Migrated(new_chat_id=-1001234)


def test_a_note_as_long_as_any_message_is_kept_whole() -> None:
    assert NOTE_LIMIT == MessageLimit.MAX_TEXT_LENGTH
