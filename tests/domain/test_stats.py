"""The /stats arithmetic: medians, nearest-rank 90th percentiles, what is timed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.codes import AlertKind
from bot.domain.stats import AlertTiming, CheckinTally, nearest_rank, spread, summarise

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
NO_CHECKINS = CheckinTally(answered=0, missed=0, failed=0, open=0, cancelled=0)


def minutes(*values: int) -> list[timedelta]:
    return [timedelta(minutes=value) for value in values]


def test_median_of_an_odd_and_an_even_count() -> None:
    assert spread(minutes(9, 1, 5)).median == timedelta(minutes=5)
    assert spread(minutes(1, 2, 3, 10)).median == timedelta(minutes=2, seconds=30)


def test_nearest_rank_p90() -> None:
    values = minutes(*range(1, 11))
    assert nearest_rank(values, 0.9) == timedelta(minutes=9)
    assert spread(minutes(4)).p90 == timedelta(minutes=4)
    assert spread(minutes(*range(1, 21))).p90 == timedelta(minutes=18)


def test_no_durations_give_no_figures() -> None:
    empty = spread([])
    assert (empty.count, empty.median, empty.p90) == (0, None, None)


def timing(
    kind: AlertKind,
    ack: int | None,
    resolve: int | None = None,
    *,
    follow_up: bool = False,
    sent: bool = True,
) -> AlertTiming:
    return AlertTiming(
        kind=kind,
        follow_up=follow_up,
        sent_at=T0 if sent else None,
        acknowledged_at=None if ack is None else T0 + timedelta(minutes=ack),
        resolved_at=None if resolve is None else T0 + timedelta(minutes=resolve),
    )


def test_follow_ups_are_counted_but_not_timed_and_unsent_alerts_not_timed() -> None:
    figures = summarise(
        [
            timing(AlertKind.CRISIS, 4, 60),
            timing(AlertKind.CRISIS, None, follow_up=True),
            timing(AlertKind.DECLINE, 30),
            timing(AlertKind.DECLINE, None),
            timing(AlertKind.STOPPED, 10, sent=False),
        ],
        since=T0 - timedelta(days=30),
        until=T0,
        active_patients=3,
        answering_patients=2,
        checkins=NO_CHECKINS,
    )
    assert dict(figures.by_kind) == {
        AlertKind.CRISIS: 2,
        AlertKind.DECLINE: 2,
        AlertKind.STOPPED: 1,
    }
    assert figures.follow_ups == 1
    assert figures.to_acknowledge.count == 2
    assert figures.to_acknowledge.median == timedelta(minutes=17)
    assert figures.to_resolve.count == 1
    assert figures.unacknowledged == 1


def test_answered_share_counts_only_check_ins_that_ended() -> None:
    tally = CheckinTally(answered=6, missed=3, failed=1, open=5, cancelled=4)
    assert tally.closed == 10
    assert tally.answered_share == 0.6
    assert NO_CHECKINS.answered_share is None
