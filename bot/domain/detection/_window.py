"""What the rules share about the window of observations since the latest infusion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.detection._config import DetectorConfig
from bot.domain.detection._model import Observation


def after(window: Sequence[Observation], moment: datetime) -> list[Observation]:
    """Return the observations strictly after moment."""
    return [observation for observation in window if observation.at > moment]


def attached(
    window: Sequence[Observation], since: datetime, at: datetime, config: DetectorConfig
) -> tuple[Observation, ...]:
    """Return the observations attached to a finding: the latest of those from since to at."""
    chosen = [observation for observation in window if since <= observation.at <= at]
    return tuple(chosen[-config.evidence_limit :])


def spans(first: datetime, last: datetime, config: DetectorConfig) -> bool:
    """Return whether a run from first to last lasts the hours a confirmation needs."""
    return last - first >= timedelta(hours=config.confirm_min_hours)


def scores(observations: Sequence[Observation]) -> tuple[int, ...]:
    """Return the scores of the answered observations, in order."""
    return tuple(item.score for item in observations if item.score is not None)
