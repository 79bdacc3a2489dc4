"""Scoring the relapse-timing suggestion on a cohort."""

from __future__ import annotations

import pytest

from bot.domain.adaptive import AdaptiveConfig
from bot.domain.detection import DetectorConfig
from bot.research.cohort import simulate_cohort
from bot.research.cohort_format import CohortRow, RowKind
from bot.research.evaluation import evaluate_rows
from bot.research.timing import format_timing, measure_timing, score_timing


def rows(onset: float) -> list[CohortRow]:
    return [
        CohortRow("P1", 0.4, RowKind.INFUSION),
        CohortRow("P1", 30.4, RowKind.INFUSION),
        CohortRow("P1", 60.4, RowKind.INFUSION),
        CohortRow("P1", onset, RowKind.RELAPSE_ONSET),
    ]


def test_a_suggestion_before_the_next_onset_is_in_time() -> None:
    declines = [(20.0, 18.0), (50.0, 48.0)]  # (found, since): 17.6 days after each infusion

    result = score_timing([(rows(80.0), declines)])

    assert result.intervals == 1
    assert result.in_time == 1
    assert result.leads == pytest.approx((7.0,))  # suggested 60.4 + 17.6 - 5 = day 73
    assert result.fixed_in_time == 1
    assert result.usual_errors == pytest.approx((17.6 - 19.6,))


def test_a_suggestion_after_the_onset_is_late_and_found_times_can_be_used() -> None:
    declines = [(20.0, 18.0), (50.0, 48.0)]

    assert score_timing([(rows(70.0), declines)]).in_time == 0
    by_found = score_timing([(rows(80.0), declines)], use_since=False)
    assert by_found.leads == pytest.approx((5.0,))


def test_no_estimate_before_two_declines_scores_nothing() -> None:
    result = score_timing([(rows(80.0), [(20.0, 18.0)])])

    assert result.intervals == 0
    assert result.share == 0.0


def test_the_evaluation_reports_the_measurement() -> None:
    cohort = simulate_cohort(40, 17)

    report = evaluate_rows(cohort)
    alone = measure_timing(cohort, DetectorConfig(), AdaptiveConfig())

    assert report.timing == alone
    assert alone.intervals >= 1
    assert format_timing(alone).startswith("relapse timing (lead 5 days): ")
