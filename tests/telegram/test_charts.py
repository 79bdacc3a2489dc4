"""The chart's gridlines and that the PNG renders with every element present."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.chart import ChartData, local_midnights
from bot.domain.entities import MoodPoint
from bot.telegram.charts import render_mood_chart

BERLIN = ZoneInfo("Europe/Berlin")
PNG = b"\x89PNG\r\n\x1a\n"


def test_gridlines_fall_on_local_midnight_across_a_clock_change() -> None:
    # Europe/Berlin moves to summer time on 29 March 2026.
    start = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    end = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    lines = local_midnights(start, end, BERLIN)
    assert [line.astimezone(BERLIN).strftime("%d %H:%M") for line in lines] == [
        "28 00:00",
        "29 00:00",
        "30 00:00",
        "31 00:00",
    ]
    assert [line.astimezone(UTC).hour for line in lines] == [23, 23, 22, 22]


def test_over_long_spans_gridlines_are_mondays() -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    lines = local_midnights(start, start + timedelta(days=60), BERLIN)
    assert lines
    assert {line.astimezone(BERLIN).weekday() for line in lines} == {0}
    assert all(line.astimezone(BERLIN).hour == 0 for line in lines)


def chart(**changes: object) -> ChartData:
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    base = ChartData(
        code="P-7K3Q",
        points=tuple(
            MoodPoint(at=t0 + timedelta(days=d), score=s) for d, s in enumerate((8, 8, 7, 4, 3))
        ),
        missed=(t0 + timedelta(days=5, hours=1),),
        infusions=(t0 - timedelta(hours=2),),
        level=7.7,
        level_from=t0 - timedelta(hours=2),
        past_alerts=(t0 + timedelta(days=4),),
        highlight=t0 + timedelta(days=4),
        start=t0 - timedelta(hours=14),
        end=t0 + timedelta(days=6),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_full_chart_renders() -> None:
    png = render_mood_chart(chart(), tz=BERLIN)
    assert png.startswith(PNG)
    assert len(png) > 10_000


def test_an_empty_chart_renders() -> None:
    png = render_mood_chart(
        chart(points=(), missed=(), level=None, level_from=None, past_alerts=(), highlight=None),
        tz=BERLIN,
    )
    assert png.startswith(PNG)
