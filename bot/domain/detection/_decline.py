"""The decline rule: a self-starting lower one-sided CUSUM chart on the patient's own level."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.codes import EpisodeKind
from bot.domain.detection._config import DetectorConfig
from bot.domain.detection._level import Level, Reference
from bot.domain.detection._model import Episode, Evidence, Finding, Observation
from bot.domain.detection._window import attached, spans


@dataclass(frozen=True, slots=True)
class Chart:
    """What one pass of the decline chart over the window found."""

    baseline: Level | None
    finding: Finding | None = None
    recovered_at: datetime | None = None


def decline_chart(
    window: Sequence[Observation], episodes: Sequence[Episode], config: DetectorConfig
) -> Chart:
    """Run the self-starting CUSUM chart over the window, through the decline episodes.

    Answers inside a recorded episode (after its start, up to its end) do not move the chart
    and do not join the level; the chart restarts at zero after each episode's end. Returns
    the first finding after the last ended episode when none is open, or the recovery of the
    open one.
    """
    chart = _Pass(window, episodes, config)
    for observation in window:
        if observation.score is not None:
            found = chart.feed(observation, observation.score)
            if found is not None:
                return found
    return Chart(chart.baseline)


class _Recorded:
    """The recorded decline episodes, as the chart asks about them."""

    def __init__(self, episodes: Sequence[Episode]) -> None:
        self._spans = [(episode.started_at, episode.ended_at) for episode in episodes]
        self._ends = sorted(end for _, end in self._spans if end is not None)
        self.open_since = max((start for start, end in self._spans if end is None), default=None)
        self._fresh_from = self._ends[-1] if self._ends else None

    def ended_before(self, moment: datetime) -> int:
        """Return how many episodes ended before moment."""
        return bisect.bisect_left(self._ends, moment)

    def inside(self, moment: datetime) -> bool:
        """Return whether moment is after an episode's start and not after its end."""
        return any(start < moment and (end is None or moment <= end) for start, end in self._spans)

    def may_open(self, moment: datetime) -> bool:
        """Return whether a finding at moment may open a new episode."""
        return self.open_since is None and (self._fresh_from is None or moment > self._fresh_from)


class _Pass:
    """One pass of the chart: the level learnt so far, the statistic, the run of low answers."""

    def __init__(
        self, window: Sequence[Observation], episodes: Sequence[Episode], config: DetectorConfig
    ) -> None:
        self._window = window
        self._config = config
        self._recorded = _Recorded(episodes)
        self._reference = Reference()
        self.baseline: Level | None = None
        self._answers = 0
        self._restarts = 0
        self._near = 0
        self._cusum = 0.0
        self._run_start: datetime | None = None
        self._low_run: list[Observation] = []

    def feed(self, observation: Observation, score: int) -> Chart | None:
        """Take the next answer; return the chart's outcome once it has one."""
        self._answers += 1
        baseline = self.baseline
        if baseline is None:
            self._learn(score)
            return None
        inside = self._recorded.inside(observation.at)
        ended = self._recorded.ended_before(observation.at)
        if inside or ended != self._restarts:
            self._restart(ended)
        if inside:
            return self._watch_recovery(observation, score, baseline)
        self._move(observation, score, baseline)
        if self._cusum == 0.0:
            self._back_in_control(score)
            return None
        if (
            self._recorded.may_open(observation.at)
            and self._cusum >= self._config.cusum_h
            and _confirmed(self._low_run, baseline, self._config)
        ):
            finding = _decline_finding(
                self._window, self._low_run, self._run_start, baseline, self._config
            )
            return Chart(baseline, finding=finding)
        return None

    def _learn(self, score: int) -> None:
        """Add one of the first answers, which give the first estimate of the level."""
        self._reference.add(score)
        if self._reference.count == self._config.baseline_answers:
            self.baseline = self._reference.baseline(self._config)

    def _restart(self, ended: int) -> None:
        self._restarts = ended
        self._cusum = 0.0
        self._run_start = None
        self._low_run = []

    def _watch_recovery(
        self, observation: Observation, score: int, baseline: Level
    ) -> Chart | None:
        """Count answers near the level inside the open episode; return its recovery."""
        open_since = self._recorded.open_since
        if open_since is None or observation.at <= open_since:
            return None
        if score < baseline.level - self._config.recovery_margin:
            self._near = 0
            return None
        self._near += 1
        if self._near >= self._config.recovery_answers:
            return Chart(baseline, recovered_at=observation.at)
        return None

    def _move(self, observation: Observation, score: int, baseline: Level) -> None:
        """Update the statistic, when its current rise began, and the run of low answers."""
        config = self._config
        updated = max(0.0, self._cusum + (baseline.level - score) / baseline.sd - config.cusum_k)
        if updated == 0.0:
            self._run_start = None
        elif self._cusum == 0.0 or self._run_start is None:
            self._run_start = observation.at
        self._cusum = updated
        if score <= baseline.level - config.min_drop:
            self._low_run.append(observation)
        else:
            self._low_run = []

    def _back_in_control(self, score: int) -> None:
        """Drop the run of low answers; an early enough answer also joins the level."""
        self._low_run = []
        if self._answers <= self._config.baseline_max_answers:
            self._reference.add(score)
            self.baseline = self._reference.baseline(self._config)


def _confirmed(low_run: Sequence[Observation], baseline: Level, config: DetectorConfig) -> bool:
    """Return whether the last answers of a low run confirm a decline."""
    needed = config.confirm_answers
    if len(low_run) < needed:
        return False
    if needed > 1 and not spans(low_run[-needed].at, low_run[-1].at, config):
        return False
    total = sum(item.score or 0 for item in low_run[-needed:])
    # Compared as a sum, with a hair of tolerance, so an exact tie is not lost to rounding.
    return total <= needed * (baseline.level - config.confirm_mean_drop) + 1e-9


def _decline_finding(
    window: Sequence[Observation],
    low_run: Sequence[Observation],
    run_start: datetime | None,
    baseline: Level,
    config: DetectorConfig,
) -> Finding:
    """Return the decline confirmed by the last answers of a low run."""
    at = low_run[-1].at
    confirming = low_run[-config.confirm_answers :]
    since = min(confirming[0].at, run_start or confirming[0].at)
    recent = sum(item.score or 0 for item in confirming) / len(confirming)
    facts = Evidence(level=baseline.level, recent=recent, answers=len(confirming))
    return Finding(
        kind=EpisodeKind.DECLINE,
        at=at,
        since=since,
        evidence=attached(window, since, at, config),
        facts=facts,
        baseline=baseline.level,
    )
