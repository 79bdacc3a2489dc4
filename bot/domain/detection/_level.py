"""The patient's own post-infusion level, estimated from their answers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.domain.detection._config import DetectorConfig


@dataclass(frozen=True, slots=True)
class Level:
    """The patient's own post-infusion level: mean and spread of the answers it rests on."""

    level: float
    """Mean of the answers the level rests on (points, 0-10)."""
    sd: float
    """Their spread (points), never below `sd_floor`."""
    answers: int = 0
    """How many answers it rests on."""
    declining: bool = False
    """A decline episode is open: answers are watched for recovery, not for a new alert."""


class Reference:
    """Running mean and spread of the answers that define the patient's level."""

    def __init__(self) -> None:
        self.count = 0
        self._total = 0.0
        self._squares = 0.0

    def add(self, score: float) -> None:
        self.count += 1
        self._total += score
        self._squares += score * score

    def baseline(self, config: DetectorConfig) -> Level:
        level = self._total / self.count
        variance = max(0.0, self._squares - self.count * level * level) / (self.count - 1)
        sd = max(math.sqrt(variance), config.sd_floor)
        return Level(level=level, sd=sd, answers=self.count)
