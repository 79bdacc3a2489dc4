"""Keyboards and their callback data, parsed strictly: clients can forge it."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.keyboards import (
    CONSENT_DATA,
    MoodChoice,
    consent_keyboard,
    mood_keyboard,
    parse_mood,
    parse_time,
)


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
