"""Reading the bot's messages: patient codes, invitation links and buttons."""

from __future__ import annotations

import re
from typing import Any

from bot.fake_telegram import SentMessage

from ._errors import DemoError

JSONDict = dict[str, Any]

CODE = re.compile(r"\b(P-[A-Z0-9]{4,8})\b")
LINK = re.compile(r"https://t\.me/[A-Za-z0-9_]+\?start=([A-Za-z0-9_-]+)")
_SCORE_LABELS = [str(score) for score in range(11)]


def labels_of(message: SentMessage) -> list[str]:
    """Return the labels of a message's inline buttons, row by row."""
    return [label for label, _ in message.buttons()]


def is_checkin_prompt(message: SentMessage) -> bool:
    """Tell whether a bot message is a mood check-in with its eleven score buttons."""
    return labels_of(message) == _SCORE_LABELS


QUESTIONNAIRE_OPTIONS = [
    "Not at all",
    "Several days",
    "More than half the days",
    "Nearly every day",
]


def is_questionnaire(message: SentMessage) -> bool:
    """Tell whether a bot message is a questionnaire item (PHQ-9, GAD-7) with its options."""
    return labels_of(message)[:4] == QUESTIONNAIRE_OPTIONS


def button_data(message: SentMessage, label: str) -> str:
    """Return the callback data of the button with exactly this label."""
    for text, data in message.buttons():
        if text == label:
            return data
    raise DemoError(f"the bot's message has no [{label}] button")
