"""Turning an infusion into check-in due times at the patient's local time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.entities import PlannedCheckin


def local_due(infusion_at: datetime, day: int, at: time, tz: ZoneInfo) -> datetime:
    """Return the UTC moment of `at` local time on the given day after the infusion.

    Days count from the infusion's calendar date in the patient's zone. A local time that
    does not exist (skipped by a daylight-saving change) moves forward by the size of the gap,
    as a wall clock would; a repeated local time uses its first occurrence.
    """
    if infusion_at.tzinfo is None:
        raise ValueError("infusion time must be timezone-aware")
    local_date = infusion_at.astimezone(tz).date() + timedelta(days=day)
    return datetime.combine(local_date, at, tzinfo=tz).astimezone(UTC)


def plan_checkins(
    infusion_at: datetime,
    *,
    days: Iterable[int],
    at: time,
    tz: ZoneInfo,
    not_before: datetime | None = None,
) -> list[PlannedCheckin]:
    """Return the plan for one infusion, skipping check-ins due before `not_before`."""
    plan = [
        PlannedCheckin(day=day, due_at=local_due(infusion_at, day, at, tz))
        for day in sorted(set(days))
    ]
    if not_before is not None:
        plan = [item for item in plan if item.due_at > not_before]
    return plan
