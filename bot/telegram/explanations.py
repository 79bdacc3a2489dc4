"""The one-line explanation of a finding for clinicians, built from its public facts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import assert_never
from zoneinfo import ZoneInfo

from bot.domain.codes import EpisodeKind
from bot.domain.detection import Evidence

_Day = Callable[[datetime], str]
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def explain(
    kind: EpisodeKind, since: datetime, evidence: Evidence, tz: ZoneInfo | None = None
) -> str:
    """Return the sentence for clinicians about a finding of this kind, since that moment.

    Days are the clinic's calendar days (in `tz`; as given when None). Raises ValueError
    when evidence lacks a figure the sentence for that kind needs.
    """
    day = partial(_day, tz=tz)
    if kind is EpisodeKind.DECLINE:
        return _decline(since, evidence, day)
    if kind is EpisodeKind.LOW_MOOD:
        return _low_mood(since, evidence, day)
    if kind is EpisodeKind.DISENGAGEMENT:
        return _disengagement(since, evidence, day)
    assert_never(kind)


def _decline(since: datetime, evidence: Evidence, day: _Day) -> str:
    if evidence.level is None or evidence.recent is None:
        raise ValueError("a decline is explained by its level and recent average")
    return (
        f"Mood fell from a post-infusion level of {evidence.level:.1f} to"
        f" {evidence.recent:.1f} ({_count(evidence.answers, 'answer')} in a row),"
        f" since {day(since)}."
    )


def _low_mood(since: datetime, evidence: Evidence, day: _Day) -> str:
    if evidence.threshold is None:
        raise ValueError("low mood is explained by its threshold")
    scores = ", ".join(str(score) for score in evidence.scores)
    return (
        f"Mood was {evidence.threshold} or below on"
        f" {_count(evidence.answers, 'answer')} in a row ({scores}), since {day(since)}."
    )


def _disengagement(since: datetime, evidence: Evidence, day: _Day) -> str:
    if evidence.last_answer is None:
        raise ValueError("disengagement is explained by the last answer")
    count = _count(evidence.missed, "check-in")
    return (
        f"{count[0].upper()}{count[1:]} in a row went unanswered, since {day(since)}"
        f" (last answer {day(evidence.last_answer)})."
    )


def _count(number: int, noun: str) -> str:
    word = _NUMBERS[number] if number < len(_NUMBERS) else str(number)
    return f"{word} {noun}" if number == 1 else f"{word} {noun}s"


def _day(moment: datetime, tz: ZoneInfo | None) -> str:
    local = moment if tz is None else moment.astimezone(tz)
    return f"{local.day} {local:%b}"
