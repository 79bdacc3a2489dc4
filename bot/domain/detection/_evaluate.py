"""`evaluate`: the new episodes to open and the open ones that have recovered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain.codes import EpisodeKind
from bot.domain.detection._config import DetectorConfig, is_int
from bot.domain.detection._decline import Chart, decline_chart
from bot.domain.detection._level import Level
from bot.domain.detection._model import (
    SCORE_MAX,
    SCORE_MIN,
    Episode,
    Finding,
    Observation,
    Recovery,
)
from bot.domain.detection._rules import DETECTORS, RECOVERIES
from bot.domain.detection._window import after


@dataclass(frozen=True, slots=True)
class Assessment:
    """What one evaluation found: new episodes, recoveries, and the patient's own level."""

    findings: list[Finding]
    recoveries: list[Recovery]
    level: Level | None
    """The patient's post-infusion level as the decline chart holds it now (None: too few
    answers since the infusion)."""


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
    found = assess(
        infusions=infusions, observations=observations, episodes=episodes, now=now, config=config
    )
    return found.findings, found.recoveries


def patient_level(
    *,
    infusions: Sequence[datetime],
    observations: Sequence[Observation],
    episodes: Sequence[Episode],
    now: datetime,
    config: DetectorConfig,
) -> Level | None:
    """Return the patient's own level from the same inputs as `evaluate` (None: too few answers).

    This is the level the decline chart compares answers with; the adaptive check-in policy
    (bot.domain.adaptive) takes it.
    """
    return assess(
        infusions=infusions, observations=observations, episodes=episodes, now=now, config=config
    ).level


def assess(
    *,
    infusions: Sequence[datetime],
    observations: Sequence[Observation],
    episodes: Sequence[Episode],
    now: datetime,
    config: DetectorConfig,
) -> Assessment:
    """Return `evaluate`'s findings and recoveries and `patient_level`'s level, in one pass."""
    window = _observed(infusions, observations, now)
    chart = decline_chart(
        window, [episode for episode in episodes if episode.kind is EpisodeKind.DECLINE], config
    )
    findings: list[Finding] = []
    recoveries: list[Recovery] = []
    for kind in EpisodeKind:
        mine = [episode for episode in episodes if episode.kind == kind]
        open_episodes = [episode for episode in mine if episode.ended_at is None]
        if open_episodes:
            recovery = _recovery(kind, open_episodes, window, chart, config)
            if recovery is not None:
                recoveries.append(recovery)
        elif not _left_to_decline(kind, episodes, findings, config):
            finding = _finding(kind, mine, window, chart, config)
            if finding is not None:
                findings.append(finding)
    level = chart.baseline
    if level is not None:
        declining = any(
            episode.kind is EpisodeKind.DECLINE and episode.ended_at is None
            for episode in episodes
        ) and not any(recovery.kind is EpisodeKind.DECLINE for recovery in recoveries)
        declining = declining or any(f.kind is EpisodeKind.DECLINE for f in findings)
        level = replace(level, declining=declining)
    return Assessment(findings=findings, recoveries=recoveries, level=level)


def _observed(
    infusions: Sequence[datetime], observations: Sequence[Observation], now: datetime
) -> list[Observation]:
    """Check the inputs; return the observations after the latest infusion up to now, sorted."""
    _require_aware(now, "now")
    for infusion in infusions:
        _require_aware(infusion, "infusion time")
    last_infusion = max((moment for moment in infusions if moment <= now), default=None)
    window: list[Observation] = []
    for observation in observations:
        _require_aware(observation.at, "observation time")
        if observation.score is not None and (
            not is_int(observation.score) or not SCORE_MIN <= observation.score <= SCORE_MAX
        ):
            raise ValueError(f"score must be a whole number from 0 to 10, got {observation.score}")
        if observation.at > now or (last_infusion is not None and observation.at <= last_infusion):
            continue
        window.append(observation)
    # Ties in time are put in one fixed order, so the input's order never matters.
    window.sort(key=lambda item: (item.at, item.score is None, item.score or 0))
    return window


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


def _recovery(
    kind: EpisodeKind,
    open_episodes: Sequence[Episode],
    window: Sequence[Observation],
    chart: Chart,
    config: DetectorConfig,
) -> Recovery | None:
    """Return the recovery of the open episode of kind, or None while it lasts."""
    if kind is EpisodeKind.DECLINE:
        recovered = chart.recovered_at
    else:
        started = max(episode.started_at for episode in open_episodes)
        recovered = RECOVERIES[kind](after(window, started), config)
    return None if recovered is None else Recovery(kind=kind, at=recovered)


def _left_to_decline(
    kind: EpisodeKind,
    episodes: Sequence[Episode],
    findings: Sequence[Finding],
    config: DetectorConfig,
) -> bool:
    """Return whether low mood waits because a decline is open or found now (if so configured)."""
    return (
        kind is EpisodeKind.LOW_MOOD
        and not config.low_mood_while_declining
        and (
            any(e.kind is EpisodeKind.DECLINE and e.ended_at is None for e in episodes)
            or any(f.kind is EpisodeKind.DECLINE for f in findings)
        )
    )


def _finding(
    kind: EpisodeKind,
    mine: Sequence[Episode],
    window: Sequence[Observation],
    chart: Chart,
    config: DetectorConfig,
) -> Finding | None:
    """Return the new finding of kind, from evidence observed after its last episode ended."""
    if kind is EpisodeKind.DECLINE:
        return chart.finding
    ends = [episode.ended_at for episode in mine if episode.ended_at is not None]
    fresh = after(window, max(ends)) if ends else window
    return DETECTORS[kind](window, fresh, chart.baseline, config)
