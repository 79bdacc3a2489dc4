"""The detector's thresholds, their documented ranges and the `[detection]` table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeGuard

from bot.domain.detection._model import SCORE_MAX, SCORE_MIN

_INT_LIMITS: dict[str, tuple[int, int]] = {
    "baseline_answers": (2, 14),
    "baseline_max_answers": (2, 60),
    "confirm_answers": (1, 10),
    "recovery_answers": (1, 10),
    "low_mood_threshold": (SCORE_MIN, SCORE_MAX - 1),
    "low_mood_answers": (1, 10),
    "low_mood_recovery_answers": (1, 10),
    "low_mood_recovery_score": (SCORE_MIN + 1, SCORE_MAX),
    "missed_in_a_row": (1, 20),
    "evidence_limit": (2, 50),
}
_FLOAT_LIMITS: dict[str, tuple[float, float]] = {
    "sd_floor": (0.1, 5.0),
    "cusum_k": (0.0, 3.0),
    "cusum_h": (0.1, 50.0),
    "min_drop": (0.0, 10.0),
    "confirm_mean_drop": (0.5, 10.0),
    "confirm_min_hours": (0.0, 168.0),
    "recovery_margin": (0.0, 10.0),
}
_BOOL_KEYS = frozenset({"low_mood_while_declining"})


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Every threshold of the detector, with the documented defaults (docs/detection.md)."""

    baseline_answers: int = 3
    baseline_max_answers: int = 12
    sd_floor: float = 1.0
    cusum_k: float = 0.5
    cusum_h: float = 4.0
    min_drop: float = 0.5
    confirm_mean_drop: float = 1.75
    confirm_answers: int = 2
    confirm_min_hours: float = 12.0
    recovery_answers: int = 2
    recovery_margin: float = 1.0
    low_mood_threshold: int = 3
    low_mood_answers: int = 2
    low_mood_recovery_answers: int = 2
    low_mood_recovery_score: int = 5
    missed_in_a_row: int = 2
    evidence_limit: int = 10
    low_mood_while_declining: bool = True

    def __post_init__(self) -> None:
        """Reject values outside the documented ranges."""
        for name, (low, high) in _INT_LIMITS.items():
            value = getattr(self, name)
            if not is_int(value) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}")
        for name, (flow, fhigh) in _FLOAT_LIMITS.items():
            value = getattr(self, name)
            if not _is_number(value) or not flow <= value <= fhigh:
                raise ValueError(f"{name} must be a number from {flow:g} to {fhigh:g}")
        for name in _BOOL_KEYS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        if self.baseline_max_answers < self.baseline_answers:
            raise ValueError("baseline_max_answers must be at least baseline_answers")
        if self.low_mood_recovery_score <= self.low_mood_threshold:
            raise ValueError("low_mood_recovery_score must be above low_mood_threshold")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> DetectorConfig:
        """Build a config from a `[detection]` table; missing keys keep their defaults."""
        known = {field.name for field in fields(cls)}
        for key in mapping:
            if key not in known:
                raise ValueError(f"[detection] unknown key {key!r}")
        values = {key: _table_value(key, value) for key, value in mapping.items()}
        try:
            return cls(**values)
        except ValueError as err:
            raise ValueError(f"[detection] {err}") from None


def _table_value(key: str, value: object) -> Any:
    """Return a known key's value from the table, as the config holds it, or raise."""
    if key in _INT_LIMITS:
        low, high = _INT_LIMITS[key]
        if not is_int(value) or not low <= value <= high:
            raise ValueError(
                f"[detection] {key} must be a whole number from {low} to {high}, got {value!r}"
            )
        return value
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise ValueError(f"[detection] {key} must be true or false, got {value!r}")
        return value
    flow, fhigh = _FLOAT_LIMITS[key]
    if not _is_number(value) or not flow <= value <= fhigh:
        raise ValueError(
            f"[detection] {key} must be a number from {flow:g} to {fhigh:g}, got {value!r}"
        )
    return float(value)


def is_int(value: object) -> TypeGuard[int]:
    """Return whether value is a whole number (an int, not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)
