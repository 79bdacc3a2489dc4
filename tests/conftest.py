"""Shared fixtures: a manual clock, a real SQLite file in a temp folder, the services."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.clock import ManualClock
from bot.domain.entities import Alert, Patient
from bot.domain.protocol import Protocol, load_protocol
from bot.services.alerts import AlertDelivered, AlertOutcome
from bot.services.care import CareService
from bot.services.checkins import CheckinService
from bot.services.enrolment import EnrolmentService
from storage import Storage

# python-telegram-bot's opt-in to timedelta periods; without it RetryAfter warns.
os.environ.setdefault("PTB_TIMEDELTA", "true")

CLINIC_TZ = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin
STAFF_ID = 9001


@pytest.fixture
def clock() -> ManualClock:
    """Return a clock that stands still until a test moves it."""
    return ManualClock(START)


@pytest.fixture
def protocol() -> Protocol:
    """Return the shipped protocol."""
    return load_protocol()


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """Open a fresh database file."""
    opened = await Storage.open(tmp_path / "afterglow.db")
    try:
        yield opened
    finally:
        await opened.close()


class NoStaff:
    """A staff chat that accepts every alert (for services that raise alerts on the side)."""

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> AlertOutcome:
        return AlertDelivered(message_id=1, photo=False)


@dataclass
class Domain:
    """The domain services over one database, as the bot wires them."""

    storage: Storage
    clock: ManualClock
    protocol: Protocol
    enrolment: EnrolmentService
    care: CareService
    checkins: CheckinService

    async def enrol(self, user_id: int, *, time: str | None = None) -> Patient:
        """Invite, redeem, consent and optionally pick a time; return the active patient."""
        invitation = await self.enrolment.invite(staff_id=STAFF_ID, label=None, update_id=None)
        assert invitation is not None
        result = await self.enrolment.redeem(
            payload=invitation.token, user_id=user_id, chat_id=user_id
        )
        assert result.patient is not None
        patient, new = await self.enrolment.consent(user_id=user_id)
        assert new
        assert patient is not None
        if time is not None:
            await self.care.change_time(patient, time)
        found = await self.storage.patients.get(patient.id)
        assert found is not None
        return found


@pytest.fixture
def domain(storage: Storage, clock: ManualClock, protocol: Protocol) -> Domain:
    """Return the domain services."""
    default_time = protocol.default_time.strftime("%H:%M")
    return Domain(
        storage=storage,
        clock=clock,
        protocol=protocol,
        enrolment=EnrolmentService(storage, clock, timezone=CLINIC_TZ, default_time=default_time),
        care=CareService(storage, clock, protocol=protocol, timezone=CLINIC_TZ),
        checkins=CheckinService(storage, clock),
    )
