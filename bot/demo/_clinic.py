"""The invented clinic: its bot account, its time zone and the calendar of the course."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.runtime.countries import COUNTRIES

TOKEN = "123456:DEMO-not-a-real-token"
BOT_USERNAME = "afterglow_demo_bot"
CLINIC_TZ = ZoneInfo("Europe/Berlin")
FIRST_DAY = date(2026, 3, 2)  # a Monday; the clocks change to summer time on 29 March
CRISIS_LINE = COUNTRIES["DE"].crisis_line
EMERGENCY_NUMBER = COUNTRIES["DE"].emergency_number
SERIES_DAYS = (0, 2, 4)  # a short series: Monday, Wednesday, Friday of the first week
MAINTENANCE_DAY = 14


def local_moment(day: int, hhmm: str) -> datetime:
    """Return the UTC moment of a clinic-local time on a simulated day."""
    clock_time = time.fromisoformat(hhmm)
    local = datetime.combine(FIRST_DAY + timedelta(days=day), clock_time, tzinfo=CLINIC_TZ)
    return local.astimezone(UTC)


def clock_change(day: int) -> str:
    """Return a note when the clinic's clocks changed in the night before a day, else ''."""
    if day == 0:
        return ""
    today = local_moment(day, "12:00").astimezone(CLINIC_TZ).utcoffset()
    before = local_moment(day - 1, "12:00").astimezone(CLINIC_TZ).utcoffset()
    if today is None or before is None or today == before:
        return ""
    season = "Summer" if today > before else "Winter"
    return f"{season} time began overnight; check-ins stay at each patient's local time."
