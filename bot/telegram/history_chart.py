"""The patient's own chart (/history): mood since enrolment, questionnaire totals beneath."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.domain.history import History
from bot.telegram.charts import ANSWER_COLOUR, INFUSION_COLOUR, day_grid, figure_png
from bot.telegram.charts import x_of as _x
from bot.telegram.questionnaire_texts import TITLES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_WIDTH_IN, _DPI = 7.0, 110
_TOTAL_COLOURS = {"phq9": "#75507b", "gad7": "#c17d11"}
_TOTAL_MAX = {"phq9": 27, "gad7": 21}


def render_history(history: History, *, tz: ZoneInfo) -> bytes:
    """Return a PNG: mood answers with infusions marked; questionnaire totals below, if any."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = 2 if history.totals else 1
    figure = Figure(figsize=(_WIDTH_IN, 3.2 + 2.0 * (panels - 1)), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    _mood(axes[0], history)
    if history.totals:
        _totals(axes[1], history)
    for panel in axes:
        day_grid(panel, history.start, history.end, tz)
    return figure_png(figure)


def _infusions(axes: Axes, history: History, *, label: bool) -> None:
    for index, infusion in enumerate(history.infusions):
        axes.axvline(
            _x(infusion),
            color=INFUSION_COLOUR,
            linestyle="--",
            linewidth=1.2,
            label="infusion" if label and index == 0 else None,
        )


def _mood(axes: Axes, history: History) -> None:
    if history.points:
        axes.plot(
            [_x(p.at) for p in history.points],
            [p.score for p in history.points],
            marker="o",
            color=ANSWER_COLOUR,
            linewidth=1.6,
            markersize=4,
            label="your mood",
        )
    else:
        axes.text(0.5, 0.5, "no mood answers yet", transform=axes.transAxes, ha="center")
    _infusions(axes, history, label=True)
    axes.set_ylim(-0.5, 10.5)
    axes.set_yticks(range(0, 11, 2))
    axes.set_ylabel("mood (0-10)")
    axes.set_title("Your mood since you joined (higher is better)", fontsize=10)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best", fontsize=7)


def _totals(axes: Axes, history: History) -> None:
    for instrument in sorted({t.instrument for t in history.totals}):
        mine = [t for t in history.totals if t.instrument == instrument]
        title = TITLES.get(instrument, instrument.upper())
        top = _TOTAL_MAX.get(instrument)
        axes.plot(
            [_x(t.at) for t in mine],
            [t.total for t in mine],
            marker="s",
            color=_TOTAL_COLOURS.get(instrument, "#555753"),
            linewidth=1.4,
            markersize=4,
            label=f"{title} (0-{top})" if top else title,
        )
    _infusions(axes, history, label=False)
    axes.set_ylim(-1, 28)
    axes.set_ylabel("total")
    axes.set_title("Questionnaire totals (lower is better)", fontsize=10)
    axes.legend(loc="best", fontsize=7)


class HistoryCharts:
    """The services' history renderer: matplotlib, headless."""

    def history_chart(self, history: History, *, tz: ZoneInfo) -> bytes:
        """Return the PNG of a patient's own history."""
        return render_history(history, tz=tz)
