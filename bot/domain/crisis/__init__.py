"""Suicide and self-harm language in patient free text: normalise, drop idioms, match, negate."""

from __future__ import annotations

from bot.domain.crisis._detector import CrisisDetector, CrisisSignal
from bot.domain.crisis._errors import CrisisPatternError
from bot.domain.crisis._load import CATEGORIES
from bot.domain.crisis._negation import NegationRules

__all__ = [
    "CATEGORIES",
    "CrisisDetector",
    "CrisisPatternError",
    "CrisisSignal",
    "NegationRules",
]
