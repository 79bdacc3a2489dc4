"""Telegram's size limits, counted as Telegram counts them."""

from __future__ import annotations

from telegram.constants import MessageLimit

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH


def units(text: str) -> int:
    """Return the length Telegram counts: UTF-16 code units (an emoji can be two)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int = TEXT_LIMIT) -> str:
    """Cut text to a limit in UTF-16 units, never through a character."""
    while units(text) > limit:
        text = text[: -max(1, (units(text) - limit) // 2)]
    return text
