"""The demo's one way into the product: the bot's settings, application, services and records.

When the runtime, the services or the entities move, this is the module that follows them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.domain.clock import ManualClock
from bot.domain.codes import CheckinState
from bot.domain.entities import Alert
from bot.fake_telegram import FakeChat, FakeTelegramServer, FakeUser
from bot.runtime.application import build_application, services_of
from bot.runtime.jobs import dispatch_once
from bot.runtime.lifecycle import running
from bot.runtime.logs import configure_logging
from bot.runtime.settings import Settings
from bot.services.container import Services
from storage import backup_database

from ._clinic import CLINIC_TZ, CRISIS_LINE, EMERGENCY_NUMBER, TOKEN
from ._errors import DemoError
from ._personas import Patient

App = Application[Any, Any, Any, Any, Any, Any]


@dataclass(slots=True)
class Tally:
    """What the story produced, read back from the database."""

    sent: int = 0
    answered: int = 0
    missed: int = 0
    notes: int = 0
    alerts: list[Alert] = field(default_factory=list)


def build_bot(
    *,
    server: FakeTelegramServer,
    nurse: FakeUser,
    staff: FakeChat,
    db_path: Path,
    clock: ManualClock,
) -> App:
    """Return the real application, set up for the invented clinic on the fake server."""
    settings = Settings(
        token=TOKEN,
        staff_chat_id=staff.id,
        admin_ids=frozenset({nurse.id}),
        api_base_url=server.base_url,
        db_path=db_path,
        timezone=CLINIC_TZ,
        crisis_line=CRISIS_LINE,
        emergency_number=EMERGENCY_NUMBER,
    )
    return build_application(
        settings, clock=clock, dispatch_interval=10**6, rate_limit_per_second=0, announce=True
    )


class LiveBot:
    """The services of a running application, as the story needs them."""

    def __init__(self, svc: Services) -> None:
        self._svc = svc

    async def settle(self) -> None:
        """Wait until the alerts the bot has queued have gone out."""
        await self._svc.alerts.drain()

    async def tick(self) -> None:
        """Run one pass of the scheduler job, as it would run at this moment."""
        await dispatch_once(self._svc)
        await self._svc.alerts.drain()

    async def tally(self, patients: Iterable[Patient]) -> Tally:
        """Count check-ins, notes and alerts in the database."""
        result = Tally()
        storage = self._svc.storage
        for patient in patients:
            record = await storage.patients.by_code(patient.code)
            if record is None:
                raise DemoError(f"{patient.label} is not in the database")
            rows = await storage.checkins.for_patient(record.id)
            result.sent += sum(1 for row in rows if row.sent_at is not None)
            result.answered += sum(1 for row in rows if row.state is CheckinState.ANSWERED)
            result.missed += sum(1 for row in rows if row.state is CheckinState.MISSED)
            result.notes += len(await storage.answers.notes_for_patient(record.id))
            alerts = await storage.alerts.for_patient(record.id, limit=100)
            result.alerts.extend(sorted(alerts, key=lambda alert: alert.id))
        result.alerts.sort(key=lambda alert: alert.id)
        return result


@asynccontextmanager
async def live(app: App) -> AsyncIterator[LiveBot]:
    """Run the application with long polling; yield its services."""
    async with running(app, poll_timeout=1):
        yield LiveBot(services_of(app))


def quiet_logs() -> None:
    """Log errors only (the story's crisis is logged as a warning), with the token masked."""
    configure_logging(token=TOKEN, level=logging.ERROR)


def keep_database(live_db: Path, copy: Path) -> None:
    """Copy the story's database to the output folder."""
    backup_database(live_db, copy)
