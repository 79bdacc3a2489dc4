"""Shared fixtures: a manual clock, a real database (SQLite file or PostgreSQL), the services."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.clock import ManualClock
from bot.domain.codes import CheckinState
from bot.domain.delivery import Delivered, SendOutcome
from bot.domain.entities import Alert, Checkin, Patient, SafetyContacts
from bot.domain.protocol import Protocol
from bot.runtime.content import load_protocol
from bot.services.alerts import AlertService
from bot.services.care import CareService
from bot.services.checkins import CheckinService
from bot.services.enrolment import EnrolmentService
from bot.services.ports import StaffSender
from bot.services.silence import SilenceService
from bot.telegram.wording import TelegramWording
from storage import Storage
from tests.postgres import BACKENDS, fresh_database

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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module marked `both_backends` runs each of its tests on SQLite and on PostgreSQL.

    A test that names its own `backend` values keeps them.
    """
    if not metafunc.definition.get_closest_marker("both_backends"):
        return
    own = {
        name.strip()
        for mark in metafunc.definition.iter_markers("parametrize")
        for name in (mark.args[0].split(",") if isinstance(mark.args[0], str) else mark.args[0])
    }
    if "backend" in metafunc.fixturenames and "backend" not in own:
        metafunc.parametrize("backend", BACKENDS)


@pytest.fixture
def backend() -> str:
    """The database the `storage` fixture opens; tests/storage and tests/services run both."""
    return "sqlite"


@pytest.fixture
async def storage(backend: str, tmp_path: Path) -> AsyncIterator[Storage]:
    """Open a fresh database: a SQLite file, or a PostgreSQL database of the test's own."""
    if backend == "sqlite":
        opened = await Storage.open(tmp_path / "afterglow.db")
        try:
            yield opened
        finally:
            await opened.close()
        return
    async with fresh_database() as url:
        opened = await Storage.open(url)
        try:
            yield opened
        finally:
            await opened.close()


class NoStaff:
    """A staff chat that accepts every alert (for services that raise alerts on the side)."""

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> SendOutcome:
        return Delivered(message_id=1)

    async def send_escalation(
        self, chat_id: int, alert: Alert, *, waited: timedelta
    ) -> SendOutcome:
        return Delivered(message_id=2)


CONTACTS = SafetyContacts("call or text 988", "911")
WORDING = TelegramWording(CONTACTS, CLINIC_TZ)


async def no_chart(alert: Alert) -> bytes | None:
    """A chart source with nothing to draw."""
    del alert
    return None


def alert_service(
    storage: Storage,
    clock: ManualClock,
    sender: StaffSender | None = None,
    *,
    staff_chat_id: int = -1,
) -> AlertService:
    """Return an alert service over a staff chat that accepts everything (by default)."""
    return AlertService(
        storage,
        clock,
        sender or NoStaff(),
        staff_chat_id=staff_chat_id,
        chart=no_chart,
        on_staff_chat_moved=lambda chat_id: None,
        escalate_after=timedelta(minutes=15),
    )


class ScriptedCheckinSender:
    """A check-in sender that answers from a script, then with deliveries."""

    def __init__(self) -> None:
        self.script: list[SendOutcome] = []
        self.sent: list[tuple[int, int]] = []

    async def send_checkin(
        self, chat_id: int, checkin_id: int, *, prepaid: bool = False
    ) -> SendOutcome:
        self.sent.append((chat_id, checkin_id))
        if self.script:
            return self.script.pop(0)
        return Delivered(message_id=1000 + len(self.sent))


class RecordingReviewer:
    """A trend reviewer that records whom it was asked to review."""

    def __init__(self) -> None:
        self.reviewed: list[int] = []

    async def after_answer(self, checkin: Checkin) -> None:
        self.reviewed.append(checkin.patient_id)


class RecordingAsker:
    """A question service double that records the low scores it was shown."""

    def __init__(self) -> None:
        self.seen: list[int | None] = []

    async def after_answer(self, checkin: Checkin, *, update_id: int | None) -> None:
        self.seen.append(checkin.score)


async def no_ack(checkin: Checkin) -> None:
    """Acknowledge nothing (a service test has no patient to confirm to)."""
    del checkin


@dataclass
class Domain:
    """The domain services over one database, as the bot wires them."""

    storage: Storage
    clock: ManualClock
    protocol: Protocol
    enrolment: EnrolmentService
    care: CareService
    checkins: CheckinService
    sender: ScriptedCheckinSender
    reviewer: RecordingReviewer

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

    async def send_next(self, patient_id: int) -> int:
        """Claim and confirm the next pending check-in as the dispatcher would; return its id."""
        rows = await self.storage.checkins.for_patient(patient_id)
        nxt = next(c for c in rows if c.state is CheckinState.PENDING)
        self.clock.set(max(self.clock.now(), nxt.due_at))
        claimed = await self.storage.checkins.claim_due(self.clock.now(), limit=100)
        assert nxt.id in [item.checkin.id for item in claimed]
        await self.storage.checkins.confirm_sent(nxt.id, message_id=1)
        return nxt.id


@pytest.fixture
def domain(storage: Storage, clock: ManualClock, protocol: Protocol) -> Domain:
    """Return the domain services."""
    default_time = protocol.default_time.strftime("%H:%M")
    sender = ScriptedCheckinSender()
    reviewer = RecordingReviewer()
    return Domain(
        storage=storage,
        clock=clock,
        protocol=protocol,
        enrolment=EnrolmentService(storage, clock, timezone=CLINIC_TZ, default_time=default_time),
        care=CareService(
            storage,
            clock,
            protocol=protocol,
            timezone=CLINIC_TZ,
            silence=SilenceService(
                storage,
                clock,
                alerts=alert_service(storage, clock),
                wording=WORDING,
                pause_alert_after=protocol.pause_alert_after,
            ),
        ),
        checkins=CheckinService(
            storage, clock, sender=sender, trends=reviewer, questions=RecordingAsker()
        ),
        sender=sender,
        reviewer=reviewer,
    )
