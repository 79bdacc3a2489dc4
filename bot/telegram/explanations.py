"""The one-line explanation of a finding for clinicians, built from its public facts."""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from bot.domain.codes import EpisodeKind
from bot.domain.detection import Evidence

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def explain(kind: EpisodeKind, since: datetime, evidence: Evidence) -> str:
    """Return the sentence for clinicians about a finding of this kind, since that moment.

    Raises ValueError when evidence lacks a figure the sentence for that kind needs.
    """
    if kind is EpisodeKind.DECLINE:
        return _decline(since, evidence)
    if kind is EpisodeKind.LOW_MOOD:
        return _low_mood(since, evidence)
    if kind is EpisodeKind.DISENGAGEMENT:
        return _disengagement(since, evidence)
    assert_never(kind)


def _decline(since: datetime, evidence: Evidence) -> str:
    if evidence.level is None or evidence.recent is None:
        raise ValueError("a decline is explained by its level and recent average")
    return (
        f"Mood fell from a post-infusion level of {evidence.level:.1f} to"
        f" {evidence.recent:.1f} ({_count(evidence.answers, 'answer')} in a row),"
        f" since {_day(since)}."
    )


def _low_mood(since: datetime, evidence: Evidence) -> str:
    if evidence.threshold is None:
        raise ValueError("low mood is explained by its threshold")
    scores = ", ".join(str(score) for score in evidence.scores)
    return (
        f"Mood was {evidence.threshold} or below on"
        f" {_count(evidence.answers, 'answer')} in a row ({scores}), since {_day(since)}."
    )


def _disengagement(since: datetime, evidence: Evidence) -> str:
    if evidence.last_answer is None:
        raise ValueError("disengagement is explained by the last answer")
    count = _count(evidence.missed, "check-in")
    return (
        f"{count[0].upper()}{count[1:]} in a row went unanswered, since {_day(since)}"
        f" (last answer {_day(evidence.last_answer)})."
    )


def _count(number: int, noun: str) -> str:
    word = _NUMBERS[number] if number < len(_NUMBERS) else str(number)
    return f"{word} {noun}" if number == 1 else f"{word} {noun}s"


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b}"
