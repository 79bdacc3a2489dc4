"""Replaying check-in outcomes through `evaluate` as the bot would, for the detector's tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.codes import EpisodeKind
from bot.domain.detection import DetectorConfig, Episode, Finding, Observation, Recovery, evaluate
from bot.telegram.explanations import explain

INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CONFIG = DetectorConfig()
DECLINE = EpisodeKind.DECLINE
LOW_MOOD = EpisodeKind.LOW_MOOD
DISENGAGEMENT = EpisodeKind.DISENGAGEMENT


def checkin(day: int) -> datetime:
    """Return 18:00 UTC on the given day after the infusion."""
    return INFUSION.replace(hour=18) + timedelta(days=day)


def outcomes(scores: Sequence[int | None]) -> list[Observation]:
    """Return daily observations from day 1; None is a missed check-in."""
    return [Observation(at=checkin(day), score=score) for day, score in enumerate(scores, 1)]


def check(
    observations: Sequence[Observation],
    episodes: Sequence[Episode] = (),
    config: DetectorConfig = CONFIG,
) -> tuple[list[Finding], list[Recovery]]:
    """Evaluate with `now` at the last observation."""
    now = observations[-1].at if observations else INFUSION
    return evaluate(
        infusions=[INFUSION], observations=observations, episodes=episodes, now=now, config=config
    )


@dataclass
class Replay:
    """What the bot would record replaying observations one at a time."""

    alerts: list[tuple[int, Finding]] = field(default_factory=list)
    recoveries: list[tuple[int, Recovery]] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)

    def first(self, kind: EpisodeKind) -> int | None:
        """Return the index of the observation that confirmed the first alert of a kind."""
        return next((index for index, finding in self.alerts if finding.kind == kind), None)

    def kinds(self) -> list[tuple[int, EpisodeKind]]:
        """Return (index, kind) of every alert."""
        return [(index, finding.kind) for index, finding in self.alerts]


def replay(scores: Sequence[int | None], config: DetectorConfig = CONFIG) -> Replay:
    """Feed outcomes one by one, opening episodes for findings and closing them on recovery."""
    observations = outcomes(scores)
    result = Replay()
    for index in range(len(observations)):
        seen = observations[: index + 1]
        findings, recoveries = check(seen, result.episodes, config)
        for recovery in recoveries:
            result.recoveries.append((index, recovery))
            result.episodes = [
                Episode(e.kind, e.started_at, recovery.at)
                if e.kind == recovery.kind and e.ended_at is None
                else e
                for e in result.episodes
            ]
        for finding in findings:
            assert not any(
                e.kind == finding.kind and e.ended_at is None for e in result.episodes
            ), "a finding of a kind that already has an open episode"
            assert explain(finding.kind, finding.since, finding.facts)
            result.alerts.append((index, finding))
            result.episodes.append(Episode(finding.kind, finding.at, None))
        again, _ = check(seen, result.episodes, config)
        assert again == [], "evaluate is not idempotent"
    return result
