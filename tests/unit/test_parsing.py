"""Pure parsers and helpers: scores, callback data, codes, tokens, /infusion, send errors."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.domain.delivery import Migrated, NotDelivered, RateLimited, Undeliverable, Unknown
from bot.domain.errors import InputError
from bot.services.care import parse_infusion_args
from bot.services.checkins import parse_score
from bot.services.enrolment import (
    CODE_ALPHABET,
    TOKEN_PATTERN,
    hash_token,
    new_code,
    new_token,
    normalise_code,
)
from bot.services.prompts import RETRY_FIRST, RETRY_MAX, retry_delay
from bot.telegram.delivery import outcome_of, retry_after_of
from bot.telegram.keyboards import (
    CONSENT_DATA,
    MoodChoice,
    consent_keyboard,
    mood_keyboard,
    parse_mood,
    parse_time,
)
from bot.telegram.staff_texts import input_problem

BERLIN = ZoneInfo("Europe/Berlin")
# Tuesday 10 March 2026, 16:00:42 in Berlin (CET, UTC+1).
NOW = datetime(2026, 3, 10, 15, 0, 42, tzinfo=UTC)

# parse_score ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        (" 7 ", 7),
        ("7/10", 7),
        ("7 / 10", 7),
        ("10", 10),
        ("10/10", 10),
        ("0", 0),
        ("07", 7),
        ("7\n", 7),
        ("11", None),
        ("-1", None),
        ("7.5", None),
        ("seven", None),
        ("", None),
        ("   ", None),
        ("7/5", None),
        ("1 0", None),
        ("100", None),
        ("007", None),
        ("7/", None),
        ("/10", None),
        ("I feel 7", None),
        ("\u0667", None),  # Arabic-Indic seven
    ],
)
def test_parse_score(text: str, expected: int | None) -> None:
    assert parse_score(text) == expected


# Callback data ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("m:1:0", MoodChoice(checkin_id=1, score=0)),
        ("m:1:5", MoodChoice(checkin_id=1, score=5)),
        ("m:42:10", MoodChoice(checkin_id=42, score=10)),
        (f"m:{10**17}:7", MoodChoice(checkin_id=10**17, score=7)),
        ("m:1:11", None),
        ("m:1:-1", None),
        ("m:1:05", None),
        ("m:1:", None),
        ("m:0:5", None),
        ("m:-1:5", None),
        ("m:01:5", None),
        ("m:abc:5", None),
        ("m::5", None),
        ("m:1:5:extra", None),
        ("m:1:5 ", None),
        ("x:1:5", None),
        ("M:1:5", None),
        ("m:" + "9" * 19 + ":5", None),
        ("m:" + "1" * 200 + ":5", None),
        ("", None),
    ],
)
def test_parse_mood_accepts_only_well_formed_data(data: str, expected: MoodChoice | None) -> None:
    assert parse_mood(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("t:0900", "09:00"),
        ("t:0000", "00:00"),
        ("t:2359", "23:59"),
        ("t:1830", "18:30"),
        ("t:2400", None),
        ("t:0960", None),
        ("t:900", None),
        ("t:09000", None),
        ("t:09:00", None),
        ("t:ab00", None),
        ("T:0900", None),
        ("m:0900", None),
        ("", None),
    ],
)
def test_parse_time_accepts_only_well_formed_data(data: str, expected: str | None) -> None:
    assert parse_time(data) == expected


def test_mood_data_with_trailing_newline_is_rejected() -> None:
    assert parse_mood("m:1:5\n") is None


def test_time_data_with_trailing_newline_is_rejected() -> None:
    assert parse_time("t:0900\n") is None


def _buttons(markup: InlineKeyboardMarkup) -> list[InlineKeyboardButton]:
    return [button for row in markup.inline_keyboard for button in row]


@pytest.mark.parametrize("checkin_id", [1, 12345, 10**17])
def test_mood_keyboard_has_eleven_buttons_zero_to_ten(checkin_id: int) -> None:
    buttons = _buttons(mood_keyboard(checkin_id))

    assert [button.text for button in buttons] == [str(score) for score in range(11)]
    for score, button in enumerate(buttons):
        assert isinstance(button.callback_data, str)
        assert len(button.callback_data.encode("utf-8")) <= 64
        assert parse_mood(button.callback_data) == MoodChoice(checkin_id, score)


def test_mood_keyboard_has_two_rows() -> None:
    rows = mood_keyboard(1).inline_keyboard

    assert [len(row) for row in rows] == [6, 5]


def test_consent_keyboard_is_a_single_i_agree_button() -> None:
    buttons = _buttons(consent_keyboard())

    assert len(buttons) == 1
    assert "I agree" in buttons[0].text
    assert buttons[0].callback_data == CONSENT_DATA
    assert parse_mood(CONSENT_DATA) is None
    assert parse_time(CONSENT_DATA) is None


# Patient codes and invitation tokens -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("p-7k3q", "P-7K3Q"),
        ("7K3Q", "P-7K3Q"),
        ("7k3q", "P-7K3Q"),
        ("  P-7K3Q\n", "P-7K3Q"),
        ("P-ABCDEFGH", "P-ABCDEFGH"),
    ],
)
def test_normalise_code(raw: str, expected: str) -> None:
    assert normalise_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "P-", "P-7K3", "7K3", "P-ABCDEFGHJ", "P-7K 3Q", "P_7K3Q", "P--7K3Q", "P-7K3Q!"],
)
def test_normalise_code_rejects_malformed_codes(raw: str) -> None:
    with pytest.raises(InputError) as info:
        normalise_code(raw)

    assert "not a patient code" in input_problem(info.value)


def test_normalise_code_error_does_not_echo_long_input() -> None:
    with pytest.raises(InputError) as info:
        normalise_code("x" * 500)

    assert len(input_problem(info.value)) < 100


@pytest.mark.parametrize("length", [4, 6, 8])
def test_new_code_is_a_valid_canonical_code(length: int) -> None:
    for _ in range(50):
        code = new_code(length)
        assert re.fullmatch(r"P-[A-Z0-9]+", code)
        assert len(code) == 2 + length
        assert set(code[2:]) <= set(CODE_ALPHABET)
        assert normalise_code(code) == code


def test_new_code_defaults_to_four_characters() -> None:
    assert len(new_code()) == len("P-7K3Q")


def test_code_alphabet_avoids_look_alikes() -> None:
    assert not set("01IO") & set(CODE_ALPHABET)


def test_new_token_is_url_safe_short_and_strong() -> None:
    tokens = [new_token() for _ in range(1000)]

    assert len(set(tokens)) == 1000
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert 22 <= len(token) <= 64  # >= 128 bits in base64url; fits a /start payload
        assert TOKEN_PATTERN.match(token)


def test_hash_token_is_deterministic_hex_sha256() -> None:
    token = new_token()

    digest = hash_token(token)

    assert digest == hash_token(token)
    assert digest == hashlib.sha256(token.encode("ascii")).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest != token
    assert token not in digest
    assert hash_token(token + "x") != digest


def test_hash_token_known_value() -> None:
    assert hash_token("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


# /infusion arguments ----------------------------------------------------------------------


def _utc_offset_is_zero(moment: datetime) -> bool:
    return moment.utcoffset() == timedelta(0)


def test_infusion_code_only_means_now() -> None:
    request = parse_infusion_args(["p-7k3q"], tz=BERLIN, now=NOW)

    assert request.code == "P-7K3Q"
    assert request.given_at == NOW


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["P-7K3Q", "2026-03-05"], datetime(2026, 3, 5, 11, 0, tzinfo=UTC)),  # 12:00 CET
        (["P-7K3Q", "2025-07-01"], datetime(2025, 7, 1, 10, 0, tzinfo=UTC)),  # 12:00 CEST
        (["P-7K3Q", "2026-03-05", "08:15"], datetime(2026, 3, 5, 7, 15, tzinfo=UTC)),
        (["P-7K3Q", "2026-03-10", "09:30"], datetime(2026, 3, 10, 8, 30, tzinfo=UTC)),
        (["P-7K3Q", "2025-03-11", "00:00"], datetime(2025, 3, 10, 23, 0, tzinfo=UTC)),
        # Today without a time is "now", to the minute.
        (["P-7K3Q", "2026-03-10"], datetime(2026, 3, 10, 15, 0, tzinfo=UTC)),
        # A few minutes ahead of the clock is tolerated (clock skew, typing).
        (["P-7K3Q", "2026-03-10", "16:05"], datetime(2026, 3, 10, 15, 5, tzinfo=UTC)),
    ],
)
def test_infusion_with_date_and_time_in_clinic_zone(args: list[str], expected: datetime) -> None:
    request = parse_infusion_args(args, tz=BERLIN, now=NOW)

    assert request.code == "P-7K3Q"
    assert request.given_at == expected
    assert _utc_offset_is_zero(request.given_at)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["P-7K3Q", "2026-03-11"], "future", id="future-date"),
        pytest.param(["P-7K3Q", "2026-03-10", "16:30"], "future", id="later-today"),
        pytest.param(["P-7K3Q", "2025-03-09"], "more than a year ago", id="over-a-year"),
        pytest.param(["P-7K3Q", "2020-01-01", "12:00"], "more than a year ago", id="long-ago"),
        pytest.param(["P-7K3Q", "0001-01-01", "00:10"], "more than a year ago", id="year-1"),
        pytest.param(["P-7K3Q", "9999-12-31", "23:59"], "future", id="year-9999"),
        pytest.param(["P-7K3Q", "2026-02-30"], "not a real date", id="february-30"),
        pytest.param(["P-7K3Q", "2026-13-01"], "not a real date", id="month-13"),
        pytest.param(["P-7K3Q", "2026-1-5"], "is not a date", id="unpadded-date"),
        pytest.param(["P-7K3Q", "05.03.2026"], "is not a date", id="german-date"),
        pytest.param(["P-7K3Q", "yesterday"], "is not a date", id="word-date"),
        pytest.param(["P-7K3Q", "2026-03-05", "25:00"], "is not a time", id="hour-25"),
        pytest.param(["P-7K3Q", "2026-03-05", "9:00"], "is not a time", id="unpadded-time"),
        pytest.param(["P-7K3Q", "2026-03-05", "12:00pm"], "is not a time", id="am-pm"),
        pytest.param(["P-7K3Q", "2026-03-05", "12:00", "extra"], "Usage", id="too-many"),
        pytest.param([], "Usage", id="no-args"),
        pytest.param(["hello!"], "not a patient code", id="bad-code"),
    ],
)
def test_infusion_arguments_are_rejected(args: list[str], message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_infusion_args(args, tz=BERLIN, now=NOW)

    assert message in input_problem(info.value)


# Classifying Bot API errors -------------------------------------------------------------


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


# Retry back-off ---------------------------------------------------------------------------


def test_retry_delay_starts_at_thirty_seconds() -> None:
    assert retry_delay(1) == timedelta(seconds=30) == RETRY_FIRST
    assert retry_delay(0) == timedelta(seconds=30)


def test_retry_delay_doubles_then_caps_at_thirty_minutes() -> None:
    delays = [retry_delay(attempts) for attempts in range(1, 60)]

    assert delays[:6] == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 960)]
    assert timedelta(minutes=30) == RETRY_MAX
    assert max(delays) == RETRY_MAX
    assert delays[-1] == RETRY_MAX
    assert all(a <= b for a, b in pairwise(delays))
    assert retry_delay(10**6) == RETRY_MAX


def test_chat_migrated_names_the_new_chat() -> None:
    from telegram.error import ChatMigrated

    assert outcome_of(ChatMigrated(-1001234)) == Migrated(new_chat_id=-1001234)
