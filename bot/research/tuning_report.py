"""The tuner's output: the frontier as a table and as a PNG chart (matplotlib Agg, no pyplot)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.research.tuning import Point

_WIDTH_IN, _HEIGHT_IN, _DPI = 7.5, 5.0, 110


def format_frontier(
    frontier: Sequence[Point],
    keys: Sequence[str],
    *,
    current: Point,
    naive: tuple[float, float, float],
    evaluated: int,
    every: Sequence[Point] = (),
) -> str:
    """Return the numbered frontier table, the current setting, the naive rule (and `every`)."""
    names = [key.split(".", 1)[1] for key in keys]
    header = (
        f"{'#':>3} {'sensitivity':>11} {'false/pt-month':>14} {'delay d':>8} {'extra':>6}  "
        + " ".join(f"{name:>{max(len(name), 5)}}" for name in names)
    )
    lines = [f"frontier: {len(frontier)} of {evaluated} settings", header]
    for number, point in enumerate(frontier, start=1):
        mark = "  <- current" if point.setting == current.setting else ""
        lines.append(_row(f"{number:>3}", point, keys, names) + mark)
    lines.append("")
    lines.append(_row("now", current, keys, names) + "  (current setting)")
    sensitivity, false_alerts, delay = naive
    lines.append(
        f"naive rule (last score >= 3 below the first): sensitivity {sensitivity:.3f},"
        f" false/pt-month {false_alerts:.3f}, delay {delay:.2f} d"
    )
    if every:
        lines.extend(["", f"every setting, by false alerts ({len(every)}):"])
        ordered = sorted(every, key=lambda p: (p.false_alerts, -p.sensitivity))
        lines.extend(_row("", point, keys, names) for point in ordered)
    return "\n".join(lines)


def _row(label: str, point: Point, keys: Sequence[str], names: Sequence[str]) -> str:
    values = " ".join(
        f"{_shown(point.setting.value(key)):>{max(len(name), 5)}}"
        for key, name in zip(keys, names, strict=True)
    )
    return (
        f"{label:>3} {point.sensitivity:>11.3f} {point.false_alerts:>14.3f}"
        f" {point.median_delay_days:>8.2f} {point.extra_share:>6.3f}  {values}"
    )


def _shown(value: float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}"


def write_frontier_chart(
    path: Path,
    points: Sequence[Point],
    frontier: Sequence[Point],
    *,
    current: Point,
    naive: tuple[float, float, float],
    title: str,
) -> None:
    """Write the chart: every setting, the numbered frontier, the current one, the naive rule."""
    # Imported here: matplotlib is slow to import and only this command draws.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.scatter(
        [p.false_alerts for p in points],
        [p.sensitivity for p in points],
        s=12,
        color="#babdb6",
        label="settings swept",
    )
    xs = [p.false_alerts for p in frontier]
    ys = [p.sensitivity for p in frontier]
    axes.plot(xs, ys, marker="o", color="#3465a4", linewidth=1.6, markersize=5, label="frontier")
    for number, (x, y) in enumerate(zip(xs, ys, strict=True), start=1):
        axes.annotate(str(number), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    axes.plot(
        [current.false_alerts],
        [current.sensitivity],
        marker="*",
        markersize=16,
        color="#cc0000",
        linestyle="none",
        label="current setting",
    )
    axes.plot(
        [naive[1]],
        [naive[0]],
        marker="X",
        markersize=11,
        color="#73a946",
        linestyle="none",
        label="naive rule",
    )
    axes.set_xlabel("false alerts per patient-month")
    axes.set_ylabel("sensitivity (relapse onsets alerted within 14 days)")
    axes.set_title(title, fontsize=10)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(str(path), format="png")
