"""`afterglow tune-detector`: sweep, print the frontier, draw it, write the chosen setting."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.domain.errors import AfterglowError
from bot.research.cohort_format import CohortRow
from bot.research.settings_file import render_protocol
from bot.research.tuning import SWEEP, Setting, Tuning, tune
from bot.research.tuning_report import format_frontier, write_frontier_chart


class TuningError(AfterglowError):
    """A tuner option that cannot be honoured (a bad --pick, a file that cannot be written)."""


def run_tuning(
    rows: Sequence[CohortRow],
    base: Setting,
    *,
    protocol_text: str,
    chart: Path | None = None,
    pick: int | None = None,
    write_protocol: Path | None = None,
    force: bool = False,
    jobs: int = 1,
    show_all: bool = False,
    sweep: Mapping[str, Sequence[float]] = SWEEP,
) -> str:
    """Run the sweep and return what the command prints; write the chart and protocol asked."""
    if write_protocol is not None and pick is None:
        raise TuningError("--write-protocol needs --pick N (a frontier row)")
    if write_protocol is not None and write_protocol.exists() and not force:
        raise TuningError(f"{write_protocol} exists; use --force to overwrite it")
    if jobs < 1:
        raise TuningError("--jobs must be at least 1")
    total = 1
    for values in sweep.values():
        total *= len(values)

    def progress(done: int) -> None:
        print(f"\r{done}/{total} settings", end="", file=sys.stderr, flush=True)

    shown = sys.stderr.isatty()
    result = tune(rows, base, sweep, jobs=jobs, progress=progress if shown else None)
    if shown:
        print(file=sys.stderr)
    keys = list(sweep)
    lines = [
        format_frontier(
            result.frontier,
            keys,
            current=result.current,
            naive=result.naive,
            evaluated=len(result.points),
            every=result.points if show_all else (),
        )
    ]
    if chart is not None:
        _chart(chart, result)
        lines.append(f"wrote the frontier chart to {chart}")
    if pick is not None:
        chosen = _picked(result, pick)
        lines.append(f"picked row {pick}: " + ", ".join(f"{k}={chosen.value(k)}" for k in keys))
        if write_protocol is not None:
            _write(write_protocol, render_protocol(protocol_text, chosen, keys))
            lines.append(f"wrote the protocol with row {pick} to {write_protocol}")
    return "\n".join(lines)


def _picked(result: Tuning, pick: int) -> Setting:
    if not 1 <= pick <= len(result.frontier):
        raise TuningError(f"--pick must be a frontier row from 1 to {len(result.frontier)}")
    return result.frontier[pick - 1].setting


def _chart(path: Path, result: Tuning) -> None:
    try:
        write_frontier_chart(
            path,
            result.points,
            result.frontier,
            current=result.current,
            naive=result.naive,
            title="Detector operating points on the cohort (closed loop)",
        )
    except OSError as err:
        raise TuningError(f"cannot write {path} ({err.strerror})") from None


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise TuningError(f"cannot write {path} ({err.strerror})") from None
