"""The low-mood and disengagement rules, and how their episodes recover."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.domain.codes import EpisodeKind
from bot.domain.detection._config import DetectorConfig
from bot.domain.detection._level import Level
from bot.domain.detection._model import Evidence, Finding, Observation
from bot.domain.detection._window import attached, scores, spans


def detect_low_mood(
    window: Sequence[Observation],
    fresh: Sequence[Observation],
    baseline: Level | None,
    config: DetectorConfig,
) -> Finding | None:
    """Return the first low-mood finding among the fresh observations, or None."""
    needed = config.low_mood_answers
    run: list[Observation] = []
    for observation in fresh:
        if observation.score is None:
            continue
        if observation.score > config.low_mood_threshold:
            run = []
            continue
        run.append(observation)
        if len(run) >= needed and (needed == 1 or spans(run[-needed].at, observation.at, config)):
            since = run[0].at
            level = baseline.level if baseline is not None else None
            facts = Evidence(
                level=level,
                answers=needed,
                scores=scores(run[-needed:]),
                threshold=config.low_mood_threshold,
            )
            return Finding(
                kind=EpisodeKind.LOW_MOOD,
                at=observation.at,
                since=since,
                evidence=attached(window, since, observation.at, config),
                facts=facts,
                baseline=level,
            )
    return None


def detect_disengagement(
    window: Sequence[Observation],
    fresh: Sequence[Observation],
    baseline: Level | None,
    config: DetectorConfig,
) -> Finding | None:
    """Return the first run of missed check-ins after an answer among the fresh ones, or None."""
    last_answer = _last_answer_before(window, fresh[0].at if fresh else None)
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
            facts = Evidence(missed=len(run), last_answer=last_answer.at)
            return Finding(
                kind=EpisodeKind.DISENGAGEMENT,
                at=observation.at,
                since=since,
                evidence=attached(window, last_answer.at, observation.at, config),
                facts=facts,
                baseline=None,
            )
    return None


def _last_answer_before(
    window: Sequence[Observation], moment: datetime | None
) -> Observation | None:
    """Return the last answered observation before moment (None: in the whole window)."""
    last_answer = None
    for observation in window:
        if moment is not None and observation.at >= moment:
            break
        if observation.score is not None:
            last_answer = observation
    return last_answer


def recover_low_mood(after: Sequence[Observation], config: DetectorConfig) -> datetime | None:
    """Return when enough answers in a row at or above the recovery score end low mood, or None.

    The recovery score sits above the threshold (hysteresis), so a patient still hovering
    around it (3, 4, 3) stays in one episode rather than alerting again at every dip.
    """
    above = 0
    for observation in after:
        if observation.score is None:
            continue
        if observation.score >= config.low_mood_recovery_score:
            above += 1
            if above >= config.low_mood_recovery_answers:
                return observation.at
        else:
            above = 0
    return None


def recover_disengagement(after: Sequence[Observation], config: DetectorConfig) -> datetime | None:
    """Return when the first answer ends disengagement, or None."""
    for observation in after:
        if observation.score is not None:
            return observation.at
    return None


Detector = Callable[
    [Sequence[Observation], Sequence[Observation], Level | None, DetectorConfig],
    Finding | None,
]
Recoverer = Callable[[Sequence[Observation], DetectorConfig], datetime | None]

DETECTORS: dict[EpisodeKind, Detector] = {
    EpisodeKind.LOW_MOOD: detect_low_mood,
    EpisodeKind.DISENGAGEMENT: detect_disengagement,
}
RECOVERIES: dict[EpisodeKind, Recoverer] = {
    EpisodeKind.LOW_MOOD: recover_low_mood,
    EpisodeKind.DISENGAGEMENT: recover_disengagement,
}
