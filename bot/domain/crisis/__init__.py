"""Suicide and self-harm language in patient free text.

`CrisisNet.assess(text)` is the layered net (URGENT, CONCERN, REVIEW, NONE) with its
reasons; `CrisisDetector.check(text)` is the explicit pattern layer alone, as before.
"""

from __future__ import annotations

from bot.domain.crisis._assessment import Assessment, Layer
from bot.domain.crisis._detector import CrisisDetector, CrisisSignal
from bot.domain.crisis._errors import CrisisPatternError
from bot.domain.crisis._load import CATEGORIES
from bot.domain.crisis._model import ACTED_MODEL, SIGNAL_MODEL, URGENT_MODEL
from bot.domain.crisis._negation import NegationRules
from bot.domain.crisis._net import CrisisNet

__all__ = [
    "ACTED_MODEL",
    "CATEGORIES",
    "SIGNAL_MODEL",
    "URGENT_MODEL",
    "Assessment",
    "CrisisDetector",
    "CrisisNet",
    "CrisisPatternError",
    "CrisisSignal",
    "Layer",
    "NegationRules",
]
