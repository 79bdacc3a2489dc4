"""The low-mood and disengagement rules, their recoveries, and how low mood meets a decline."""

from __future__ import annotations

from bot.domain.detection import DetectorConfig
from bot.telegram.explanations import explain
from tests.domain.detection.replay import (
    DECLINE,
    DISENGAGEMENT,
    LOW_MOOD,
    checkin,
    replay,
)


def test_three_three_is_low_mood() -> None:
    result = replay([3, 3])

    assert result.kinds() == [(1, LOW_MOOD)]
    finding = result.alerts[0][1]
    assert finding.since == checkin(1)
    assert (
        explain(finding.kind, finding.since, finding.facts)
        == "Mood was 3 or below on two answers in a row (3, 3), since 3 Mar."
    )


def test_low_answers_that_are_not_consecutive_are_not_low_mood() -> None:
    assert replay([3, 5, 2, 6, 3]).alerts == []


def test_a_missed_check_in_does_not_break_a_run_of_low_answers() -> None:
    assert replay([2, None, 3]).kinds() == [(2, LOW_MOOD)]


def test_low_mood_recovers_after_two_answers_above_the_threshold() -> None:
    result = replay([3, 3, 4, 2, 5, 6, 3, 3])

    assert result.kinds() == [(1, LOW_MOOD), (7, LOW_MOOD)]
    assert [(i, r.kind) for i, r in result.recoveries] == [(5, LOW_MOOD)]


def test_hovering_just_above_the_threshold_is_still_the_same_low_mood_episode() -> None:
    """Low mood ends only at the recovery score (5): 4, 4 between dips is not a recovery."""
    result = replay([3, 3, 4, 4, 3, 2, 4, 4, 3, 3])

    assert result.kinds() == [(1, LOW_MOOD)]
    assert result.recoveries == []

    lenient = DetectorConfig(low_mood_recovery_score=4)
    again = replay([3, 3, 4, 4, 3, 2], lenient)
    assert again.kinds() == [(1, LOW_MOOD), (5, LOW_MOOD)]


def test_two_missed_after_an_answer_is_disengagement() -> None:
    result = replay([7, None, None])

    assert result.kinds() == [(2, DISENGAGEMENT)]
    finding = result.alerts[0][1]
    assert finding.since == checkin(2)
    assert "last answer 3 Mar" in explain(finding.kind, finding.since, finding.facts)


def test_two_missed_with_no_answer_ever_is_nothing() -> None:
    assert replay([None, None, None, None]).alerts == []


def test_any_answer_ends_disengagement_and_it_can_fire_again() -> None:
    result = replay([7, None, None, 6, None, None])

    assert result.kinds() == [(2, DISENGAGEMENT), (5, DISENGAGEMENT)]
    assert [(i, r.kind) for i, r in result.recoveries] == [(3, DISENGAGEMENT)]


def test_a_deep_fall_is_both_a_decline_and_low_mood() -> None:
    assert replay([8, 8, 8, 2, 2]).kinds() == [(4, DECLINE), (4, LOW_MOOD)]


def test_no_low_mood_with_a_decline_found_at_the_same_answer_when_left_to_it() -> None:
    config = DetectorConfig(low_mood_while_declining=False)

    assert replay([8, 8, 8, 2, 2], config).kinds() == [(4, DECLINE)]


def test_low_mood_can_be_left_to_an_open_decline() -> None:
    config = DetectorConfig(low_mood_while_declining=False)

    assert replay([8, 8, 8, 5, 5, 3, 3, 3], config).kinds() == [(4, DECLINE)]
