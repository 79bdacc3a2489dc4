"""The decline rule: the self-starting CUSUM chart on the patient's own level."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.detection import DetectorConfig, Observation
from bot.telegram.explanations import explain
from tests.domain.detection.replay import DECLINE, check, checkin, outcomes, replay


def test_eight_eight_seven_then_four_four_is_a_decline_at_the_second_four() -> None:
    result = replay([8, 8, 7, 4, 4])

    assert result.kinds() == [(4, DECLINE)]
    finding = result.alerts[0][1]
    assert finding.at == checkin(5)
    assert finding.since == checkin(4)
    assert finding.baseline == pytest.approx(23 / 3)
    assert [o.score for o in finding.evidence] == [4, 4]
    assert explain(finding.kind, finding.since, finding.facts) == (
        "Mood fell from a post-infusion level of 7.7 to 4.0 (two answers in a row), since 6 Mar."
    )


def test_the_level_keeps_learning_from_answers_in_control() -> None:
    """Six more answers of 8 raise the level from 7.3 to 7.8, so four 6s become a decline."""
    series = [7, 7, 8, *[8] * 6, 6, 6, 6, 6]

    assert replay(series).kinds() == [(12, DECLINE)]
    assert replay(series, DetectorConfig(baseline_max_answers=3)).kinds() == []


def test_answers_after_the_learning_period_do_not_move_the_level() -> None:
    """Later good days do not make the patient's usual 7 look like a decline."""
    series = [8, 8, 8, *[8] * 9, *[10] * 10, 7, 7, 7, 7]

    assert replay(series).kinds() == []
    assert replay(series, DetectorConfig(baseline_max_answers=30)).first(DECLINE) is not None


def test_answers_during_a_drop_do_not_join_the_level() -> None:
    """A slow slide is measured against the level before it, not a level that follows it."""
    series = [8, 8, 8, 7, 7, 6, 6, 6]

    assert replay(series).first(DECLINE) == 6


def test_since_is_not_a_day_the_chart_was_in_control() -> None:
    """A 7 that left the chart at zero is not when the decline began, even if low-ish."""
    result = replay([10, 8, 6, 7, 4, 4, 4])

    assert result.kinds() == [(6, DECLINE)]
    finding = result.alerts[0][1]
    assert finding.since == checkin(5)
    assert [o.score for o in finding.evidence] == [4, 4, 4]


def test_one_confirming_answer_can_be_configured() -> None:
    config = DetectorConfig(confirm_answers=1)

    assert replay([8, 8, 7, 1], config).first(DECLINE) == 3


def test_an_exact_average_drop_is_enough() -> None:
    """A level of 26/3 and three answers averaging exactly 2 below it."""
    config = DetectorConfig(baseline_max_answers=3, confirm_answers=3, confirm_mean_drop=2.0)

    assert replay([9, 9, 8, 7, 7, 6], config).first(DECLINE) == 5


def test_one_bad_day_is_not_an_alert() -> None:
    assert replay([8, 8, 7, 4, 8, 8, 7]).alerts == []


def test_several_low_answers_on_the_same_day_are_not_a_confirmation() -> None:
    base = outcomes([8, 8, 7])
    same_day = [Observation(checkin(4), 4), Observation(checkin(4) + timedelta(hours=1), 3)]

    findings, _ = check([*base, *same_day])

    assert findings == []


def test_recovery_ends_a_decline_and_a_later_decline_fires_again() -> None:
    result = replay([8, 8, 7, 4, 4, 8, 8, 4, 4])

    assert result.kinds() == [(4, DECLINE), (8, DECLINE)]
    assert [(i, r.kind) for i, r in result.recoveries] == [(6, DECLINE)]
    assert result.recoveries[0][1].at == checkin(7)
