"""The patient's daytime: when the bot may push something that is not urgent."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

EARLIEST = time(8, 0)
LATEST = time(21, 30)


def in_daytime(moment: datetime, tz: ZoneInfo) -> bool:
    """Tell whether a moment is within the daytime window in a zone."""
    return EARLIEST <= moment.astimezone(tz).time() <= LATEST


def next_morning(moment: datetime, tz: ZoneInfo) -> datetime:
    """Return the next start of the daytime window after a moment, in UTC."""
    local = moment.astimezone(tz)
    day = local.date() if local.time() < EARLIEST else local.date() + timedelta(days=1)
    return datetime.combine(day, EARLIEST, tzinfo=tz).astimezone(UTC)


def after_daytime_hours(moment: datetime, hours: timedelta, tz: ZoneInfo) -> datetime:
    """Return `hours` after a moment, moved to the next morning when that falls at night."""
    deadline = moment + hours
    return deadline if in_daytime(deadline, tz) else next_morning(deadline, tz)
