"""A synthetic cohort of infusion patients with known relapse onsets, and its CSV format.

The model and the source of each parameter are in docs/detection.md ("The cohort model").
The parameters below were chosen from the clinical facts before the detector was evaluated
and are not tuned to it. Every patient is drawn from its own random stream, seeded by the
cohort seed and the patient's number, so a smaller cohort is a prefix of a larger one.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import random
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.domain.errors import AfterglowError

HEADER = ("patient", "day", "kind", "value")

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


class RowKind(StrEnum):
    """What a cohort row records."""

    INFUSION = "infusion"
    MOOD = "mood"
    MISSED = "missed"
    RELAPSE_ONSET = "relapse_onset"


_ORDER = {RowKind.INFUSION: 0, RowKind.RELAPSE_ONSET: 1, RowKind.MOOD: 2, RowKind.MISSED: 2}


@dataclass(frozen=True, slots=True)
class CohortRow:
    """One CSV row: a float day from the cohort start, a kind, a score for mood rows."""

    patient: str
    day: float
    kind: RowKind
    value: int | None = None


class CohortFormatError(AfterglowError, ValueError):
    """A cohort CSV line that cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class _Relapse:
    onset: float
    depth: float
    duration: float


@dataclass(slots=True)
class _Segment:
    """The time from one infusion to the next, with its mood level and any relapse."""

    start: float
    end: float
    level: float
    relapse: _Relapse | None = None

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


def patient_code(index: int) -> str:
    """Return the pseudonymous code of the index-th simulated patient."""
    return f"P{index + 1:05d}"


def simulate_cohort(patients: int, seed: int) -> list[CohortRow]:
    """Return the rows of a cohort of `patients` simulated patients, in patient and time order."""
    rows: list[CohortRow] = []
    for _, patient_rows in _simulate(patients, seed):
        rows.extend(patient_rows)
    return rows


def _simulate(patients: int, seed: int) -> Iterator[tuple[list[_Segment], list[CohortRow]]]:
    if patients < 1:
        raise ValueError("patients must be at least 1")
    for index in range(patients):
        rng = random.Random(f"afterglow-cohort:{seed}:{index}")
        segments = _build_segments(rng)
        rows = sorted(_observe(patient_code(index), segments, rng), key=sort_key)
        yield segments, rows


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


def oracle_ceiling(patients: int, seed: int, drop: float, window_days: float = 14.0) -> Ceiling:
    """Return the ceiling of the cohort `simulate_cohort(patients, seed)` for a true drop."""
    onsets = 0
    delays: list[float] = []
    for segments, rows in _simulate(patients, seed):
        counted, found = _ceiling_delays(segments, rows, drop, window_days)
        onsets += counted
        delays.extend(found)
    median = statistics.median(delays) if delays else math.nan
    return Ceiling(drop=drop, onsets=onsets, detectable=len(delays), median_delay_days=median)


def _ceiling_delays(
    segments: list[_Segment], rows: list[CohortRow], drop: float, window_days: float
) -> tuple[int, list[float]]:
    """Return how many written onsets one patient has, and the delays of the detectable ones."""
    written = {row.day for row in rows if row.kind is RowKind.RELAPSE_ONSET}
    answers = [row.day for row in rows if row.kind is RowKind.MOOD]
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


def _build_segments(rng: random.Random) -> list[_Segment]:
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
        _Segment(at, math.inf, pre + (response - pre) * min(1.0, (number + 1) / ramp))
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
            current.relapse = _Relapse(onset, depth, _uniform(rng, DECLINE_DAYS))
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
        segments.append(_Segment(at, math.inf, response))
    return segments


def _observe(code: str, segments: list[_Segment], rng: random.Random) -> Iterator[CohortRow]:
    hour = rng.choice(CHECKIN_HOURS) / 24
    sd = _uniform(rng, NOISE_SD)
    autocorrelation = _uniform(rng, NOISE_AUTOCORRELATION)
    miss = _uniform(rng, MISS_CHANCE)
    follow_up_end = math.floor(segments[-1].start) + PLAN_DAYS[-1] + hour
    disengage_at = math.inf
    if rng.random() < DISENGAGE_SHARE:
        disengage_at = _uniform(rng, (segments[0].start + DISENGAGE_EARLIEST_DAYS, follow_up_end))

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
                rho = autocorrelation ** (due - previous)
                noise = rho * noise + math.sqrt(1 - rho * rho) * rng.gauss(0.0, sd)
            previous = due
            relapsing = relapse is not None and due >= relapse.onset
            chance = min(MISS_CHANCE_MAX, miss * RELAPSE_MISS_FACTOR) if relapsing else miss
            if due >= disengage_at or rng.random() < chance:
                yield CohortRow(code, round(due, 4), RowKind.MISSED)
                continue
            delay = rng.uniform(0, ANSWER_DELAY_HOURS) / 24
            answered = max(due, min(due + delay, segment.end - 1 / 1440))
            score = round(segment.level_at(answered) + noise)
            yield CohortRow(code, round(answered, 4), RowKind.MOOD, min(10, max(0, score)))


def write_cohort_csv(rows: Iterable[CohortRow], path: Path) -> None:
    """Write rows as `patient,day,kind,value` CSV with a header line."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for row in rows:
            value = "" if row.value is None else str(row.value)
            writer.writerow((row.patient, f"{row.day:.4f}", row.kind.value, value))


def read_cohort_csv(path: Path) -> list[CohortRow]:
    """Read and validate a cohort CSV; raise CohortFormatError naming the bad line."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CohortFormatError(f"{path}: cannot read ({err.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise CohortFormatError(f"{path}:{line}: not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[CohortRow] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader, None)
        except csv.Error as err:
            raise CohortFormatError(f"{path}:{line}: not valid CSV ({err})") from None
        if cells is None:
            break
        if line == 1:
            if tuple(cell.strip() for cell in cells) != HEADER:
                raise CohortFormatError(
                    f"{path}:1: the first line must be 'patient,day,kind,value'"
                )
        elif cells:
            rows.append(_parse_row(cells, f"{path}:{line}"))
    if reader.line_num == 0:
        raise CohortFormatError(f"{path}:1: the first line must be 'patient,day,kind,value'")
    if not rows:
        raise CohortFormatError(f"{path}:2: no rows after the header")
    return rows


def _parse_row(cells: list[str], where: str) -> CohortRow:
    if len(cells) != len(HEADER):
        raise CohortFormatError(f"{where}: expected 4 fields, got {len(cells)}")
    patient, day_text, kind_text, value_text = (cell.strip() for cell in cells)
    if not patient:
        raise CohortFormatError(f"{where}: empty patient")
    try:
        day = float(day_text)
    except ValueError:
        raise CohortFormatError(f"{where}: day {day_text!r} is not a number") from None
    if not math.isfinite(day) or day < 0:
        raise CohortFormatError(f"{where}: day {day_text!r} must be a finite number >= 0")
    try:
        kind = RowKind(kind_text)
    except ValueError:
        allowed = ", ".join(item.value for item in RowKind)
        raise CohortFormatError(f"{where}: kind {kind_text!r} is not one of {allowed}") from None
    if kind is RowKind.MOOD:
        if not (value_text.isascii() and value_text.isdigit()) or not 0 <= int(value_text) <= 10:
            raise CohortFormatError(f"{where}: mood value {value_text!r} must be 0 to 10")
        return CohortRow(patient, day, kind, int(value_text))
    if value_text:
        raise CohortFormatError(f"{where}: {kind.value} rows take no value, got {value_text!r}")
    return CohortRow(patient, day, kind)


def sort_key(row: CohortRow) -> tuple[float, int]:
    """Return the replay order of a patient's rows: time, then infusion before answers."""
    return (row.day, _ORDER[row.kind])
