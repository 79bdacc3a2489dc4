"""Turning an infusion into check-in due times: concrete cases and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.domain.entities import PlannedCheckin
from bot.domain.plan import local_due, plan_checkins
from bot.runtime.content import load_protocol

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
DEFAULT_DAYS = load_protocol().days


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# Concrete cases ------------------------------------------------------------------------


def test_berlin_keeps_local_time_across_spring_forward() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST.
    infusion = datetime(2026, 3, 27, 10, 0, tzinfo=BERLIN)

    plan = plan_checkins(infusion, days=[1, 2, 3], at=time(9, 0), tz=BERLIN)

    assert [item.due_at for item in plan] == [
        utc(2026, 3, 28, 8, 0),  # 09:00 CET
        utc(2026, 3, 29, 7, 0),  # 09:00 CEST
        utc(2026, 3, 30, 7, 0),
    ]
    assert all(item.due_at.astimezone(BERLIN).time() == time(9, 0) for item in plan)


def test_new_york_keeps_local_time_across_fall_back() -> None:
    # 2026-11-01 02:00 EDT -> 01:00 EST.
    infusion = datetime(2026, 10, 30, 14, 0, tzinfo=NEW_YORK)

    plan = plan_checkins(infusion, days=[1, 2], at=time(9, 0), tz=NEW_YORK)

    assert [item.due_at for item in plan] == [
        utc(2026, 10, 31, 13, 0),  # 09:00 EDT
        utc(2026, 11, 1, 14, 0),  # 09:00 EST
    ]
    assert [item.day for item in plan] == [1, 2]


def test_late_evening_infusion_counts_from_its_local_date() -> None:
    # 23:30 EDT on 10 May is already 11 May in UTC; day 1 is still 11 May locally.
    infusion = datetime(2026, 5, 10, 23, 30, tzinfo=NEW_YORK)
    assert infusion.astimezone(UTC).date() == date(2026, 5, 11)

    due = local_due(infusion, 1, time(9, 0), NEW_YORK)

    assert due.astimezone(NEW_YORK) == datetime(2026, 5, 11, 9, 0, tzinfo=NEW_YORK)
    assert due == utc(2026, 5, 11, 13, 0)


def test_infusion_at_2330_local_gives_day_1_on_the_next_calendar_day() -> None:
    infusion = datetime(2026, 5, 10, 23, 30, tzinfo=BERLIN)

    plan = plan_checkins(infusion, days=[1], at=time(8, 0), tz=BERLIN)

    assert plan == [PlannedCheckin(day=1, due_at=utc(2026, 5, 11, 6, 0))]


def test_early_morning_infusion_east_of_utc_counts_from_its_local_date() -> None:
    # 00:30 in Tokyo on 11 May is still 10 May in UTC.
    infusion = datetime(2026, 5, 11, 0, 30, tzinfo=TOKYO)
    assert infusion.astimezone(UTC).date() == date(2026, 5, 10)

    due = local_due(infusion, 1, time(9, 0), TOKYO)

    assert due == datetime(2026, 5, 12, 9, 0, tzinfo=TOKYO)


def test_nonexistent_local_time_moves_forward_by_the_gap() -> None:
    # America/New_York skips 02:00-03:00 on 2026-03-08.
    infusion = datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK)

    due = local_due(infusion, 1, time(2, 30), NEW_YORK)

    assert due == utc(2026, 3, 8, 7, 30)
    local = due.astimezone(NEW_YORK)
    assert (local.date(), local.time()) == (date(2026, 3, 8), time(3, 30))
    assert local.tzname() == "EDT"


def test_repeated_local_time_uses_its_first_occurrence() -> None:
    # America/New_York shows 01:00-02:00 twice on 2026-11-01; the first one is EDT.
    infusion = datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK)

    due = local_due(infusion, 1, time(1, 30), NEW_YORK)

    assert due == utc(2026, 11, 1, 5, 30)


def test_not_before_drops_earlier_and_equal_due_times() -> None:
    infusion = datetime(2026, 4, 1, 10, 0, tzinfo=BERLIN)
    full = plan_checkins(infusion, days=range(1, 8), at=time(18, 0), tz=BERLIN)

    cut = plan_checkins(
        infusion, days=range(1, 8), at=time(18, 0), tz=BERLIN, not_before=full[2].due_at
    )

    assert cut == full[3:]
    assert [item.day for item in cut] == [4, 5, 6, 7]


def test_not_before_after_the_whole_plan_gives_nothing() -> None:
    infusion = datetime(2026, 4, 1, 10, 0, tzinfo=BERLIN)

    plan = plan_checkins(
        infusion, days=[1, 2], at=time(18, 0), tz=BERLIN, not_before=utc(2027, 1, 1)
    )

    assert plan == []


def test_days_are_sorted_and_deduplicated() -> None:
    infusion = datetime(2026, 4, 1, 10, 0, tzinfo=BERLIN)

    plan = plan_checkins(infusion, days=[3, 1, 3, 2], at=time(18, 0), tz=BERLIN)

    assert [item.day for item in plan] == [1, 2, 3]


def test_naive_infusion_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_due(datetime(2026, 4, 1, 10, 0), 1, time(9, 0), BERLIN)


def test_result_is_utc_even_for_a_non_utc_infusion() -> None:
    due = local_due(datetime(2026, 4, 1, 10, 0, tzinfo=TOKYO), 2, time(9, 0), BERLIN)

    assert due.tzinfo is UTC


# Properties ----------------------------------------------------------------------------


def _loadable(key: str) -> bool:
    try:
        ZoneInfo(key)
    except Exception:  # anything zoneinfo cannot load is simply skipped
        return False
    return True


zones = st.timezone_keys().filter(_loadable).map(ZoneInfo)
infusions = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2037, 12, 31, 23, 59),
    timezones=st.just(UTC),
)
preferred_times = st.builds(
    time, hour=st.integers(min_value=0, max_value=23), minute=st.integers(0, 59)
)
plan_days = st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=12)
modest = settings(max_examples=200, deadline=None, database=None)


def _naive_wall(due: datetime, tz: ZoneInfo) -> datetime:
    return due.astimezone(tz).replace(tzinfo=None, fold=0)


def _gap(day: date, at: time, tz: ZoneInfo) -> timedelta:
    """Return how far a wall clock skips over `at` on `day` (zero when the time exists)."""
    wanted = datetime.combine(day, at, tzinfo=tz)
    round_trip = wanted.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) == wanted.replace(tzinfo=None):
        return timedelta(0)
    before = wanted.replace(fold=0).utcoffset()
    after = wanted.replace(fold=1).utcoffset()
    assert before is not None
    assert after is not None
    return after - before


def _offset(start: date, day: int, at: time, tz: ZoneInfo) -> timedelta:
    offset = datetime.combine(start + timedelta(days=day), at, tzinfo=tz).utcoffset()
    assert offset is not None
    return offset


@modest
@given(infusion=infusions, tz=zones, at=preferred_times, days=plan_days)
def test_property_local_date_is_infusion_date_plus_day(
    infusion: datetime, tz: ZoneInfo, at: time, days: list[int]
) -> None:
    start = infusion.astimezone(tz).date()

    for item in plan_checkins(infusion, days=days, at=at, tz=tz):
        expected = start + timedelta(days=item.day)
        wall = _naive_wall(item.due_at, tz)
        if _gap(expected, at, tz):
            # Skipped wall time: moved forward, so the date may only move forward with it.
            assert wall > datetime.combine(expected, at)
        else:
            assert wall.date() == expected


@modest
@given(infusion=infusions, tz=zones, at=preferred_times, days=plan_days)
def test_property_local_wall_time_is_the_preferred_time_unless_skipped(
    infusion: datetime, tz: ZoneInfo, at: time, days: list[int]
) -> None:
    start = infusion.astimezone(tz).date()

    for item in plan_checkins(infusion, days=days, at=at, tz=tz):
        expected = datetime.combine(start + timedelta(days=item.day), at)
        wall = _naive_wall(item.due_at, tz)
        gap = _gap(expected.date(), at, tz)
        if not gap:
            assert wall == expected
        else:
            # Moved forward by exactly the size of the gap, as a wall clock would.
            assert gap > timedelta(0)
            assert wall == expected + gap
            if gap <= timedelta(hours=2):  # every zone but whole-day skips (Apia 2011)
                assert expected < wall <= expected + timedelta(hours=2)


@modest
@given(infusion=infusions, tz=zones, at=preferred_times)
def test_property_default_plan_due_times_strictly_increase(
    infusion: datetime, tz: ZoneInfo, at: time
) -> None:
    plan = plan_checkins(infusion, days=DEFAULT_DAYS, at=at, tz=tz)

    assert [item.day for item in plan] == list(DEFAULT_DAYS)
    start = infusion.astimezone(tz).date()
    for earlier, later in pairwise(plan):
        # Offsets in force at the intended wall times (first occurrence).
        jump = _offset(start, later.day, at, tz) - _offset(start, earlier.day, at, tz)
        if jump >= timedelta(days=later.day - earlier.day):
            continue  # whole calendar days skipped by the zone (Pacific/Apia, 2011-12-30)
        assert earlier.due_at < later.due_at


@modest
@given(
    infusion=infusions,
    tz=zones,
    at=preferred_times,
    days=plan_days,
    not_before=st.none() | infusions,
)
def test_property_results_are_aware_utc_and_after_not_before(
    infusion: datetime, tz: ZoneInfo, at: time, days: list[int], not_before: datetime | None
) -> None:
    plan = plan_checkins(infusion, days=days, at=at, tz=tz, not_before=not_before)

    for item in plan:
        assert item.due_at.tzinfo is UTC
        assert item.due_at.utcoffset() == timedelta(0)
        if not_before is not None:
            assert item.due_at > not_before
    assert len(plan) <= len(set(days))


# Zones with daylight-saving gaps, including odd ones: midnight changes (Havana, Santiago),
# 30-minute DST (Lord Howe), 2-hour DST (Troll), negative DST (Dublin), Ramadan (Casablanca).
DST_ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/Havana",
    "America/Santiago",
    "America/Asuncion",
    "Australia/Lord_Howe",
    "Antarctica/Troll",
    "Europe/Dublin",
    "Africa/Casablanca",
    "Asia/Tehran",
    "Pacific/Chatham",
)


@cache
def _skipped_wall_times(key: str, year: int) -> tuple[datetime, ...]:
    """Return the quarter-hour wall times of a year that do not exist in the zone."""
    tz = ZoneInfo(key)
    found: list[datetime] = []
    day = date(year, 1, 1)
    previous = datetime.combine(day - timedelta(days=1), time(12), tzinfo=tz).utcoffset()
    while day.year == year:
        noon = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
        if noon != previous:
            for candidate in (day - timedelta(days=1), day):
                for minute in range(0, 24 * 60, 15):
                    at = time(minute // 60, minute % 60)
                    if _gap(candidate, at, tz):
                        found.append(datetime.combine(candidate, at))
        previous = noon
        day += timedelta(days=1)
    return tuple(found)


@modest
@given(
    key=st.sampled_from(DST_ZONES),
    year=st.integers(min_value=2000, max_value=2037),
    day=st.integers(min_value=1, max_value=91),
    data=st.data(),
)
def test_property_skipped_wall_times_move_forward_by_the_gap(
    key: str, year: int, day: int, data: st.DataObject
) -> None:
    skipped = _skipped_wall_times(key, year)
    assume(skipped)  # a few zones have years without daylight saving
    wanted = data.draw(st.sampled_from(skipped))
    tz = ZoneInfo(key)
    infusion = datetime.combine(wanted.date() - timedelta(days=day), time(12), tzinfo=tz)

    due = local_due(infusion, day, wanted.time(), tz)

    wall = _naive_wall(due, tz)
    assert wanted < wall <= wanted + timedelta(hours=2)
    assert wall == wanted + _gap(wanted.date(), wanted.time(), tz)
