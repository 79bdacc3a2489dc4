"""Crisis words from someone without a readable patient record still reach the staff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.codes import DeliveryProblem
from bot.domain.crisis import Assessment, Layer
from bot.domain.delivery import Delivered, NotDelivered, SendOutcome
from bot.runtime.content import load_crisis_net
from bot.services.questions import QuestionService
from bot.services.safety import (
    STRANGER_FOLLOW_UPS,
    STRANGERS_MAX,
    STRANGERS_WINDOW,
    SafetyService,
)
from bot.services.urgent import UrgentOutbox
from storage import Storage
from tests.conftest import WORDING, Domain, alert_service

STAFF_CHAT = -100
URGENT = Assessment(layer=Layer.URGENT, category="suicidal-ideation", matched="want to die")
NET = load_crisis_net()


class Messenger:
    """Records what reaches each chat; the staff chat fails while `staff_down` is set."""

    def __init__(self) -> None:
        self.staff_down = False
        self.down: set[int] = set()
        self.sent: list[tuple[int, str]] = []

    async def send_now(self, chat_id: int, text: str) -> SendOutcome:
        if (chat_id == STAFF_CHAT and self.staff_down) or chat_id in self.down:
            return NotDelivered(DeliveryProblem.CONNECT_FAILED)
        self.sent.append((chat_id, text))
        return Delivered(message_id=len(self.sent))

    async def send_question(self, chat_id: int, question_id: int) -> SendOutcome:
        return await self.send_now(chat_id, f"question {question_id}")

    def staff(self) -> list[str]:
        return [text for chat_id, text in self.sent if chat_id == STAFF_CHAT]

    def to(self, chat_id: int) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


def safety(
    domain: Domain, storage: Storage | None = None
) -> tuple[SafetyService, Messenger, UrgentOutbox]:
    store = storage or domain.storage
    messenger = Messenger()
    alerts = alert_service(store, domain.clock, staff_chat_id=STAFF_CHAT)
    outbox = UrgentOutbox(
        store, domain.clock, messenger, staff_chat=alerts.staff_chat_come_what_may
    )
    questions = QuestionService(
        store, domain.clock, alerts=alerts, messenger=messenger, outbox=outbox, wording=WORDING
    )
    service = SafetyService(
        store,
        domain.clock,
        net=NET,
        alerts=alerts,
        outbox=outbox,
        questions=questions,
        wording=WORDING,
    )
    return service, messenger, outbox


async def say(service: SafetyService, user_id: int, text: str) -> bool:
    return await service.escalate(
        user_id=user_id, chat_id=user_id, text=text, assessment=URGENT, update_id=None
    )


async def test_every_message_reaches_the_staff_as_an_alert_then_follow_ups(
    domain: Domain,
) -> None:
    service, messenger, _outbox = safety(domain)
    # An id too long to turn up by chance in the reference's eight hex digits.
    stranger = 5_013_579_246

    assert await say(service, stranger, "i want to die")
    assert await say(service, stranger, "i have the pills, tonight")

    first, second = messenger.staff()
    assert "not a patient" in first
    assert "\u201ci want to die\u201d" in first
    assert "another message" in second
    assert "\u201ci have the pills, tonight\u201d" in second
    reference = service.stranger_reference(stranger)
    assert reference in first
    assert reference in second
    assert str(stranger) not in first + second
    assert len(messenger.to(stranger)) == 2
    assert all("988" in text for text in messenger.to(stranger))


async def test_follow_ups_are_capped_per_person_and_the_window_starts_again(
    domain: Domain,
) -> None:
    service, messenger, _outbox = safety(domain)
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
    service, messenger, outbox = safety(domain)
    messenger.staff_down = True

    assert not await say(service, 504, "i want to die")

    assert messenger.to(504)  # the person got the resources at once
    assert await domain.storage.outbox.unsent() == 1
    assert await outbox.deliver_due() == 0  # not due yet
    domain.clock.advance(timedelta(seconds=5))
    assert await outbox.deliver_due() == 0  # still failing: the next try waits longer
    domain.clock.advance(timedelta(seconds=10))
    assert await outbox.deliver_due() == 0
    messenger.staff_down = False
    domain.clock.advance(timedelta(seconds=20))
    assert await outbox.deliver_due() == 1
    assert await domain.storage.outbox.unsent() == 0
    assert len(messenger.staff()) == 1
    assert "\u201ci want to die\u201d" in messenger.staff()[0]
    domain.clock.advance(timedelta(hours=1))
    assert await outbox.deliver_due() == 0
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
    service, messenger, _outbox = safety(domain, broken)  # type: ignore[arg-type]

    await say(service, 505, "i want to die")

    assert "988" in messenger.to(505)[0]
    (staff,) = messenger.staff()
    assert "record unreadable" in staff
    assert "\u201ci want to die\u201d" in staff
    assert "want to die" not in caplog.text


async def test_a_crisis_reply_that_fails_is_retried_until_delivered(domain: Domain) -> None:
    service, messenger, outbox = safety(domain)
    messenger.down.add(506)

    await say(service, 506, "i want to die")

    assert messenger.to(506) == []
    assert await domain.storage.outbox.unsent() == 1  # the reply (the staff were told)
    messenger.down.clear()
    domain.clock.advance(timedelta(seconds=5))
    assert await outbox.deliver_due() == 1
    [reply] = messenger.to(506)
    assert "988" in reply


async def test_the_reply_goes_before_the_staff_message_when_both_wait(domain: Domain) -> None:
    service, messenger, outbox = safety(domain)
    messenger.down.add(507)
    messenger.staff_down = True
    await say(service, 507, "i want to die")
    messenger.down.clear()
    messenger.staff_down = False
    messenger.sent.clear()

    domain.clock.advance(timedelta(seconds=5))
    assert await outbox.deliver_due() == 2

    assert [chat for chat, _ in messenger.sent] == [507, STAFF_CHAT]


async def test_a_failing_database_keeps_the_retry_in_memory(domain: Domain) -> None:
    service, messenger, outbox = safety(domain)
    messenger.down.add(508)
    await domain.storage.close()  # every write now fails

    await say(service, 508, "i want to die")

    assert outbox.held_in_memory >= 1
    messenger.down.clear()
    domain.clock.advance(timedelta(seconds=5))
    await outbox.deliver_due()
    assert any("988" in text for text in messenger.to(508))


async def test_a_flood_of_strangers_is_capped_overall_then_digested(domain: Domain) -> None:
    service, messenger, _ = safety(domain)
    for person in range(STRANGERS_MAX + 7):
        await say(service, 600 + person, "i want to die")

    assert len(messenger.staff()) == STRANGERS_MAX
    assert all(messenger.to(600 + person) for person in range(STRANGERS_MAX + 7))
    assert not await service.flush_digest()  # the window has not ended
    domain.clock.advance(STRANGERS_WINDOW)
    assert await service.flush_digest()
    digest = messenger.staff()[-1]
    assert "7 more crisis messages" in digest
    assert digest.count("\u201ci want to die\u201d") == 7
