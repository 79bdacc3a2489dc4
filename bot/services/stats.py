"""The /stats figures: how quickly alerts are handled, and how patients are answering."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.clock import Clock
from bot.domain.stats import Stats, summarise
from storage import Storage

WINDOW = timedelta(days=30)


class StatsService:
    """Reads the last days' alerts, patients and check-ins and works out the figures."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def last_days(self, window: timedelta = WINDOW) -> Stats:
        """Return the figures for the window ending now."""
        until = self._clock.now()
        since = until - window
        active, answering = await self._storage.stats.patients(since)
        return summarise(
            await self._storage.stats.alert_timings(since, until),
            since=since,
            until=until,
            active_patients=active,
            answering_patients=answering,
            checkins=await self._storage.stats.checkins(since, until),
        )
