"""Mood charts for staff: a headless PNG of a patient's answers, misses, level and alerts."""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.domain.chart import ChartData, local_midnights

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_WIDTH_IN, _HEIGHT_IN, _DPI = 7.0, 3.4, 110
_MISSED_Y = -0.2
_ALERT_Y = 10.2
ANSWER_COLOUR = "#3465a4"
INFUSION_COLOUR = "#73a946"
LEVEL_COLOUR = "#555753"
MISSED_COLOUR = "#888a85"
ALERT_COLOUR = "#cc0000"


def chart_title(code: str) -> str:
    """Return the chart's title."""
    return f"{code}: mood since the last two infusions"


def render_mood_chart(data: ChartData, *, tz: ZoneInfo) -> bytes:
    """Return a PNG: answers as a line, misses as crosses, infusions, level and alerts.

    The time axis runs from before the earlier infusion to now, with a gridline at each
    local midnight (Mondays only over long spans). The alert being sent is circled.
    """
    # Imported here: matplotlib is slow to import and only staff alerts need it. The Agg
    # canvas is used directly (no pyplot), so nothing global is touched and no screen is needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _draw_answers(axes, data)
    _draw_marks(axes, data)
    _lay_out(axes, data, tz)
    return figure_png(figure)


def figure_png(figure: Figure) -> bytes:
    """Return a drawn figure as PNG bytes, its dates slanted and its layout tightened."""
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def x_of(moment: datetime) -> float:
    """Return matplotlib's number for a moment on a time axis."""
    return _x(moment)


def day_grid(axes: Axes, start: datetime, end: datetime, tz: ZoneInfo) -> None:
    """Run the time axis from start to end with a gridline at each local midnight."""
    from matplotlib.dates import DateFormatter
    from matplotlib.ticker import FixedLocator

    axes.set_xlim(_x(start), _x(end))
    midnights = [_x(m) for m in local_midnights(start, end, tz)]
    axes.xaxis.set_major_locator(FixedLocator(midnights))
    axes.xaxis.set_major_formatter(DateFormatter("%d %b", tz=tz))
    axes.grid(axis="x", alpha=0.35)
    axes.grid(axis="y", alpha=0.2)


def _x(moment: datetime) -> float:
    from matplotlib.dates import date2num

    return float(date2num(moment))


def _draw_answers(axes: Axes, data: ChartData) -> None:
    """The answers as a line, the misses as crosses along the bottom, the circled alert."""
    if data.points:
        axes.plot(
            [_x(p.at) for p in data.points],
            [p.score for p in data.points],
            marker="o",
            color=ANSWER_COLOUR,
            linewidth=1.6,
            markersize=4,
            label="answer",
        )
    if data.missed:
        axes.plot(
            [_x(m) for m in data.missed],
            [_MISSED_Y] * len(data.missed),
            marker="x",
            color=MISSED_COLOUR,
            linestyle="none",
            markersize=6,
            label="missed",
        )
    highlight = data.highlight
    if highlight is not None and data.points:
        nearest = min(data.points, key=lambda p: abs((p.at - highlight).total_seconds()))
        axes.plot(
            [_x(nearest.at)],
            [nearest.score],
            marker="o",
            markersize=13,
            markerfacecolor="none",
            markeredgecolor=ALERT_COLOUR,
            markeredgewidth=2,
            linestyle="none",
            label="this alert",
        )


def _draw_marks(axes: Axes, data: ChartData) -> None:
    """The infusions, the detector's level from the last infusion on, and past alerts."""
    for index, infusion in enumerate(data.infusions):
        axes.axvline(
            _x(infusion),
            color=INFUSION_COLOUR,
            linestyle="--",
            linewidth=1.2,
            label="infusion" if index == 0 else None,
        )
    if data.level is not None and data.level_from is not None:
        axes.hlines(
            data.level,
            _x(data.level_from),
            _x(data.end),
            colors=LEVEL_COLOUR,
            linestyles=":",
            linewidth=1.4,
            label=f"post-infusion level {data.level:.1f}",
        )
    if data.past_alerts:
        axes.plot(
            [_x(a) for a in data.past_alerts],
            [_ALERT_Y] * len(data.past_alerts),
            marker="v",
            color=ALERT_COLOUR,
            linestyle="none",
            markersize=6,
            label="alert",
        )


def _lay_out(axes: Axes, data: ChartData, tz: ZoneInfo) -> None:
    """The axes: to now, midnight gridlines, the 0-10 scale, the title and the legend."""
    day_grid(axes, data.start, data.end, tz)
    axes.set_ylim(-0.7, 10.7)
    axes.set_yticks(range(0, 11, 2))
    axes.set_ylabel("mood (0-10)")
    axes.set_title(chart_title(data.code), fontsize=10)
    if not data.points:
        axes.text(0.5, 0.5, "no answers yet", transform=axes.transAxes, ha="center")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best", fontsize=7, ncols=3)


class MoodCharts:
    """The services' chart renderer: matplotlib, headless."""

    def mood_chart(self, data: ChartData, *, tz: ZoneInfo) -> bytes:
        """Return the PNG of a patient's chart."""
        return render_mood_chart(data, tz=tz)
