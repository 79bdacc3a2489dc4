"""A patient's own relapse timing: how long after an infusion their mood usually declines."""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_DECLINES = 2
RELAPSE_LEAD_DAYS = 5.0
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RelapseTiming:
    """A patient's usual time from an infusion to a decline, and the next infusion's latest date.

    The wording is the caller's ("usually declines about 19 days after an infusion; next
    infusion suggested before 14 Mar"): `usual_days` rounded, `suggest_before` as a date in the
    patient's or clinic's time zone.
    """

    declines: int
    """How many infusion intervals with a decline the estimate rests on."""
    usual_days: float
    """The median time from an infusion to the start of the first decline after it (days)."""
    shortest_days: float
    """The shortest such time (days)."""
    last_infusion: datetime
    """The latest infusion, from which the suggestion counts."""
    suggest_before: datetime
    """`last_infusion` + `usual_days` - the lead time (never before the day after it)."""


def relapse_timing(
    *,
    infusions: Sequence[datetime],
    decline_starts: Sequence[datetime],
    lead_days: float = RELAPSE_LEAD_DAYS,
    min_declines: int = MIN_DECLINES,
) -> RelapseTiming | None:
    """Return the patient's usual relapse timing, or None before `min_declines` declines.

    `infusions`: the patient's infusions (any order). `decline_starts`: when each of their
    decline episodes began (best the finding's `since`, the change-point estimate; its `at`
    works, a few days later). Each decline is timed from the latest infusion before it; only
    the first decline after an infusion counts (a second one in the same interval is the same
    fading response). `lead_days`: how long before the usual decline the next infusion
    should come (time to notice, book and give it). Pure: no clock is read.
    """
    if min_declines < 1:
        raise ValueError("min_declines must be at least 1")
    if lead_days < 0:
        raise ValueError("lead_days must not be negative")
    for moment in (*infusions, *decline_starts):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("infusion and decline times must be timezone-aware")
    ordered = sorted(infusions)
    if not ordered:
        return None
    first_after: dict[int, float] = {}
    for start in sorted(decline_starts):
        index = bisect.bisect_left(ordered, start) - 1
        if index >= 0 and index not in first_after:
            first_after[index] = (start - ordered[index]) / _DAY
    if len(first_after) < min_declines:
        return None
    delays = list(first_after.values())
    usual = statistics.median(delays)
    last = ordered[-1]
    suggest = last + max(_DAY, (usual - lead_days) * _DAY)
    return RelapseTiming(
        declines=len(delays),
        usual_days=usual,
        shortest_days=min(delays),
        last_infusion=last,
        suggest_before=suggest,
    )
