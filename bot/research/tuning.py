"""Sweeping the detector's main thresholds on a cohort: the frontier a clinic chooses from.

Each setting of the swept keys (the rest as in the base protocol) is replayed closed-loop
(`evaluate_rows`). A setting is on the frontier when no other one finds at least as many
relapses with at most as many false alerts per patient-month (one of the two strictly).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields, replace
from typing import Any

from bot.domain.adaptive import AdaptiveConfig
from bot.domain.detection import DetectorConfig
from bot.research.cohort_format import CohortRow
from bot.research.evaluation import Report, evaluate_rows

# "table.key": the values swept. Chosen to span the useful range on the synthetic cohort
# (docs/detection.md, "Choosing the operating point").
SWEEP: dict[str, tuple[float, ...]] = {
    "detection.cusum_h": (2.0, 3.0, 4.0),
    "detection.confirm_mean_drop": (1.25, 1.5, 1.75, 2.0),
    "detection.sd_floor": (0.75, 1.0),
    "adaptive.low_drop": (1.0, 1.5, 2.5),
}


@dataclass(frozen=True, slots=True)
class Setting:
    """One operating point: the full detector and adaptive configuration."""

    detection: DetectorConfig
    adaptive: AdaptiveConfig

    def value(self, key: str) -> float | bool:
        """Return the value of a "table.key" name."""
        table, name = key.split(".", 1)
        config = self.detection if table == "detection" else self.adaptive
        value: float | bool = getattr(config, name)
        return value

    def with_values(self, values: Mapping[str, float]) -> Setting:
        """Return this setting with some "table.key" values replaced."""
        detection = _fields_of(DetectorConfig, "detection", values)
        adaptive = _fields_of(AdaptiveConfig, "adaptive", values)
        return Setting(
            detection=replace(self.detection, **detection),
            adaptive=replace(self.adaptive, **adaptive),
        )


@dataclass(frozen=True, slots=True)
class Point:
    """How one setting did on the cohort."""

    setting: Setting
    sensitivity: float
    false_alerts: float
    median_delay_days: float
    extra_share: float

    @classmethod
    def of(cls, setting: Setting, report: Report) -> Point:
        """Return the figures of a report."""
        return cls(
            setting=setting,
            sensitivity=report.detector.sensitivity,
            false_alerts=report.detector.false_alerts_per_patient_month,
            median_delay_days=report.detector.median_delay_days,
            extra_share=report.extra_checkin_share,
        )


def _fields_of(kind: type, table: str, values: Mapping[str, float]) -> dict[str, Any]:
    """Return the values of one table, cast to their field's type (ints stay ints)."""
    types = {item.name: item.type for item in fields(kind)}
    chosen: dict[str, Any] = {}
    for key, value in values.items():
        prefix, name = key.split(".", 1)
        if prefix == table:
            chosen[name] = int(value) if types[name] in ("int", int) else value
    return chosen


def settings_of(base: Setting, sweep: Mapping[str, Sequence[float]]) -> list[Setting]:
    """Return every combination of the swept values over the base setting."""
    keys = list(sweep)
    return [
        base.with_values(dict(zip(keys, combination, strict=True)))
        for combination in itertools.product(*(sweep[key] for key in keys))
    ]


_ROWS: Sequence[CohortRow] = ()


def _init(rows: Sequence[CohortRow]) -> None:
    global _ROWS  # one read-only copy per worker process
    _ROWS = rows


def _run(setting: Setting) -> Point:
    return Point.of(setting, evaluate_rows(_ROWS, setting.detection, setting.adaptive))


def evaluate_settings(
    rows: Sequence[CohortRow],
    settings: Iterable[Setting],
    *,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[Point]:
    """Replay the cohort under each setting (in `jobs` processes); return their points."""
    chosen = list(settings)
    points: list[Point] = []
    if jobs <= 1:
        _init(rows)
        mapped: Iterable[Point] = map(_run, chosen)
        for point in mapped:
            points.append(point)
            if progress is not None:
                progress(len(points))
        return points
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init, initargs=(rows,)) as pool:
        for point in pool.map(_run, chosen):
            points.append(point)
            if progress is not None:
                progress(len(points))
    return points


def frontier(points: Sequence[Point]) -> list[Point]:
    """Return the points no other point dominates, by false alerts then sensitivity."""
    ordered = sorted(points, key=lambda p: (p.false_alerts, -p.sensitivity, p.median_delay_days))
    best = -math.inf
    kept: list[Point] = []
    for point in ordered:
        if point.sensitivity > best:
            kept.append(point)
            best = point.sensitivity
    return kept


@dataclass(frozen=True, slots=True)
class Tuning:
    """A sweep's outcome: every point, the frontier, the current setting and the naive rule."""

    points: list[Point]
    frontier: list[Point]
    current: Point
    naive: tuple[float, float, float]
    """The naive rule's sensitivity, false alerts per patient-month and median delay."""


def tune(
    rows: Sequence[CohortRow],
    base: Setting,
    sweep: Mapping[str, Sequence[float]] = SWEEP,
    *,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Tuning:
    """Evaluate the base setting and every swept one on the cohort; return the frontier."""
    report = evaluate_rows(rows, base.detection, base.adaptive)
    points = evaluate_settings(rows, settings_of(base, sweep), jobs=jobs, progress=progress)
    naive = report.naive
    return Tuning(
        points=points,
        frontier=frontier(points),
        current=Point.of(base, report),
        naive=(naive.sensitivity, naive.false_alerts_per_patient_month, naive.median_delay_days),
    )
