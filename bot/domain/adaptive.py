"""The adaptive check-in: one extra check-in the day after a markedly low answer (pure).

After every stored answer the dispatcher asks `plan_extra_checkin` whether to plan one
extra check-in. It says yes (the due time) only when all of these hold:

* the policy is enabled and the patient's own level is known (the detector's
  `patient_level`, from the same observations `evaluate` reads);
* the answer is markedly low against that level: at least `low_drop` points and at least
  `low_spreads` of the patient's spreads below it;
* no extra check-in is already pending (at most one at a time);
* the next planned check-in is more than `min_lead_hours` away (none planned: no extra, the
  plan is over);
* the extra, at the patient's usual check-in time on the first day that leaves at least
  `min_gap_hours` after the answer, is not in the patient's local night (from `night_start`
  to `night_end`, in their time zone) and comes at least `min_gap_hours` before the next
  planned check-in.

docs/detection.md ("The adaptive check-in") has the measurements behind the defaults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, TypeGuard

from bot.domain.detection import Level, Observation

_FLOAT_LIMITS: dict[str, tuple[float, float]] = {
    "low_drop": (0.0, 10.0),
    "low_spreads": (0.0, 10.0),
    "min_lead_hours": (24.0, 336.0),
    "min_gap_hours": (1.0, 24.0),
}
_TIME_KEYS = ("night_start", "night_end")
_DAYS_AHEAD = 3


@dataclass(frozen=True, slots=True)
class AdaptiveConfig:
    """The `[adaptive]` table: when one extra check-in is planned after a low answer."""

    enabled: bool = True
    low_drop: float = 1.0
    low_spreads: float = 0.0
    min_lead_hours: float = 36.0
    min_gap_hours: float = 12.0
    night_start: time = time(22, 0)
    night_end: time = time(8, 0)

    def __post_init__(self) -> None:
        """Reject values outside the documented ranges."""
        if not isinstance(self.enabled, bool):
            raise ValueError("enabled must be true or false")
        for name, (low, high) in _FLOAT_LIMITS.items():
            value = getattr(self, name)
            if not _is_number(value) or not low <= value <= high:
                raise ValueError(f"{name} must be a number from {low:g} to {high:g}")
        for name in _TIME_KEYS:
            if not isinstance(getattr(self, name), time):
                raise ValueError(f"{name} must be an 'HH:MM' time")
        if self.night_start == self.night_end:
            raise ValueError("night_start and night_end must differ")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> AdaptiveConfig:
        """Build the policy from an `[adaptive]` table; missing keys keep their defaults."""
        known = {field.name for field in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in known:
                raise ValueError(f"[adaptive] unknown key {key!r}")
            values[key] = _table_value(key, value)
        try:
            return cls(**values)
        except ValueError as err:
            raise ValueError(f"[adaptive] {err}") from None

    def in_night(self, local: time) -> bool:
        """Return whether a local time of day falls in the night (start included, end not)."""
        if self.night_start < self.night_end:
            return self.night_start <= local < self.night_end
        return local >= self.night_start or local < self.night_end


def _table_value(key: str, value: object) -> Any:
    """Return a table value as the config holds it, or raise naming the key."""
    if key in _TIME_KEYS:
        parsed = _hhmm(value)
        if parsed is None:
            raise ValueError(f"[adaptive] {key} must be an 'HH:MM' time, got {value!r}")
        return parsed
    if key == "enabled":
        if not isinstance(value, bool):
            raise ValueError(f"[adaptive] enabled must be true or false, got {value!r}")
        return value
    low, high = _FLOAT_LIMITS[key]
    if not _is_number(value) or not low <= value <= high:
        raise ValueError(
            f"[adaptive] {key} must be a number from {low:g} to {high:g}, got {value!r}"
        )
    return float(value)


def _is_number(value: object) -> TypeGuard[int | float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _hhmm(value: object) -> time | None:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return None
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        return None
    return time(int(hours), int(minutes))


def markedly_low(score: int, level: Level, config: AdaptiveConfig) -> bool:
    """Return whether an answer is markedly low against the patient's own level."""
    drop = level.level - score
    return drop >= config.low_drop - 1e-9 and drop >= config.low_spreads * level.sd - 1e-9


def plan_extra_checkin(
    *,
    answer: Observation,
    level: Level | None,
    next_planned: datetime | None,
    zone: tzinfo,
    checkin_time: time,
    extra_pending: bool,
    now: datetime,
    config: AdaptiveConfig,
) -> datetime | None:
    """Return when to ask the extra check-in (an aware UTC moment), or None.

    `answer`: the answer just stored (a missed check-in, score None, never plans one);
    `level`: `patient_level(...)` after storing it; `next_planned`: the due time of the next
    planned check-in (None: none left); `zone` and `checkin_time`: the patient's time zone and
    usual local check-in time; `extra_pending`: an extra check-in is already planned and not
    yet answered, missed or cancelled; `now`: the current moment (no clock is read).
    """
    for moment, what in ((answer.at, "answer time"), (now, "now")):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{what} must be timezone-aware")
    if not config.enabled or extra_pending or level is None or answer.score is None:
        return None
    if level.declining:
        return None
    if not markedly_low(answer.score, level, config) or next_planned is None:
        return None
    gap = timedelta(hours=config.min_gap_hours)
    if next_planned - now <= timedelta(hours=config.min_lead_hours):
        return None
    due = _next_usual_time(now, zone, checkin_time, gap)
    if due is None or config.in_night(due.astimezone(zone).time()):
        return None
    if next_planned - due < gap:
        return None
    return due


def _next_usual_time(
    now: datetime, zone: tzinfo, checkin_time: time, gap: timedelta
) -> datetime | None:
    """Return the first usual check-in time, in the patient's zone, at least `gap` after now."""
    local_date = now.astimezone(zone).date()
    for offset in range(_DAYS_AHEAD):
        wall = datetime.combine(local_date + timedelta(days=offset), checkin_time, tzinfo=zone)
        # In UTC: a wall time skipped by a daylight-saving change moves forward by the gap.
        moment = wall.astimezone(UTC)
        if moment - now >= gap:
            return moment
    return None
