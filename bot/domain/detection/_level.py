"""The patient's own post-infusion level, estimated from their answers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.domain.detection._config import DetectorConfig


@dataclass(frozen=True, slots=True)
class Baseline:
    """The patient's own post-infusion level: mean and spread of the answers it rests on."""

    level: float
    sd: float


class Reference:
    """Running mean and spread of the answers that define the patient's level."""

    def __init__(self) -> None:
        self.count = 0
        self._total = 0.0
        self._squares = 0.0

    def add(self, score: int) -> None:
        self.count += 1
        self._total += score
        self._squares += score * score

    def baseline(self, config: DetectorConfig) -> Baseline:
        level = self._total / self.count
        variance = max(0.0, self._squares - self.count * level * level) / (self.count - 1)
        return Baseline(level=level, sd=max(math.sqrt(variance), config.sd_floor))
