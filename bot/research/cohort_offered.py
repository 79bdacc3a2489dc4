"""What a simulated patient would answer on a day without a planned check-in.

The adaptive check-in policy may ask a patient on a day the plan leaves out. So that a
replay can tell what they would have said, the cohort carries one `offered_mood` or
`offered_missed` row for every such day (days 1 to the plan's last day after each infusion,
before the next one), at the patient's usual hour. The evaluation reads an offered row only
when the policy asks at that moment and ignores the rest.

The offered answers come from the same patient as the planned ones: the same true level and
relapse, the same chance of missing (higher while relapsing, always after they stop
answering), and day-to-day noise from the same AR(1) (Ornstein-Uhlenbeck) process, drawn
conditionally on the noise already drawn for the planned answers around it (a bridge), so
that the planned rows are exactly those of a cohort without offered rows. They are drawn
from a random stream of their own for the same reason.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.research.cohort_format import CohortRow, RowKind


class Segment(Protocol):
    """What the offered answers need of a stretch from one infusion to the next."""

    start: float
    end: float

    def level_at(self, day: float) -> float: ...

    def relapsing_at(self, day: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class Answering:
    """How one simulated patient answers: hour, noise, chance of missing, when they stop."""

    hour: float
    sd: float
    autocorrelation: float
    miss: float
    miss_while_relapsing: float
    disengage_at: float


def offered_rows(
    code: str,
    segments: Sequence[Segment],
    plan_days: Sequence[int],
    answering: Answering,
    planned_noise: Sequence[tuple[float, float]],
    rng: random.Random,
) -> Iterator[CohortRow]:
    """Yield the offered rows of one patient, in time order.

    `planned_noise` holds (due, noise) for every planned check-in, in time order.
    """
    planned = set(plan_days)
    times = [due for due, _ in planned_noise]
    values = [noise for _, noise in planned_noise]
    last: tuple[float, float] | None = None
    for segment in segments:
        for day in range(1, plan_days[-1] + 1):
            due = math.floor(segment.start) + day + answering.hour
            if due >= segment.end:
                break
            index = bisect.bisect_right(times, due)
            if last is None or (index > 0 and times[index - 1] > last[0]):
                last = (times[index - 1], values[index - 1]) if index > 0 else None
            following = (times[index], values[index]) if index < len(times) else None
            noise = _bridge(rng, answering, due, last, following)
            last = (due, noise)
            if day in planned:
                continue
            yield _offered(code, segment, answering, due, noise, rng)


def _offered(
    code: str,
    segment: Segment,
    answering: Answering,
    due: float,
    noise: float,
    rng: random.Random,
) -> CohortRow:
    chance = answering.miss_while_relapsing if segment.relapsing_at(due) else answering.miss
    if due >= answering.disengage_at or rng.random() < chance:
        return CohortRow(code, round(due, 4), RowKind.OFFERED_MISSED)
    score = round(segment.level_at(due) + noise)
    return CohortRow(code, round(due, 4), RowKind.OFFERED_MOOD, min(10, max(0, score)))


def _bridge(
    rng: random.Random,
    answering: Answering,
    at: float,
    before: tuple[float, float] | None,
    after: tuple[float, float] | None,
) -> float:
    """Draw the AR(1) noise at `at` given its values at the nearest times before and after.

    The process has stationary spread `sd` and correlation `autocorrelation ** gap` over a
    gap in days. A time that coincides with a known one takes its value.
    """
    sd, rho = answering.sd, answering.autocorrelation
    if before is not None and at - before[0] <= 0:
        return before[1]
    if after is not None and after[0] - at <= 0:
        return after[1]
    left = rho ** (at - before[0]) if before is not None else 0.0
    right = rho ** (after[0] - at) if after is not None else 0.0
    x_before = before[1] if before is not None else 0.0
    x_after = after[1] if after is not None else 0.0
    denominator = 1 - left * left * right * right
    mean = (left * (1 - right * right) * x_before + right * (1 - left * left) * x_after) / (
        denominator
    )
    variance = sd * sd * (1 - left * left) * (1 - right * right) / denominator
    return mean + math.sqrt(max(0.0, variance)) * rng.gauss(0.0, 1.0)
