"""The adaptive check-in policy: one extra check-in the day after a markedly low answer."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.adaptive import AdaptiveConfig, markedly_low, plan_extra_checkin
from bot.domain.detection import DetectorConfig, Level, Observation, patient_level
from tests.domain.detection.replay import INFUSION, outcomes

BERLIN = ZoneInfo("Europe/Berlin")
CONFIG = AdaptiveConfig()
LEVEL = Level(level=7.4, sd=1.0, answers=12)
# Tuesday 10 March 2026, 18:30 in Berlin (17:30 UTC): just after an 18:00 check-in.
NOW = datetime(2026, 3, 10, 18, 30, tzinfo=BERLIN)


def plan(
    score: int | None = 5,
    *,
    level: Level | None = LEVEL,
    next_planned: datetime | None = NOW + timedelta(days=2),
    zone: ZoneInfo = BERLIN,
    at: time = time(18, 0),
    pending: bool = False,
    now: datetime = NOW,
    config: AdaptiveConfig = CONFIG,
) -> datetime | None:
    return plan_extra_checkin(
        answer=Observation(at=now, score=score),
        level=level,
        next_planned=next_planned,
        zone=zone,
        checkin_time=at,
        extra_pending=pending,
        now=now,
        config=config,
    )


def test_a_markedly_low_answer_plans_one_extra_the_next_day_at_the_usual_time() -> None:
    due = plan(5)

    assert due == datetime(2026, 3, 11, 18, 0, tzinfo=BERLIN)
    assert due is not None
    assert due.tzinfo is UTC


def test_an_ordinary_answer_plans_nothing() -> None:
    assert plan(6) is not None  # 1.4 points below the level of 7.4
    assert plan(7) is None
    assert plan(9) is None
    assert plan(None) is None


def test_it_fires_once_while_an_extra_is_pending() -> None:
    assert plan(4, pending=False) is not None
    assert plan(4, pending=True) is None


def test_not_when_the_next_planned_check_in_is_a_day_and_a_half_away_or_less() -> None:
    assert plan(5, next_planned=NOW + timedelta(hours=36)) is None
    assert plan(5, next_planned=NOW + timedelta(hours=23)) is None
    assert plan(5, next_planned=NOW + timedelta(hours=37)) is not None


def test_the_extra_leaves_a_gap_after_the_answer_and_before_the_next_planned_one() -> None:
    # Answered at noon: 18:00 today is only 6 hours away, so the extra is 18:00 tomorrow.
    noon = datetime(2026, 3, 10, 12, 0, tzinfo=BERLIN)
    tomorrow = datetime(2026, 3, 11, 18, 0, tzinfo=BERLIN)

    assert plan(5, now=noon, next_planned=noon + timedelta(hours=43)) == tomorrow
    # Next planned at 01:00 the day after: 7 hours after the extra would be, too close.
    assert plan(5, now=noon, next_planned=noon + timedelta(hours=37)) is None


def test_no_plan_left_and_no_level_yet_plan_nothing() -> None:
    assert plan(2, next_planned=None) is None
    assert plan(2, level=None) is None


def test_not_while_a_decline_alert_is_open() -> None:
    assert plan(2, level=Level(level=7.4, sd=1.0, declining=True)) is None


def test_never_in_the_patients_local_night() -> None:
    assert plan(5, at=time(22, 30)) is None
    assert plan(5, at=time(7, 30)) is None
    assert plan(5, at=time(8, 0)) is not None
    late = AdaptiveConfig(night_start=time(23, 0), night_end=time(6, 0))
    assert plan(5, at=time(22, 30), config=late) is not None


def test_the_night_is_the_patients_own_in_their_time_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 3, 10, 20, 30, tzinfo=tokyo)
    due = plan(5, zone=tokyo, at=time(20, 0), now=now, next_planned=now + timedelta(days=2))

    assert due == datetime(2026, 3, 11, 20, 0, tzinfo=tokyo)
    # 20:00 in Tokyo is 11:00 UTC: a UTC clock would not see the patient's evening.
    assert due is not None
    assert due.astimezone(UTC).hour == 11


def test_an_answer_after_midnight_gets_the_same_days_usual_time() -> None:
    now = datetime(2026, 3, 11, 0, 40, tzinfo=BERLIN)

    assert plan(5, now=now, next_planned=now + timedelta(days=3)) == datetime(
        2026, 3, 11, 18, 0, tzinfo=BERLIN
    )


def test_across_a_daylight_saving_change_the_local_time_is_kept() -> None:
    # Europe/Berlin moves to summer time on 29 March 2026.
    now = datetime(2026, 3, 28, 18, 30, tzinfo=BERLIN)
    due = plan(5, now=now, next_planned=now + timedelta(days=3))

    assert due == datetime(2026, 3, 29, 18, 0, tzinfo=BERLIN)
    assert due is not None
    assert due.astimezone(UTC).hour == 16


def test_disabled_plans_nothing() -> None:
    assert plan(0, config=AdaptiveConfig(enabled=False)) is None


def test_markedly_low_in_points_and_spreads() -> None:
    noisy = Level(level=7.0, sd=2.0)
    points = AdaptiveConfig(low_drop=1.5)
    both = AdaptiveConfig(low_drop=1.5, low_spreads=1.0)

    assert markedly_low(5, noisy, points)
    assert not markedly_low(6, noisy, points)
    assert markedly_low(6, noisy, CONFIG)
    assert markedly_low(5, noisy, both)
    assert not markedly_low(6, noisy, both)
    assert not markedly_low(5, Level(level=7.0, sd=2.5), both)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(5, now=datetime(2026, 3, 10, 18, 30))


def test_the_level_comes_from_the_same_observations_evaluate_reads() -> None:
    seen = outcomes([8, 8, 7, 8, None, 7])
    level = patient_level(
        infusions=[INFUSION],
        observations=seen,
        episodes=[],
        now=seen[-1].at,
        config=DetectorConfig(),
    )

    # 8, 8, 7 give 7.67; the next 8 leaves the chart at zero and joins; the last 7 does not.
    assert level is not None
    assert level.level == pytest.approx(7.75)
    assert level.answers == 4
    assert not level.declining
    assert (
        patient_level(
            infusions=[INFUSION],
            observations=seen[:2],
            episodes=[],
            now=seen[1].at,
            config=DetectorConfig(),
        )
        is None
    )


# The [adaptive] table -------------------------------------------------------------------


def test_the_table_reads_every_key() -> None:
    table = {
        "enabled": False,
        "low_drop": 2,
        "low_spreads": 1.5,
        "min_lead_hours": 48,
        "min_gap_hours": 10,
        "night_start": "21:30",
        "night_end": "07:15",
    }

    config = AdaptiveConfig.from_mapping(table)

    assert config == AdaptiveConfig(
        enabled=False,
        low_drop=2.0,
        low_spreads=1.5,
        min_lead_hours=48.0,
        min_gap_hours=10.0,
        night_start=time(21, 30),
        night_end=time(7, 15),
    )
    assert AdaptiveConfig.from_mapping({}) == AdaptiveConfig()


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"enabled": 1}, "enabled"),
        ({"low_drop": -1}, "low_drop"),
        ({"low_drop": "2"}, "low_drop"),
        ({"min_lead_hours": 12}, "min_lead_hours"),
        ({"min_gap_hours": float("inf")}, "min_gap_hours"),
        ({"night_start": "25:00"}, "night_start"),
        ({"night_end": 8}, "night_end"),
        ({"night_start": "08:00", "night_end": "08:00"}, "night_end"),
        ({"lowdrop": 1}, "lowdrop"),
    ],
)
def test_the_table_names_the_bad_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=f"\\[adaptive\\].*{key}"):
        AdaptiveConfig.from_mapping(table)


# Properties -----------------------------------------------------------------------------

ZONES = st.sampled_from([BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), UTC])


@settings(max_examples=300, deadline=None)
@given(
    zone=ZONES,
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    at=st.times(),
    lead=st.floats(min_value=0, max_value=240),
    score=st.integers(min_value=0, max_value=10),
)
def test_an_extra_is_never_at_night_never_late_and_never_too_close(
    zone: ZoneInfo, now: datetime, at: time, lead: float, score: int
) -> None:
    next_planned = now + timedelta(hours=lead)
    due = plan(score, zone=zone, at=at, now=now, next_planned=next_planned)

    if due is None:
        return
    local = due.astimezone(zone)
    assert not CONFIG.in_night(local.time())
    assert due - now >= timedelta(hours=CONFIG.min_gap_hours)
    assert next_planned - due >= timedelta(hours=CONFIG.min_gap_hours)
    assert next_planned - now > timedelta(hours=CONFIG.min_lead_hours)
    assert score <= LEVEL.level - CONFIG.low_drop


def test_the_documented_adaptive_table_is_the_defaults_and_lists_every_key() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "detection.md"
    block = re.search(r"```toml\n(\[adaptive\].*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert block is not None

    table = tomllib.loads(block.group(1))["adaptive"]

    assert set(table) == {item.name for item in fields(AdaptiveConfig)}
    assert AdaptiveConfig.from_mapping(table) == AdaptiveConfig()
