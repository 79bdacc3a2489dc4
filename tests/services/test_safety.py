"""Crisis words from someone without a readable patient record still reach the staff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.codes import DeliveryProblem
from bot.domain.crisis import CrisisSignal
from bot.domain.delivery import Delivered, NotDelivered, SendOutcome
from bot.runtime.content import load_crisis_detector
from bot.services.safety import STRANGER_FOLLOW_UPS, SafetyService
from storage import Storage
from tests.conftest import WORDING, Domain, alert_service

STAFF_CHAT = -100
SIGNAL = CrisisSignal(category="suicidal-ideation", matched="want to die")


class Messenger:
    """Records what reaches each chat; the staff chat fails while `staff_down` is set."""

    def __init__(self) -> None:
        self.staff_down = False
        self.sent: list[tuple[int, str]] = []

    async def send_now(self, chat_id: int, text: str) -> SendOutcome:
        if chat_id == STAFF_CHAT and self.staff_down:
            return NotDelivered(DeliveryProblem.CONNECT_FAILED)
        self.sent.append((chat_id, text))
        return Delivered(message_id=len(self.sent))

    def staff(self) -> list[str]:
        return [text for chat_id, text in self.sent if chat_id == STAFF_CHAT]

    def to(self, chat_id: int) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


def safety(domain: Domain, storage: Storage | None = None) -> tuple[SafetyService, Messenger]:
    store = storage or domain.storage
    messenger = Messenger()
    service = SafetyService(
        store,
        domain.clock,
        detector=load_crisis_detector(),
        alerts=alert_service(store, domain.clock, staff_chat_id=STAFF_CHAT),
        messenger=messenger,
        wording=WORDING,
    )
    return service, messenger


async def say(service: SafetyService, user_id: int, text: str) -> bool:
    return await service.escalate(
        user_id=user_id, chat_id=user_id, text=text, signal=SIGNAL, update_id=None
    )


async def test_every_message_reaches_the_staff_as_an_alert_then_follow_ups(
    domain: Domain,
) -> None:
    service, messenger = safety(domain)

    assert await say(service, 501, "i want to die")
    assert await say(service, 501, "i have the pills, tonight")

    first, second = messenger.staff()
    assert "not a patient" in first
    assert "\u201ci want to die\u201d" in first
    assert "another message" in second
    assert "\u201ci have the pills, tonight\u201d" in second
    reference = service.stranger_reference(501)
    assert reference in first
    assert reference in second
    assert "501" not in reference
    assert len(messenger.to(501)) == 2
    assert all("988" in text for text in messenger.to(501))


async def test_follow_ups_are_capped_per_person_and_the_window_starts_again(
    domain: Domain,
) -> None:
    service, messenger = safety(domain)
    for number in range(STRANGER_FOLLOW_UPS + 3):
        await say(service, 502, f"i want to die ({number})")

    assert len(messenger.staff()) == 1 + STRANGER_FOLLOW_UPS
    assert len(messenger.to(502)) == STRANGER_FOLLOW_UPS + 3
    await say(service, 503, "i want to die")
    assert len(messenger.staff()) == 2 + STRANGER_FOLLOW_UPS

    domain.clock.advance(timedelta(minutes=31))
    await say(service, 502, "i want to die, still")
    assert "not a patient" in messenger.staff()[-1]


async def test_a_failed_staff_send_is_retried_until_delivered(domain: Domain) -> None:
    service, messenger = safety(domain)
    messenger.staff_down = True

    assert not await say(service, 504, "i want to die")

    assert messenger.to(504)  # the person got the resources at once
    assert service.waiting_direct == 1
    assert await service.retry_direct() == 0  # not due yet
    domain.clock.advance(timedelta(minutes=1))
    assert await service.retry_direct() == 0  # still failing: the next try waits longer
    domain.clock.advance(timedelta(minutes=1))
    assert await service.retry_direct() == 0
    messenger.staff_down = False
    domain.clock.advance(timedelta(minutes=1))
    assert await service.retry_direct() == 1
    assert service.waiting_direct == 0
    assert len(messenger.staff()) == 1
    assert "\u201ci want to die\u201d" in messenger.staff()[0]
    domain.clock.advance(timedelta(hours=1))
    assert await service.retry_direct() == 0
    assert len(messenger.staff()) == 1


class BrokenPatients:
    async def by_user(self, user_id: int) -> None:
        raise RuntimeError("database is locked")


class BrokenStorage:
    """A storage whose patient lookup fails; everything else is the real one."""

    def __init__(self, real: Storage) -> None:
        self._real = real
        self.patients = BrokenPatients()

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


async def test_an_unreadable_record_still_tells_the_staff(
    domain: Domain, caplog: pytest.LogCaptureFixture
) -> None:
    broken = BrokenStorage(domain.storage)
    service, messenger = safety(domain, broken)  # type: ignore[arg-type]

    await say(service, 505, "i want to die")

    assert "988" in messenger.to(505)[0]
    (staff,) = messenger.staff()
    assert "record unreadable" in staff
    assert "\u201ci want to die\u201d" in staff
    assert "want to die" not in caplog.text
