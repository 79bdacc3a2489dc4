"""The ceiling: what a method that knew each patient's true level could reach on a cohort."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from bot.research.cohort import Segment, simulated
from bot.research.cohort_format import SCORED, CohortRow, RowKind


@dataclass(frozen=True, slots=True)
class Ceiling:
    """What a method that knew each patient's true level could reach on a cohort.

    An onset counts as detectable when at least two answers in the `window_days` after it
    were given while the patient's true level was at least `drop` points below their level
    before the relapse; the delay is the time from the onset to the second such answer. No
    method that waits for a second answer confirming a drop of that size can do better.
    """

    drop: float
    onsets: int
    detectable: int
    median_delay_days: float

    @property
    def sensitivity(self) -> float:
        """Return the share of onsets that are detectable."""
        return self.detectable / self.onsets if self.onsets else 0.0


def oracle_ceiling(
    patients: int, seed: int, drop: float, window_days: float = 14.0, *, daily: bool = False
) -> Ceiling:
    """Return the ceiling of the cohort `simulate_cohort(patients, seed)` for a true drop.

    With `daily`, as if the patient were asked every day (planned and offered answers).
    """
    onsets = 0
    delays: list[float] = []
    for segments, rows in simulated(patients, seed, offered=daily):
        counted, found = _ceiling_delays(segments, rows, drop, window_days)
        onsets += counted
        delays.extend(found)
    median = statistics.median(delays) if delays else math.nan
    return Ceiling(drop=drop, onsets=onsets, detectable=len(delays), median_delay_days=median)


def _ceiling_delays(
    segments: list[Segment], rows: list[CohortRow], drop: float, window_days: float
) -> tuple[int, list[float]]:
    """Return how many written onsets one patient has, and the delays of the detectable ones."""
    written = {row.day for row in rows if row.kind is RowKind.RELAPSE_ONSET}
    answers = [row.day for row in rows if row.kind in SCORED]
    onsets = 0
    delays: list[float] = []
    for segment in segments:
        relapse = segment.relapse
        if relapse is None or round(relapse.onset, 4) not in written:
            continue
        onsets += 1
        fallen = [
            day
            for day in answers
            if relapse.onset <= day <= relapse.onset + window_days
            and day < segment.end
            and segment.level - segment.level_at(day) >= drop
        ]
        if len(fallen) >= 2:
            delays.append(fallen[1] - relapse.onset)
    return onsets, delays
