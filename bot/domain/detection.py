"""Detecting a declining mood trend on a patient's own post-infusion level (pure, no I/O).

The method (docs/detection.md has the rationale and references):

* decline: a self-starting lower one-sided CUSUM control chart on the patient's own level.
  The first `baseline_answers` answers after the last infusion give a first estimate of the
  level (mean) and spread (standard deviation, never below `sd_floor`). Each later answer
  feeds the chart ``S = max(0, S + (level - score) / sd - cusum_k)``; an answer that leaves
  the chart at zero (in control) and is among the first `baseline_max_answers` answers also
  joins the estimate of the level, so the level rests on up to that many answers. A decline
  is found when ``S`` reaches `cusum_h` and the last `confirm_answers` answers in a row are
  each at least `min_drop` points below the level, on average at least `confirm_mean_drop`
  points below it, and span at least `confirm_min_hours` (so one bad day, or several answers
  on one bad day, is not an alarm). It recovers after `recovery_answers` answers in a row
  within `recovery_margin` points of the level.
* low_mood: `low_mood_answers` answers in a row at or below `low_mood_threshold`, spanning at
  least `confirm_min_hours`; recovers after `low_mood_recovery_answers` answers in a row above
  the threshold.
* disengagement: `missed_in_a_row` missed check-ins in a row after at least one answer since
  the last infusion; recovers with any answer.

With `low_mood_while_declining` false, no low_mood episode opens while a decline episode is
open (the decline alert already covers that relapse).

Missed check-ins carry no score: they neither move the control chart nor break a run of
answers. After an episode of a kind ends (recovery, staff resolving it, a new infusion), that
kind starts again from nothing at the episode's end: a new finding needs new evidence, all of
it observed after the end (the level is kept). This keeps `evaluate` stateless,
deterministic and idempotent.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

SCORE_MIN = 0
SCORE_MAX = 10


class FindingKind(StrEnum):
    """What kind of change a finding reports."""

    DECLINE = "decline"
    LOW_MOOD = "low_mood"
    DISENGAGEMENT = "disengagement"


@dataclass(frozen=True, slots=True)
class Observation:
    """One check-in outcome: a score 0..10 when answered, None when missed."""

    at: datetime
    score: int | None


@dataclass(frozen=True, slots=True)
class Episode:
    """An episode the bot has recorded; `started_at` is the Finding's `at`, None end = open."""

    kind: FindingKind
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Finding:
    """A new episode to open, with the evidence and a one-line explanation for clinicians."""

    kind: FindingKind
    at: datetime
    since: datetime
    evidence: tuple[Observation, ...]
    explanation: str
    baseline: float | None


@dataclass(frozen=True, slots=True)
class Recovery:
    """An open episode of this kind ended by the method's own definition at `at`."""

    kind: FindingKind
    at: datetime


_INT_LIMITS: dict[str, tuple[int, int]] = {
    "baseline_answers": (2, 14),
    "baseline_max_answers": (2, 60),
    "confirm_answers": (1, 10),
    "recovery_answers": (1, 10),
    "low_mood_threshold": (SCORE_MIN, SCORE_MAX - 1),
    "low_mood_answers": (1, 10),
    "low_mood_recovery_answers": (1, 10),
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
    cusum_h: float = 3.0
    min_drop: float = 0.5
    confirm_mean_drop: float = 1.5
    confirm_answers: int = 2
    confirm_min_hours: float = 12.0
    recovery_answers: int = 2
    recovery_margin: float = 1.0
    low_mood_threshold: int = 3
    low_mood_answers: int = 2
    low_mood_recovery_answers: int = 2
    missed_in_a_row: int = 2
    evidence_limit: int = 10
    low_mood_while_declining: bool = True

    def __post_init__(self) -> None:
        """Reject values outside the documented ranges."""
        for name, (low, high) in _INT_LIMITS.items():
            value = getattr(self, name)
            if not _is_int(value) or not low <= value <= high:
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

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> DetectorConfig:
        """Build a config from a `[detection]` table; missing keys keep their defaults."""
        known = {field.name for field in fields(cls)}
        for key in mapping:
            if key not in known:
                raise ValueError(f"[detection] unknown key {key!r}")
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if key in _INT_LIMITS:
                low, high = _INT_LIMITS[key]
                if not _is_int(value) or not low <= value <= high:
                    raise ValueError(
                        f"[detection] {key} must be a whole number from {low} to {high},"
                        f" got {value!r}"
                    )
                values[key] = value
            elif key in _BOOL_KEYS:
                if not isinstance(value, bool):
                    raise ValueError(f"[detection] {key} must be true or false, got {value!r}")
                values[key] = value
            else:
                flow, fhigh = _FLOAT_LIMITS[key]
                if not _is_number(value) or not flow <= value <= fhigh:
                    raise ValueError(
                        f"[detection] {key} must be a number from {flow:g} to {fhigh:g},"
                        f" got {value!r}"
                    )
                values[key] = float(value)
        try:
            return cls(**values)
        except ValueError as err:
            raise ValueError(f"[detection] {err}") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


@dataclass(frozen=True, slots=True)
class Baseline:
    """The patient's own post-infusion level: mean and spread of the answers it rests on."""

    level: float
    sd: float


class _Reference:
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


@dataclass(frozen=True, slots=True)
class _Chart:
    """What one pass of the decline chart over the window found."""

    baseline: Baseline | None
    finding: Finding | None = None
    recovered_at: datetime | None = None


def evaluate(
    *,
    infusions: Sequence[datetime],
    observations: Sequence[Observation],
    episodes: Sequence[Episode],
    now: datetime,
    config: DetectorConfig,
) -> tuple[list[Finding], list[Recovery]]:
    """Return the new episodes to open and the open episodes that have recovered.

    `infusions`: the patient's recorded infusions; only the latest at or before `now` is used
    (pass the last one or two). `observations`: outcomes since the latest infusion, in any
    order; older ones and ones after `now` are ignored. If the bot caps them, it must keep the
    first `baseline_max_answers` answers after the infusion (they define the patient's level)
    and the most recent ones; 120 in all is ample for the default plan. `episodes`: this
    patient's episodes since the latest infusion, each with `started_at` set to the Finding's
    `at` and `ended_at` to the Recovery's `at` (or the time staff resolved it). Cost is
    O(observations * decline episodes since the infusion); no clock is read, `now` only
    bounds what counts as observed.
    """
    _require_aware(now, "now")
    for infusion in infusions:
        _require_aware(infusion, "infusion time")
    last_infusion = max((moment for moment in infusions if moment <= now), default=None)
    window: list[Observation] = []
    for observation in observations:
        _require_aware(observation.at, "observation time")
        if observation.score is not None and (
            not _is_int(observation.score) or not SCORE_MIN <= observation.score <= SCORE_MAX
        ):
            raise ValueError(f"score must be a whole number from 0 to 10, got {observation.score}")
        if observation.at > now or (last_infusion is not None and observation.at <= last_infusion):
            continue
        window.append(observation)
    # Ties in time are put in one fixed order, so the input's order never matters.
    window.sort(key=lambda item: (item.at, item.score is None, item.score or 0))
    chart = _decline_chart(
        window, [episode for episode in episodes if episode.kind is FindingKind.DECLINE], config
    )

    findings: list[Finding] = []
    recoveries: list[Recovery] = []
    for kind in FindingKind:
        mine = [episode for episode in episodes if episode.kind == kind]
        open_episodes = [episode for episode in mine if episode.ended_at is None]
        if open_episodes:
            if kind is FindingKind.DECLINE:
                recovered = chart.recovered_at
            else:
                started = max(episode.started_at for episode in open_episodes)
                recovered = _RECOVERY[kind](_after(window, started), config)
            if recovered is not None:
                recoveries.append(Recovery(kind=kind, at=recovered))
            continue
        if (
            kind is FindingKind.LOW_MOOD
            and not config.low_mood_while_declining
            and (
                any(e.kind is FindingKind.DECLINE and e.ended_at is None for e in episodes)
                or any(f.kind is FindingKind.DECLINE for f in findings)
            )
        ):
            continue
        if kind is FindingKind.DECLINE:
            finding = chart.finding
        else:
            ends = [episode.ended_at for episode in mine if episode.ended_at is not None]
            fresh = _after(window, max(ends)) if ends else window
            finding = _DETECTORS[kind](window, fresh, chart.baseline, config)
        if finding is not None:
            findings.append(finding)
    return findings, recoveries


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


def _after(window: Sequence[Observation], moment: datetime) -> list[Observation]:
    return [observation for observation in window if observation.at > moment]


_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _count(number: int, noun: str) -> str:
    word = _NUMBERS[number] if number < len(_NUMBERS) else str(number)
    return f"{word} {noun}" if number == 1 else f"{word} {noun}s"


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b}"


def _evidence(
    window: Sequence[Observation], since: datetime, at: datetime, config: DetectorConfig
) -> tuple[Observation, ...]:
    chosen = [observation for observation in window if since <= observation.at <= at]
    return tuple(chosen[-config.evidence_limit :])


def _spans(first: datetime, last: datetime, config: DetectorConfig) -> bool:
    return last - first >= timedelta(hours=config.confirm_min_hours)


def _decline_chart(
    window: Sequence[Observation], episodes: Sequence[Episode], config: DetectorConfig
) -> _Chart:
    """Run the self-starting CUSUM chart over the window, through the decline episodes.

    Answers inside a recorded episode (after its start, up to its end) do not move the chart
    and do not join the level; the chart restarts at zero after each episode's end. Returns
    the first finding after the last ended episode when none is open, or the recovery of the
    open one.
    """
    spans = [(episode.started_at, episode.ended_at) for episode in episodes]
    ends = sorted(end for _, end in spans if end is not None)
    open_since = max((start for start, end in spans if end is None), default=None)
    fresh_from = ends[-1] if ends else None
    reference = _Reference()
    baseline: Baseline | None = None
    position = 0
    restarts = 0
    cusum = 0.0
    run_start: datetime | None = None
    low_run: list[Observation] = []
    near = 0
    for observation in window:
        score = observation.score
        if score is None:
            continue
        position += 1
        if baseline is None:
            reference.add(score)
            if reference.count == config.baseline_answers:
                baseline = reference.baseline(config)
            continue
        passed = bisect.bisect_left(ends, observation.at)
        inside = any(
            start < observation.at and (end is None or observation.at <= end)
            for start, end in spans
        )
        if inside or passed != restarts:
            restarts, cusum, run_start, low_run = passed, 0.0, None, []
        if inside:
            if open_since is not None and observation.at > open_since:
                if score >= baseline.level - config.recovery_margin:
                    near += 1
                    if near >= config.recovery_answers:
                        return _Chart(baseline, recovered_at=observation.at)
                else:
                    near = 0
            continue
        updated = max(0.0, cusum + (baseline.level - score) / baseline.sd - config.cusum_k)
        if updated == 0.0:
            run_start = None
        elif cusum == 0.0 or run_start is None:
            run_start = observation.at
        cusum = updated
        if score <= baseline.level - config.min_drop:
            low_run.append(observation)
        else:
            low_run = []
        if cusum == 0.0:
            # Back in control: a run of low answers has to start again.
            low_run = []
            if position <= config.baseline_max_answers:
                reference.add(score)
                baseline = reference.baseline(config)
            continue
        if (
            open_since is None
            and (fresh_from is None or observation.at > fresh_from)
            and cusum >= config.cusum_h
            and _confirmed(low_run, baseline, config)
        ):
            return _Chart(
                baseline, finding=_decline_finding(window, low_run, run_start, baseline, config)
            )
    return _Chart(baseline)


def _confirmed(low_run: Sequence[Observation], baseline: Baseline, config: DetectorConfig) -> bool:
    """Return whether the last answers of a low run confirm a decline."""
    needed = config.confirm_answers
    if len(low_run) < needed:
        return False
    if needed > 1 and not _spans(low_run[-needed].at, low_run[-1].at, config):
        return False
    total = sum(item.score or 0 for item in low_run[-needed:])
    # Compared as a sum, with a hair of tolerance, so an exact tie is not lost to rounding.
    return total <= needed * (baseline.level - config.confirm_mean_drop) + 1e-9


def _decline_finding(
    window: Sequence[Observation],
    low_run: Sequence[Observation],
    run_start: datetime | None,
    baseline: Baseline,
    config: DetectorConfig,
) -> Finding:
    at = low_run[-1].at
    confirming = low_run[-config.confirm_answers :]
    since = min(confirming[0].at, run_start or confirming[0].at)
    recent = sum(item.score or 0 for item in confirming) / len(confirming)
    explanation = (
        f"Mood fell from a post-infusion level of {baseline.level:.1f} to {recent:.1f}"
        f" ({_count(len(confirming), 'answer')} in a row), since {_day(since)}."
    )
    return Finding(
        kind=FindingKind.DECLINE,
        at=at,
        since=since,
        evidence=_evidence(window, since, at, config),
        explanation=explanation,
        baseline=baseline.level,
    )


def _detect_low_mood(
    window: Sequence[Observation],
    fresh: Sequence[Observation],
    baseline: Baseline | None,
    config: DetectorConfig,
) -> Finding | None:
    run: list[Observation] = []
    for observation in fresh:
        if observation.score is None:
            continue
        if observation.score > config.low_mood_threshold:
            run = []
            continue
        run.append(observation)
        needed = config.low_mood_answers
        if len(run) >= needed and (needed == 1 or _spans(run[-needed].at, observation.at, config)):
            since = run[0].at
            scores = ", ".join(str(item.score) for item in run[-needed:])
            explanation = (
                f"Mood was {config.low_mood_threshold} or below on"
                f" {_count(needed, 'answer')} in a row ({scores}), since {_day(since)}."
            )
            return Finding(
                kind=FindingKind.LOW_MOOD,
                at=observation.at,
                since=since,
                evidence=_evidence(window, since, observation.at, config),
                explanation=explanation,
                baseline=baseline.level if baseline is not None else None,
            )
    return None


def _detect_disengagement(
    window: Sequence[Observation],
    fresh: Sequence[Observation],
    baseline: Baseline | None,
    config: DetectorConfig,
) -> Finding | None:
    first_fresh = fresh[0].at if fresh else None
    last_answer = None
    for observation in window:
        if first_fresh is not None and observation.at >= first_fresh:
            break
        if observation.score is not None:
            last_answer = observation
    run: list[Observation] = []
    for observation in fresh:
        if observation.score is not None:
            last_answer = observation
            run = []
            continue
        if last_answer is None:
            continue
        run.append(observation)
        if len(run) >= config.missed_in_a_row:
            since = run[0].at
            count = _count(len(run), "check-in")
            explanation = (
                f"{count[0].upper()}{count[1:]} in a row went unanswered, since {_day(since)}"
                f" (last answer {_day(last_answer.at)})."
            )
            return Finding(
                kind=FindingKind.DISENGAGEMENT,
                at=observation.at,
                since=since,
                evidence=_evidence(window, last_answer.at, observation.at, config),
                explanation=explanation,
                baseline=None,
            )
    return None


def _recover_low_mood(after: Sequence[Observation], config: DetectorConfig) -> datetime | None:
    above = 0
    for observation in after:
        if observation.score is None:
            continue
        if observation.score > config.low_mood_threshold:
            above += 1
            if above >= config.low_mood_recovery_answers:
                return observation.at
        else:
            above = 0
    return None


def _recover_disengagement(
    after: Sequence[Observation], config: DetectorConfig
) -> datetime | None:
    for observation in after:
        if observation.score is not None:
            return observation.at
    return None


_Detector = Callable[
    [Sequence[Observation], Sequence[Observation], Baseline | None, DetectorConfig],
    Finding | None,
]
_Recoverer = Callable[[Sequence[Observation], DetectorConfig], datetime | None]

_DETECTORS: dict[FindingKind, _Detector] = {
    FindingKind.LOW_MOOD: _detect_low_mood,
    FindingKind.DISENGAGEMENT: _detect_disengagement,
}
_RECOVERY: dict[FindingKind, _Recoverer] = {
    FindingKind.LOW_MOOD: _recover_low_mood,
    FindingKind.DISENGAGEMENT: _recover_disengagement,
}
