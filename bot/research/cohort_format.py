"""A cohort's rows and its CSV format: `patient,day,kind,value`, read back with validation."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.domain.errors import AfterglowError

HEADER = ("patient", "day", "kind", "value")


class RowKind(StrEnum):
    """What a cohort row records."""

    INFUSION = "infusion"
    MOOD = "mood"
    MISSED = "missed"
    RELAPSE_ONSET = "relapse_onset"
    # What the patient would have answered had the bot asked on a day without a planned
    # check-in, at their usual hour: used only when the adaptive policy asks then.
    OFFERED_MOOD = "offered_mood"
    OFFERED_MISSED = "offered_missed"


SCORED = frozenset({RowKind.MOOD, RowKind.OFFERED_MOOD})
PLANNED = frozenset({RowKind.MOOD, RowKind.MISSED})
OFFERED = frozenset({RowKind.OFFERED_MOOD, RowKind.OFFERED_MISSED})

_ORDER = {
    RowKind.INFUSION: 0,
    RowKind.RELAPSE_ONSET: 1,
    RowKind.MOOD: 2,
    RowKind.MISSED: 2,
    RowKind.OFFERED_MOOD: 2,
    RowKind.OFFERED_MISSED: 2,
}


@dataclass(frozen=True, slots=True)
class CohortRow:
    """One CSV row: a float day from the cohort start, a kind, a score for mood rows."""

    patient: str
    day: float
    kind: RowKind
    value: int | None = None


class CohortFormatError(AfterglowError, ValueError):
    """A cohort CSV line that cannot be read; the message names the line."""


def sort_key(row: CohortRow) -> tuple[float, int]:
    """Return the replay order of a patient's rows: time, then infusion before answers."""
    return (row.day, _ORDER[row.kind])


def write_cohort_csv(rows: Iterable[CohortRow], path: Path) -> None:
    """Write rows as `patient,day,kind,value` CSV with a header line."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for row in rows:
            value = "" if row.value is None else str(row.value)
            writer.writerow((row.patient, f"{row.day:.4f}", row.kind.value, value))


def read_cohort_csv(path: Path) -> list[CohortRow]:
    """Read and validate a cohort CSV; raise CohortFormatError naming the bad line."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CohortFormatError(f"{path}: cannot read ({err.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise CohortFormatError(f"{path}:{line}: not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[CohortRow] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader, None)
        except csv.Error as err:
            raise CohortFormatError(f"{path}:{line}: not valid CSV ({err})") from None
        if cells is None:
            break
        if line == 1:
            if tuple(cell.strip() for cell in cells) != HEADER:
                raise CohortFormatError(
                    f"{path}:1: the first line must be 'patient,day,kind,value'"
                )
        elif cells:
            rows.append(_parse_row(cells, f"{path}:{line}"))
    if reader.line_num == 0:
        raise CohortFormatError(f"{path}:1: the first line must be 'patient,day,kind,value'")
    if not rows:
        raise CohortFormatError(f"{path}:2: no rows after the header")
    return rows


def _parse_row(cells: list[str], where: str) -> CohortRow:
    if len(cells) != len(HEADER):
        raise CohortFormatError(f"{where}: expected 4 fields, got {len(cells)}")
    patient, day_text, kind_text, value_text = (cell.strip() for cell in cells)
    if not patient:
        raise CohortFormatError(f"{where}: empty patient")
    try:
        day = float(day_text)
    except ValueError:
        raise CohortFormatError(f"{where}: day {day_text!r} is not a number") from None
    if not math.isfinite(day) or day < 0:
        raise CohortFormatError(f"{where}: day {day_text!r} must be a finite number >= 0")
    try:
        kind = RowKind(kind_text)
    except ValueError:
        allowed = ", ".join(item.value for item in RowKind)
        raise CohortFormatError(f"{where}: kind {kind_text!r} is not one of {allowed}") from None
    if kind in SCORED:
        if not (value_text.isascii() and value_text.isdigit()) or not 0 <= int(value_text) <= 10:
            raise CohortFormatError(f"{where}: {kind.value} value {value_text!r} must be 0 to 10")
        return CohortRow(patient, day, kind, int(value_text))
    if value_text:
        raise CohortFormatError(f"{where}: {kind.value} rows take no value, got {value_text!r}")
    return CohortRow(patient, day, kind)
