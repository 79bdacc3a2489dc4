"""What the services parse from what people type: scores, codes, tokens, /infusion."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

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
from bot.telegram.staff_texts import input_problem

BERLIN = ZoneInfo("Europe/Berlin")
# Tuesday 10 March 2026, 16:00:42 in Berlin (CET, UTC+1).
NOW = datetime(2026, 3, 10, 15, 0, 42, tzinfo=UTC)


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
