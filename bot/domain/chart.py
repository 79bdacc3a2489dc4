"""What a staff mood chart shows, worked out before any drawing (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.entities import MoodPoint

# More days than this and a gridline every day would be a grey wall: one a week (Mondays).
DAILY_GRID_UP_TO = 21


@dataclass(frozen=True, slots=True)
class ChartData:
    """A patient's chart: answers, misses, infusions, the detector's level, the alerts."""

    code: str
    points: tuple[MoodPoint, ...]
    missed: tuple[datetime, ...]
    infusions: tuple[datetime, ...]
    # The post-infusion level the decline rule compares answers with (None: too few answers
    # yet), drawn from the last infusion on.
    level: float | None
    level_from: datetime | None
    past_alerts: tuple[datetime, ...]
    highlight: datetime | None
    start: datetime
    end: datetime


def local_midnights(start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """Return the local midnights in (start, end]: daily, or Mondays only over long spans.

    Computed from local dates, so a day with a clock change still starts at 00:00.
    """
    first: date = start.astimezone(tz).date() + timedelta(days=1)
    last: date = end.astimezone(tz).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if (last - first).days > DAILY_GRID_UP_TO:
        days = [day for day in days if day.weekday() == 0]
    return [datetime.combine(day, time(0), tzinfo=tz) for day in days]
