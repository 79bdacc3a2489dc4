"""What a finding carries as evidence, and the sentence `explain` builds from it alone."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.domain.codes import EpisodeKind
from bot.domain.detection import Evidence
from bot.telegram.explanations import explain
from tests.domain.detection.replay import DECLINE, DISENGAGEMENT, LOW_MOOD, checkin, replay

SINCE = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)


def test_a_decline_carries_the_level_the_recent_average_and_the_answers() -> None:
    finding = replay([8, 8, 7, 4, 4]).alerts[0][1]

    assert finding.kind is DECLINE
    assert finding.facts.level == pytest.approx(23 / 3)
    assert dataclasses.replace(finding.facts, level=None) == Evidence(recent=4.0, answers=2)


def test_low_mood_carries_the_scores_and_the_threshold() -> None:
    finding = replay([3, 3]).alerts[0][1]

    assert finding.kind is LOW_MOOD
    assert finding.facts == Evidence(answers=2, scores=(3, 3), threshold=3)


def test_low_mood_carries_the_level_once_there_is_one() -> None:
    findings = [finding for _, finding in replay([8, 8, 8, 2, 2]).alerts]

    assert [finding.kind for finding in findings] == [DECLINE, LOW_MOOD]
    assert findings[1].facts == Evidence(level=8.0, answers=2, scores=(2, 2), threshold=3)
    assert findings[1].baseline == 8.0


def test_disengagement_carries_the_missed_check_ins_and_the_last_answer() -> None:
    finding = replay([7, None, None]).alerts[0][1]

    assert finding.kind is DISENGAGEMENT
    assert finding.facts == Evidence(missed=2, last_answer=checkin(1))
    assert explain(finding.kind, finding.since, finding.facts) == (
        "Two check-ins in a row went unanswered, since 4 Mar (last answer 3 Mar)."
    )


@pytest.mark.parametrize(
    ("kind", "evidence", "sentence"),
    [
        (
            DECLINE,
            Evidence(level=23 / 3, recent=4.0, answers=2),
            "Mood fell from a post-infusion level of 7.7 to 4.0 (two answers in a row),"
            " since 6 Mar.",
        ),
        (
            DECLINE,
            Evidence(level=8.0, recent=1.0, answers=1),
            "Mood fell from a post-infusion level of 8.0 to 1.0 (one answer in a row),"
            " since 6 Mar.",
        ),
        (
            LOW_MOOD,
            Evidence(answers=9, scores=(1,) * 9, threshold=2),
            "Mood was 2 or below on nine answers in a row (1, 1, 1, 1, 1, 1, 1, 1, 1),"
            " since 6 Mar.",
        ),
        (
            LOW_MOOD,
            Evidence(level=6.5, answers=10, scores=(0,) * 10, threshold=0),
            "Mood was 0 or below on 10 answers in a row (0, 0, 0, 0, 0, 0, 0, 0, 0, 0),"
            " since 6 Mar.",
        ),
        (
            DISENGAGEMENT,
            Evidence(missed=1, last_answer=datetime(2026, 2, 28, 9, 0, tzinfo=UTC)),
            "One check-in in a row went unanswered, since 6 Mar (last answer 28 Feb).",
        ),
        (
            DISENGAGEMENT,
            Evidence(missed=12, last_answer=datetime(2026, 3, 5, 9, 0, tzinfo=UTC)),
            "12 check-ins in a row went unanswered, since 6 Mar (last answer 5 Mar).",
        ),
    ],
)
def test_explain_words_each_kind(kind: EpisodeKind, evidence: Evidence, sentence: str) -> None:
    assert explain(kind, SINCE, evidence) == sentence


@pytest.mark.parametrize(
    ("kind", "evidence"),
    [
        (DECLINE, Evidence(recent=4.0, answers=2)),
        (DECLINE, Evidence(level=7.0, answers=2)),
        (LOW_MOOD, Evidence(answers=2, scores=(3, 3))),
        (DISENGAGEMENT, Evidence(missed=2)),
    ],
)
def test_explain_needs_the_figures_of_its_kind(kind: EpisodeKind, evidence: Evidence) -> None:
    with pytest.raises(ValueError, match="explained by"):
        explain(kind, SINCE, evidence)


def test_evidence_is_frozen() -> None:
    evidence = Evidence(missed=2)

    with pytest.raises(dataclasses.FrozenInstanceError):
        evidence.missed = 3  # type: ignore[misc]
