"""What a series of PHQ-9 totals means: response, remission and decline findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

REMISSION_BELOW = 5
"""A PHQ-9 total below this is remission."""
RISE_POINTS = 5
"""A PHQ-9 rise this large is the minimal clinically important change (Löwe 2004)."""
CROSSING_AT = 10
"""A PHQ-9 total reaching this from below is a finding: moderate depression or worse."""


class Outcome(NamedTuple):
    """PHQ-9 response and remission for the latest total."""

    response: bool
    remission: bool


def response_and_remission(baseline: int | None, latest: int) -> Outcome:
    """Response: the latest total is at most half the baseline (a 50% drop or more).

    Remission: the latest total is below 5. With no baseline, or a baseline of 0, there is no
    drop to measure and so no response.
    """
    response = baseline is not None and baseline > 0 and 2 * latest <= baseline
    return Outcome(response=response, remission=latest < REMISSION_BELOW)


class QuestionnaireFindingKind(StrEnum):
    """Why a PHQ-9 total is a decline finding."""

    RISE = "rise"
    """Up by RISE_POINTS or more from the best total since the infusion."""
    CROSSING = "crossing"
    """Reached CROSSING_AT or more from a total below it."""


@dataclass(frozen=True, slots=True)
class QuestionnaireFinding:
    """A decline seen in PHQ-9 totals."""

    kind: QuestionnaireFindingKind
    at: datetime
    """When the latest total was recorded."""
    since: datetime
    """When the best total was recorded (a rise) or the total before the latest (a crossing)."""
    best: int
    """The lowest total since the infusion before the latest one."""
    latest: int


def questionnaire_finding(
    totals: Sequence[tuple[datetime, int]],
    *,
    infusion_at: datetime | None,
    rise: int = RISE_POINTS,
    threshold: int = CROSSING_AT,
) -> QuestionnaireFinding | None:
    """Return the finding the newest PHQ-9 total makes, or None.

    Only totals recorded at or after the latest infusion count (all of them when there is
    none): the newest is compared with the lowest before it (a rise) and with the one just
    before it (a crossing). A rise is reported when both apply.
    """
    window = sorted(
        (entry for entry in totals if infusion_at is None or entry[0] >= infusion_at),
        key=lambda entry: entry[0],
    )
    if len(window) < 2:
        return None
    *earlier, (at, latest) = window
    # The latest of equal lowest totals: the rise is counted from the last time it was best.
    best_at, best = min(reversed(earlier), key=lambda entry: entry[1])
    if latest - best >= rise:
        return QuestionnaireFinding(QuestionnaireFindingKind.RISE, at, best_at, best, latest)
    previous_at, previous = earlier[-1]
    if previous < threshold <= latest:
        return QuestionnaireFinding(
            QuestionnaireFindingKind.CROSSING, at, previous_at, best, latest
        )
    return None
