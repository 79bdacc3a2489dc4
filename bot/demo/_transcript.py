"""The transcript: lines stamped with the simulated clinic time, each message in full."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from bot.domain.clock import ManualClock

from ._bot import Tally
from ._clinic import CLINIC_TZ, FIRST_DAY
from ._messages import JSONDict
from ._personas import Patient

STAMP_WIDTH = len("Mon 02 Mar 08:00  ")
INDENT = " " * STAMP_WIDTH
# A phone number written in groups ("0800 111 0 111"), kept on one line while wrapping.
_PHONE = re.compile(r"(?<![\d:-])\d+(?: \d+)+(?![\d:-])")
_KEEP = "\u00a0"


class Transcript:
    """Lines stamped with the simulated clinic time, echoed as they are added.

    A multi-line entry (a message in full) goes on as lines indented under its stamp. What is
    kept and written is the full text; what is echoed is wrapped to `width` columns when a
    width is given (the terminal's), with the indent kept.
    """

    def __init__(
        self, clock: ManualClock, echo: Callable[[str], None], width: int | None = None
    ) -> None:
        self._clock = clock
        self._echo = echo
        self._width = width
        self._last_day: date | None = None
        self.lines: list[str] = []

    def add(self, text: str) -> None:
        """Add an entry at the current simulated time (a blank line starts a new day)."""
        local = self._clock.now().astimezone(CLINIC_TZ)
        if self._last_day is not None and local.date() != self._last_day:
            self._plain("")
        self._last_day = local.date()
        first, *rest = [line.rstrip() for line in text.splitlines() if line.strip()] or [""]
        self._plain(f"{local:%a %d %b %H:%M}  {first}".rstrip())
        for line in rest:
            self._plain(INDENT + line)

    def _plain(self, text: str) -> None:
        self.lines.append(text)
        for line in wrap(text, self._width):
            self._echo(line)

    def note(self, text: str) -> None:
        """Add a line without a time stamp."""
        self._plain(text)

    def write(self, path: Path) -> None:
        """Write the transcript as UTF-8 text."""
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def wrap(line: str, width: int | None) -> list[str]:
    """Return a transcript line wrapped to `width`, continuation lines under the text.

    Words longer than a line (links) are kept whole, and so are phone numbers.
    """
    if width is None or len(line) <= width:
        return [line]
    stripped = _PHONE.sub(lambda number: number.group(0).replace(" ", _KEEP), line.lstrip(" "))
    indent = " " * min(len(line) - len(stripped), STAMP_WIDTH)
    wrapped = textwrap.wrap(
        stripped,
        width=max(width, STAMP_WIDTH + 20),
        initial_indent=indent,
        subsequent_indent=INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [part.replace(_KEEP, " ") for part in wrapped] or [line]


def button_labels(markup: JSONDict | None) -> list[str]:
    """Return the labels of an inline keyboard, row by row."""
    rows = (markup or {}).get("inline_keyboard", [])
    return [str(button.get("text", "")) for row in rows for button in row]


def shown_buttons(labels: list[str]) -> str:
    """Return every button of a message as '[I agree]' or '[0][1][2]…'."""
    return "".join(f"[{label}]" for label in labels)


def changed_part(old: str, new: str) -> str:
    """Return the lines of `new` from the first one that differs from `old`."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    same = 0
    while same < min(len(old_lines), len(new_lines)) and old_lines[same] == new_lines[same]:
        same += 1
    return "\n".join(new_lines[same:])


def intro_lines(patients: list[Patient], days: int) -> list[str]:
    """Return the lines that say what is about to happen."""
    lines = [
        f"Afterglow demo: {len(patients)} invented patients through {days} days in accelerated"
        " time.",
        "The real bot runs against the embedded fake Telegram on 127.0.0.1 (no token, no"
        " network); times are clinic time (Europe/Berlin).",
    ]
    lines += [
        f"  {p.persona.name} (check-ins at {p.persona.time}) {p.persona.role}." for p in patients
    ]
    return [*lines, ""]


def summary_lines(patients: list[Patient], tally: Tally, days: int) -> list[str]:
    """Return the closing summary."""
    last = FIRST_DAY + timedelta(days=days - 1)
    acknowledged = sum(1 for alert in tally.alerts if alert.acknowledged_at is not None)
    raised = "; ".join(alert.text.splitlines()[0] for alert in tally.alerts) or "none"
    return [
        "",
        f"Summary ({days} days, {FIRST_DAY:%a %d %b} to {last:%a %d %b %Y})",
        f"  Patients: {len(patients)}: {', '.join(p.label for p in patients)}",
        f"  Check-ins: {tally.sent} sent, {tally.answered} answered, {tally.missed} missed;"
        f" {tally.notes} notes",
        f"  Alerts raised: {len(tally.alerts)} ({acknowledged} acknowledged): {raised}",
    ]
