"""Response-time and engagement figures for /stats, from plain records (no I/O)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.codes import AlertKind


@dataclass(frozen=True, slots=True)
class AlertTiming:
    """One alert: its kind and when it was sent, acknowledged and resolved."""

    kind: AlertKind
    follow_up: bool
    sent_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class CheckinTally:
    """Check-ins due in a window, by how they ended."""

    answered: int
    missed: int
    failed: int
    open: int
    cancelled: int

    @property
    def closed(self) -> int:
        """Return the check-ins that ended in an answer or without one."""
        return self.answered + self.missed + self.failed

    @property
    def answered_share(self) -> float | None:
        """Return answered / (answered + missed + failed); None when none ended yet."""
        return None if self.closed == 0 else self.answered / self.closed


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and 90th percentile of a set of durations, and how many there were."""

    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True, slots=True)
class Stats:
    """Everything /stats shows for one window."""

    since: datetime
    until: datetime
    by_kind: tuple[tuple[AlertKind, int], ...]
    follow_ups: int
    to_acknowledge: Spread
    to_resolve: Spread
    unacknowledged: int
    active_patients: int
    answering_patients: int
    checkins: CheckinTally


def nearest_rank(sorted_values: Sequence[timedelta], fraction: float) -> timedelta:
    """Return the nearest-rank percentile: the smallest value with `fraction` at or below."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def spread(durations: Sequence[timedelta]) -> Spread:
    """Return the median (the middle, or the mean of the two middle values) and the p90."""
    values = sorted(durations)
    if not values:
        return Spread(count=0, median=None, p90=None)
    middle = len(values) // 2
    median = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    return Spread(count=len(values), median=median, p90=nearest_rank(values, 0.9))


def _took(start: datetime | None, end: datetime) -> timedelta:
    # Handled before the send was recorded (a patient resolved with /resolve meanwhile): 0.
    return max(timedelta(0), end - (start or end))


def summarise(
    alerts: Sequence[AlertTiming],
    *,
    since: datetime,
    until: datetime,
    active_patients: int,
    answering_patients: int,
    checkins: CheckinTally,
) -> Stats:
    """Work out the figures; times count from when the alert reached the staff chat.

    A crisis follow-up (sent once beside the crisis alert that repeats) is counted by kind
    but not timed: staff answer the crisis once, not each message.
    """
    timed = [alert for alert in alerts if not alert.follow_up and alert.sent_at is not None]
    kinds = Counter(alert.kind for alert in alerts)
    return Stats(
        since=since,
        until=until,
        by_kind=tuple(sorted(kinds.items(), key=lambda item: (-item[1], item[0].value))),
        follow_ups=sum(alert.follow_up for alert in alerts),
        to_acknowledge=spread(
            [_took(a.sent_at, a.acknowledged_at) for a in timed if a.acknowledged_at]
        ),
        to_resolve=spread([_took(a.sent_at, a.resolved_at) for a in timed if a.resolved_at]),
        unacknowledged=sum(
            1 for alert in alerts if not alert.follow_up and alert.acknowledged_at is None
        ),
        active_patients=active_patients,
        answering_patients=answering_patients,
        checkins=checkins,
    )
