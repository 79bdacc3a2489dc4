"""Mood charts for staff: a headless PNG of scores since the last two infusions."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.entities import MoodPoint

_WIDTH_IN, _HEIGHT_IN, _DPI = 7.0, 3.2, 110


def render_mood_chart(
    points: Sequence[MoodPoint],
    *,
    infusions: Sequence[datetime],
    highlight: datetime | None,
    tz: ZoneInfo,
    title: str,
) -> bytes:
    """Return a PNG of mood scores with infusions marked and the alert point highlighted."""
    # Imported here: matplotlib is slow to import and only staff alerts need it. The Agg
    # canvas is used directly (no pyplot), so nothing global is touched and no screen is needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter, date2num
    from matplotlib.figure import Figure

    figure = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    times = date2num([point.at.astimezone(tz) for point in points])
    scores = [point.score for point in points]
    if points:
        axes.plot(times, scores, marker="o", color="#3465a4", linewidth=1.6, markersize=4)
    for index, infusion in enumerate(infusions):
        axes.axvline(
            float(date2num(infusion.astimezone(tz))),
            color="#73a946",
            linestyle="--",
            linewidth=1.2,
            label="infusion" if index == 0 else None,
        )
    if highlight is not None and points:
        nearest = min(points, key=lambda point: abs((point.at - highlight).total_seconds()))
        axes.plot(
            [float(date2num(nearest.at.astimezone(tz)))],
            [nearest.score],
            marker="o",
            markersize=12,
            markerfacecolor="none",
            markeredgecolor="#cc0000",
            markeredgewidth=2,
            linestyle="none",
            label="alert",
        )
    axes.set_ylim(-0.5, 10.5)
    axes.set_yticks(range(0, 11, 2))
    axes.set_ylabel("mood (0-10)")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.xaxis.set_major_formatter(DateFormatter("%d %b", tz=tz))
    if not points:
        axes.text(0.5, 0.5, "no answers yet", transform=axes.transAxes, ha="center")
    if infusions or (highlight is not None and points):
        axes.legend(loc="lower left", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class MoodCharts:
    """The services' chart renderer: matplotlib, headless, titled with the patient's code."""

    def mood_chart(
        self,
        code: str,
        points: Sequence[MoodPoint],
        *,
        infusions: Sequence[datetime],
        highlight: datetime | None,
        tz: ZoneInfo,
    ) -> bytes:
        """Return the PNG of a patient's mood since the last two infusions."""
        return render_mood_chart(
            points,
            infusions=infusions,
            highlight=highlight,
            tz=tz,
            title=f"{code}: mood since the last two infusions",
        )
