"""A patient's own relapse timing, estimated after their second decline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.detection import relapse_timing

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def day(number: float) -> datetime:
    return START + timedelta(days=number)


def test_nothing_before_the_second_decline() -> None:
    assert relapse_timing(infusions=[day(0)], decline_starts=[]) is None
    assert relapse_timing(infusions=[day(0), day(40)], decline_starts=[day(18)]) is None
    assert relapse_timing(infusions=[], decline_starts=[day(3), day(9)]) is None


def test_after_two_declines_the_usual_time_and_the_suggested_date() -> None:
    timing = relapse_timing(
        infusions=[day(0), day(30), day(60)], decline_starts=[day(18), day(50)]
    )

    assert timing is not None
    assert timing.declines == 2
    assert timing.usual_days == pytest.approx(19.0)
    assert timing.shortest_days == pytest.approx(18.0)
    assert timing.last_infusion == day(60)
    # About 19 days after the infusion of day 60, less the default 5 days' lead: day 74.
    assert timing.suggest_before == day(74)


def test_only_the_first_decline_after_an_infusion_counts() -> None:
    timing = relapse_timing(
        infusions=[day(0), day(40)], decline_starts=[day(10), day(25), day(52)]
    )

    assert timing is not None
    assert timing.declines == 2
    assert timing.usual_days == pytest.approx(11.0)


def test_declines_before_any_infusion_are_ignored_and_order_does_not_matter() -> None:
    timing = relapse_timing(
        infusions=[day(70), day(10), day(40)],
        decline_starts=[day(62), day(5), day(30)],
        lead_days=2,
    )

    assert timing is not None
    assert timing.declines == 2
    assert timing.usual_days == pytest.approx(21.0)
    assert timing.suggest_before == day(70 + 19)


def test_the_median_resists_one_odd_interval() -> None:
    timing = relapse_timing(
        infusions=[day(0), day(40), day(80), day(120)],
        decline_starts=[day(20), day(58), day(115)],
    )

    assert timing is not None
    assert timing.usual_days == pytest.approx(20.0)


def test_a_suggestion_is_never_before_the_day_after_the_infusion() -> None:
    timing = relapse_timing(
        infusions=[day(0), day(10), day(20)], decline_starts=[day(2), day(13)], lead_days=7
    )

    assert timing is not None
    assert timing.suggest_before == day(21)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        relapse_timing(infusions=[datetime(2026, 1, 5)], decline_starts=[])
    with pytest.raises(ValueError, match="lead_days"):
        relapse_timing(infusions=[day(0)], decline_starts=[], lead_days=-1)
    with pytest.raises(ValueError, match="min_declines"):
        relapse_timing(infusions=[day(0)], decline_starts=[], min_declines=0)
