"""Replaying one patient's cohort rows as the bot would: the detector, the adaptive check-in.

The replay calls `assess` (the detector's `evaluate` and `patient_level` in one pass) after
every planned outcome, and after every answer it asks the bot's own adaptive policy
(`plan_extra_checkin`) whether to plan an extra check-in. An `offered_mood` or
`offered_missed` row is used only when it is the extra check-in the policy planned (at that
moment); all other offered rows are ignored, so a cohort without offered rows replays as the
open-loop plan. Cohort days are read as UTC, and the patient's usual check-in time is the
hour of their offered rows (all at the usual hour).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from bot.domain.adaptive import AdaptiveConfig, plan_extra_checkin
from bot.domain.codes import EpisodeKind
from bot.domain.detection import DetectorConfig, Episode, Level, Observation, assess
from bot.research.cohort import PLAN_DAYS
from bot.research.cohort_format import OFFERED, PLANNED, CohortRow, RowKind

# Cohort days count from this moment; any fixed aware moment would do.
EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
# What the bot passes: the last two infusions and at most this many outcomes.
OBSERVATION_CAP = 120
# An offered row answers the planned extra check-in when it is this close to its due time.
MATCH_DAYS = 1e-3
NAIVE_DROP = 3


@dataclass(slots=True)
class Replayed:
    """What replaying one patient gave: (day, kind) alerts and how many prompts were sent."""

    alerts: list[tuple[float, str]] = field(default_factory=list)
    planned_prompts: int = 0
    extra_prompts: int = 0
    extra_days: list[float] = field(default_factory=list)
    # (found, since) days of each decline finding: the relapse-timing measurement reads them.
    declines: list[tuple[float, float]] = field(default_factory=list)


def moment(day: float) -> datetime:
    """Return the aware moment of a cohort day."""
    return EPOCH + timedelta(days=day)


def cohort_day(at: datetime) -> float:
    """Return the cohort day of an aware moment."""
    return (at - EPOCH) / timedelta(days=1)


def usual_time(rows: Sequence[CohortRow]) -> time | None:
    """Return the patient's usual check-in time from their offered rows (None: no offered rows)."""
    for row in rows:
        if row.kind in OFFERED:
            minutes = round((row.day % 1) * 1440) % 1440
            return time(minutes // 60, minutes % 60)
    return None


def next_planned(infusion_day: float | None, hour: time, after: float) -> datetime | None:
    """Return the due time of the first planned check-in of the plan after `after` (a day)."""
    if infusion_day is None:
        return None
    fraction = (hour.hour * 60 + hour.minute) / 1440
    for plan_day in PLAN_DAYS:
        due = math.floor(infusion_day) + plan_day + fraction
        if due > after + MATCH_DAYS:
            return moment(due)
    return None


def window_of(observations: list[Observation], config: DetectorConfig) -> list[Observation]:
    """Return what the bot passes: the first answers that may define the level, then the latest."""
    if len(observations) <= OBSERVATION_CAP:
        return observations
    tail = len(observations) - OBSERVATION_CAP + config.baseline_max_answers
    head = [item for item in observations[:tail] if item.score is not None]
    return [*head[: config.baseline_max_answers], *observations[tail:]]


def replay_detector(
    rows: Sequence[CohortRow], config: DetectorConfig, adaptive: AdaptiveConfig | None = None
) -> Replayed:
    """Replay one patient's rows (time order) through the detector and the adaptive policy."""
    policy = adaptive if adaptive is not None else AdaptiveConfig(enabled=False)
    hour = usual_time(rows) if policy.enabled else None
    result = Replayed()
    state = _State()
    for row in rows:
        if row.kind is RowKind.INFUSION:
            state.infused(row.day)
            continue
        if row.kind is RowKind.RELAPSE_ONSET:
            continue
        if row.kind in OFFERED:
            if state.pending is None or abs(row.day - state.pending) > MATCH_DAYS:
                continue
            result.extra_prompts += 1
            result.extra_days.append(row.day)
        elif row.kind in PLANNED:
            result.planned_prompts += 1
        if state.pending is not None and row.day >= state.pending - MATCH_DAYS:
            state.pending = None
        _step(row, state, config, result)
        if hour is not None and row.value is not None and state.pending is None:
            now = moment(row.day)
            due = plan_extra_checkin(
                answer=Observation(at=now, score=row.value),
                level=state.level,
                next_planned=next_planned(state.infusion_day, hour, row.day),
                zone=UTC,
                checkin_time=hour,
                extra_pending=False,
                now=now,
                config=policy,
            )
            state.pending = None if due is None else cohort_day(due)
    return result


@dataclass(slots=True)
class _State:
    infusions: list[datetime] = field(default_factory=list)
    infusion_day: float | None = None
    observations: list[Observation] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    level: Level | None = None
    pending: float | None = None

    def infused(self, day: float) -> None:
        """A new infusion: a new window, no episodes, and any pending extra is cancelled."""
        self.infusions = [*self.infusions[-1:], moment(day)]
        self.infusion_day = day
        self.observations = []
        self.episodes = []
        self.level = None
        self.pending = None


def _step(row: CohortRow, state: _State, config: DetectorConfig, result: Replayed) -> None:
    """Record one outcome, evaluate, and apply the findings and recoveries as the bot would."""
    now = moment(row.day)
    state.observations.append(Observation(at=now, score=row.value))
    found = assess(
        infusions=state.infusions,
        observations=window_of(state.observations, config),
        episodes=state.episodes,
        now=now,
        config=config,
    )
    state.level = found.level
    for recovery in found.recoveries:
        state.episodes = [
            Episode(episode.kind, episode.started_at, recovery.at)
            if episode.kind == recovery.kind and episode.ended_at is None
            else episode
            for episode in state.episodes
        ]
    for finding in found.findings:
        state.episodes.append(Episode(finding.kind, finding.at, None))
        result.alerts.append((cohort_day(finding.at), finding.kind.value))
        if finding.kind is EpisodeKind.DECLINE:
            result.declines.append((cohort_day(finding.at), cohort_day(finding.since)))


def replay_naive(rows: Sequence[CohortRow]) -> list[tuple[float, str]]:
    """Alert when a score is at least 3 below the first score after an infusion, once each.

    Planned answers only: the naive rule has no adaptive check-in.
    """
    alerts: list[tuple[float, str]] = []
    first: int | None = None
    fired = False
    for row in rows:
        if row.kind is RowKind.INFUSION:
            first, fired = None, False
        elif row.kind is RowKind.MOOD and row.value is not None:
            if first is None:
                first = row.value
            elif not fired and row.value <= first - NAIVE_DROP:
                fired = True
                alerts.append((row.day, "naive"))
    return alerts
