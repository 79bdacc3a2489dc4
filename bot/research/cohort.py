"""A synthetic cohort of infusion patients with known relapse onsets (CSV: cohort_format).

The model and the source of each parameter are in docs/detection.md ("The cohort model").
The parameters below were chosen from the clinical facts before the detector was evaluated
and are not tuned to it. Every patient is drawn from its own random stream, seeded by the
cohort seed and the patient's number, so a smaller cohort is a prefix of a larger one.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from bot.research.cohort_format import (
    HEADER,
    CohortFormatError,
    CohortRow,
    RowKind,
    read_cohort_csv,
    sort_key,
    write_cohort_csv,
)
from bot.research.cohort_offered import Answering, offered_rows

__all__ = [
    "HEADER",
    "PLAN_DAYS",
    "CohortFormatError",
    "CohortRow",
    "Relapse",
    "RowKind",
    "Segment",
    "read_cohort_csv",
    "simulate_cohort",
    "simulated",
    "sort_key",
    "write_cohort_csv",
]

# The shipped default check-in plan (bot/data/protocol.toml): days after each infusion.
PLAN_DAYS: tuple[int, ...] = (
    tuple(range(1, 15)) + tuple(range(16, 43, 2)) + tuple(range(49, 92, 7))
)
CHECKIN_HOURS: tuple[int, ...] = (8, 9, 12, 15, 18, 20, 21)

# Enrolment and the infusion series.
ENROLMENT_SPREAD_DAYS = 60.0
SERIES_SIZES: tuple[tuple[int, float], ...] = ((4, 0.1), (5, 0.1), (6, 0.7), (8, 0.1))
SERIES_GAP_DAYS = (2.0, 4.0)
INFUSION_HOURS = (9.0, 16.0)
# Response: pre-treatment mood and the level reached after the series (responders only).
PRE_TREATMENT_LEVEL = (1.5, 4.0)
RESPONSE_LEVEL = (5.5, 8.5)
RESPONSE_RAMP_INFUSIONS = (1, 3)
# Relapse: a share stays well; the others relapse a gamma-distributed time after each
# infusion from the end of the series on (mean 18.5 days, Phillips et al. 2019).
DURABLE_SHARE = 0.30
RELAPSE_GAMMA_SHAPE = 2.0
RELAPSE_MEAN_DAYS = 18.5
SMALL_RELAPSE_SHARE = 0.25
SMALL_RELAPSE_DEPTH = (1.5, 2.5)
FULL_RELAPSE_FRACTION = (0.5, 1.0)
MIN_RELAPSE_DEPTH = 1.5
DECLINE_DAYS = (0.0, 14.0)
# Infusions after the series: scheduled maintenance for some, rescue after a relapse.
MAINTENANCE_SHARE = 0.30
MAINTENANCE_INTERVAL_DAYS = (21.0, 42.0)
MAINTENANCE_MAX = 3
RESCUE_SHARE = 0.5
RESCUE_DELAY_DAYS = (5.0, 21.0)
POST_SERIES_INFUSIONS_MAX = 4
# Day-to-day noise: AR(1) per day with a per-patient spread and autocorrelation.
NOISE_SD = (0.5, 1.5)
NOISE_AUTOCORRELATION = (0.0, 0.5)
# Answering: per-patient chance of missing a check-in, higher while relapsing; some stop.
MISS_CHANCE = (0.02, 0.25)
RELAPSE_MISS_FACTOR = 1.5
MISS_CHANCE_MAX = 0.6
DISENGAGE_SHARE = 0.10
DISENGAGE_EARLIEST_DAYS = 7.0
ANSWER_DELAY_HOURS = 2.0


@dataclass(frozen=True, slots=True)
class Relapse:
    """A relapse: the true level falls linearly by `depth` over `duration` days from onset."""

    onset: float
    depth: float
    duration: float


@dataclass(slots=True)
class Segment:
    """The time from one infusion to the next, with its mood level and any relapse."""

    start: float
    end: float
    level: float
    relapse: Relapse | None = None

    def level_at(self, day: float) -> float:
        """Return the patient's true mood level at `day` within this segment."""
        relapse = self.relapse
        if relapse is None or day < relapse.onset:
            return self.level
        if relapse.duration <= 0:
            progress = 1.0
        else:
            progress = min(1.0, (day - relapse.onset) / relapse.duration)
        return max(0.0, self.level - relapse.depth * progress)

    def relapsing_at(self, day: float) -> bool:
        """Return whether a relapse has begun by `day` (answers are missed more often)."""
        return self.relapse is not None and day >= self.relapse.onset


def patient_code(index: int) -> str:
    """Return the pseudonymous code of the index-th simulated patient."""
    return f"P{index + 1:05d}"


def simulate_cohort(patients: int, seed: int, *, offered: bool = True) -> list[CohortRow]:
    """Return the rows of a cohort of `patients` simulated patients, in patient and time order.

    With `offered`, also the `offered_mood` / `offered_missed` rows (cohort_offered); the
    other rows are the same either way.
    """
    rows: list[CohortRow] = []
    for _, patient_rows in simulated(patients, seed, offered=offered):
        rows.extend(patient_rows)
    return rows


def simulated(
    patients: int, seed: int, *, offered: bool = False
) -> Iterator[tuple[list[Segment], list[CohortRow]]]:
    """Yield each simulated patient's segments (the ground truth) and rows, in patient order."""
    if patients < 1:
        raise ValueError("patients must be at least 1")
    for index in range(patients):
        rng = random.Random(f"afterglow-cohort:{seed}:{index}")
        segments = _build_segments(rng)
        answering = _answering(segments, rng)
        code = patient_code(index)
        noise_at: list[tuple[float, float]] = []
        rows = list(_observe(code, segments, rng, answering, noise_at))
        if offered:
            offer_rng = random.Random(f"afterglow-cohort-offered:{seed}:{index}")
            rows.extend(offered_rows(code, segments, PLAN_DAYS, answering, noise_at, offer_rng))
        yield segments, sorted(rows, key=sort_key)


def _uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    return rng.uniform(bounds[0], bounds[1])


def _series_size(rng: random.Random) -> int:
    draw = rng.random()
    total = 0.0
    for size, share in SERIES_SIZES:
        total += share
        if draw < total:
            return size
    return SERIES_SIZES[-1][0]


def _relapse_delay(rng: random.Random) -> float:
    return rng.gammavariate(RELAPSE_GAMMA_SHAPE, RELAPSE_MEAN_DAYS / RELAPSE_GAMMA_SHAPE)


def _relapse_depth(rng: random.Random, pre: float, response: float) -> float:
    if rng.random() < SMALL_RELAPSE_SHARE:
        return _uniform(rng, SMALL_RELAPSE_DEPTH)
    return max(MIN_RELAPSE_DEPTH, (response - pre) * _uniform(rng, FULL_RELAPSE_FRACTION))


def _build_segments(rng: random.Random) -> list[Segment]:
    start = _uniform(rng, (0.0, ENROLMENT_SPREAD_DAYS))
    infusion_hour = _uniform(rng, INFUSION_HOURS) / 24
    pre = _uniform(rng, PRE_TREATMENT_LEVEL)
    response = _uniform(rng, RESPONSE_LEVEL)
    ramp = rng.randint(*RESPONSE_RAMP_INFUSIONS)
    durable = rng.random() < DURABLE_SHARE
    maintenance = rng.random() < MAINTENANCE_SHARE
    interval = _uniform(rng, MAINTENANCE_INTERVAL_DAYS)

    day = math.floor(start)
    infusions: list[float] = []
    for number in range(_series_size(rng)):
        if number:
            day += round(_uniform(rng, SERIES_GAP_DAYS))
        infusions.append(day + infusion_hour)
    segments = [
        Segment(at, math.inf, pre + (response - pre) * min(1.0, (number + 1) / ramp))
        for number, at in enumerate(infusions)
    ]
    for earlier, later in itertools.pairwise(segments):
        earlier.end = later.start
    segments[-1].level = response

    scheduled = 0
    for _ in range(POST_SERIES_INFUSIONS_MAX):
        current = segments[-1]
        planned = current.start + interval if maintenance and scheduled < MAINTENANCE_MAX else None
        onset = None if durable else current.start + _relapse_delay(rng)
        following = planned
        if onset is not None and (planned is None or onset < planned):
            depth = _relapse_depth(rng, pre, response)
            current.relapse = Relapse(onset, depth, _uniform(rng, DECLINE_DAYS))
            if rng.random() < RESCUE_SHARE:
                rescue = onset + _uniform(rng, RESCUE_DELAY_DAYS)
                following = rescue if planned is None else min(planned, rescue)
        if following is None:
            break
        if following == planned:
            scheduled += 1
        at = math.floor(following) + infusion_hour
        if at <= current.start:
            at += 1
        current.end = at
        segments.append(Segment(at, math.inf, response))
    return segments


def _answering(segments: list[Segment], rng: random.Random) -> Answering:
    """Draw how the patient answers (in the order the cohort has always drawn it)."""
    hour = rng.choice(CHECKIN_HOURS) / 24
    sd = _uniform(rng, NOISE_SD)
    autocorrelation = _uniform(rng, NOISE_AUTOCORRELATION)
    miss = _uniform(rng, MISS_CHANCE)
    follow_up_end = math.floor(segments[-1].start) + PLAN_DAYS[-1] + hour
    disengage_at = math.inf
    if rng.random() < DISENGAGE_SHARE:
        disengage_at = _uniform(rng, (segments[0].start + DISENGAGE_EARLIEST_DAYS, follow_up_end))
    return Answering(
        hour=hour,
        sd=sd,
        autocorrelation=autocorrelation,
        miss=miss,
        miss_while_relapsing=min(MISS_CHANCE_MAX, miss * RELAPSE_MISS_FACTOR),
        disengage_at=disengage_at,
    )


def _observe(
    code: str,
    segments: list[Segment],
    rng: random.Random,
    answering: Answering,
    noise_at: list[tuple[float, float]],
) -> Iterator[CohortRow]:
    """Yield the planned rows; record the noise at each planned due time in `noise_at`."""
    hour, sd = answering.hour, answering.sd
    follow_up_end = math.floor(segments[-1].start) + PLAN_DAYS[-1] + hour
    noise = rng.gauss(0.0, sd)
    previous: float | None = None
    for segment in segments:
        yield CohortRow(code, round(segment.start, 4), RowKind.INFUSION)
        relapse = segment.relapse
        if relapse is not None and relapse.onset < min(segment.end, follow_up_end):
            yield CohortRow(code, round(relapse.onset, 4), RowKind.RELAPSE_ONSET)
        for plan_day in PLAN_DAYS:
            due = math.floor(segment.start) + plan_day + hour
            if due >= segment.end:
                break
            if previous is not None:
                rho = answering.autocorrelation ** (due - previous)
                noise = rho * noise + math.sqrt(1 - rho * rho) * rng.gauss(0.0, sd)
            previous = due
            noise_at.append((due, noise))
            relapsing = segment.relapsing_at(due)
            chance = answering.miss_while_relapsing if relapsing else answering.miss
            if due >= answering.disengage_at or rng.random() < chance:
                yield CohortRow(code, round(due, 4), RowKind.MISSED)
                continue
            delay = rng.uniform(0, ANSWER_DELAY_HOURS) / 24
            answered = max(due, min(due + delay, segment.end - 1 / 1440))
            score = round(segment.level_at(answered) + noise)
            yield CohortRow(code, round(answered, 4), RowKind.MOOD, min(10, max(0, score)))
