"""What the detector reads and returns: observations, episodes, findings, recoveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.codes import EpisodeKind

SCORE_MIN = 0
SCORE_MAX = 10


@dataclass(frozen=True, slots=True)
class Observation:
    """One check-in outcome: a score 0..10 when answered, None when missed."""

    at: datetime
    score: int | None


@dataclass(frozen=True, slots=True)
class Episode:
    """An episode the bot has recorded; `started_at` is the Finding's `at`, None end = open."""

    kind: EpisodeKind
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Evidence:
    """The figures behind a finding, as a clinician would be told them.

    A decline sets `level`, `recent` and `answers`; low mood sets `answers`, `scores` and
    `threshold` (and `level` when the patient's level is known); disengagement sets `missed`
    and `last_answer`.
    """

    level: float | None = None
    """The patient's own post-infusion level."""
    recent: float | None = None
    """The average of the confirming answers."""
    answers: int = 0
    """How many confirming answers in a row."""
    scores: tuple[int, ...] = ()
    """The confirming scores, oldest first."""
    threshold: int | None = None
    """The low-mood threshold the scores were at or below."""
    missed: int = 0
    """How many check-ins in a row went unanswered."""
    last_answer: datetime | None = None
    """When the patient last answered before the missed check-ins."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A new episode to open: the observations behind it and its figures."""

    kind: EpisodeKind
    at: datetime
    since: datetime
    evidence: tuple[Observation, ...]
    facts: Evidence
    baseline: float | None


@dataclass(frozen=True, slots=True)
class Recovery:
    """An open episode of this kind ended by the method's own definition at `at`."""

    kind: EpisodeKind
    at: datetime
