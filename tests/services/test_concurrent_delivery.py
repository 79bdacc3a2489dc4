"""Two deliveries at once, as two instances run them: each message goes out exactly once.

Each delivery below runs as two services, on PostgreSQL over two storages on the same
database (two instances), on SQLite over one (two tasks). The fake Telegram yields on every
send, so the two interleave; what keeps them apart is the claim in the database, since
nothing is shared in memory. Before the claims, both read the same due rows and sent each
twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from bot.domain.codes import AlertKind, QuestionReason, Urgency
from bot.domain.delivery import Delivered, SendOutcome
from bot.domain.entities import Alert, NewAlert, Patient
from bot.services.alerts import AlertService
from bot.services.escalation import EscalationService
from bot.services.questions import QuestionService
from bot.services.roster import RosterService
from bot.services.urgent import UrgentOutbox
from storage import Storage
from storage._claims import CLAIM_LEASE
from tests.conftest import WORDING, Domain, no_chart
from tests.storage.test_claims import other

__all__ = ["other"]  # the second claimer's storage, from test_claims

STAFF_CHAT = -100
OWNER = 7000
EVERY = timedelta(minutes=15)
COUNT = 30


class Telegram:
    """Counts every send, by what was sent; yields first, so that another send can start."""

    def __init__(self) -> None:
        self.sent: Counter[tuple[str, int]] = Counter()
        self.texts: Counter[str] = Counter()

    async def _sent(self, what: str, key: int) -> SendOutcome:
        await asyncio.sleep(0)
        self.sent[(what, key)] += 1
        return Delivered(message_id=sum(self.sent.values()))

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> SendOutcome:
        return await self._sent("reminder" if reminder else "alert", alert.id)

    async def send_escalation(
        self, chat_id: int, alert: Alert, *, waited: timedelta
    ) -> SendOutcome:
        return await self._sent("escalation", alert.id)

    async def send_now(self, chat_id: int, text: str) -> SendOutcome:
        self.texts[text] += 1
        return await self._sent("text", chat_id)

    async def send_question(self, chat_id: int, question_id: int) -> SendOutcome:
        return await self._sent("question", question_id)

    def of(self, what: str) -> Counter[int]:
        return Counter({key: n for (kind, key), n in self.sent.items() if kind == what})


def alerts_over(storage: Storage, domain: Domain, telegram: Telegram) -> AlertService:
    return AlertService(
        storage,
        domain.clock,
        telegram,
        staff_chat_id=STAFF_CHAT,
        chart=no_chart,
        on_staff_chat_moved=lambda chat_id: None,
        escalate_after=EVERY,
    )


def outbox_over(storage: Storage, domain: Domain, telegram: Telegram) -> UrgentOutbox:
    async def staff_chat() -> int:
        return STAFF_CHAT

    return UrgentOutbox(storage, domain.clock, telegram, staff_chat=staff_chat)


async def stored_alerts(domain: Domain, patient: Patient, alert: NewAlert) -> list[int]:
    ids = []
    for _ in range(COUNT):
        stored = await domain.storage.alerts.add(
            patient_id=patient.id, alert=alert, now=domain.clock.now()
        )
        assert stored is not None
        ids.append(stored.id)
    return ids


def once_each(sent: Counter[int], ids: list[int]) -> None:
    assert sent == Counter(ids), "a message was sent twice, or not at all"


async def test_two_deliveries_send_each_alert_and_reminder_once(
    domain: Domain, other: Storage
) -> None:
    patient = await domain.enrol(1)
    telegram = Telegram()
    first = alerts_over(domain.storage, domain, telegram)
    second = alerts_over(other, domain, telegram)
    reminded = NewAlert(kind=AlertKind.REVIEW, text="review", remind_after=0)
    ids = await stored_alerts(domain, patient, reminded)

    counts = await asyncio.gather(first.deliver(), second.deliver())

    once_each(telegram.of("alert"), ids)
    once_each(telegram.of("reminder"), ids)
    assert sum(counts) == 2 * COUNT
    assert all(counts), "the two deliveries did not run side by side"


async def test_an_urgent_alert_sent_at_once_is_not_sent_again_by_the_urgent_pass(
    domain: Domain, other: Storage
) -> None:
    patient = await domain.enrol(1)
    telegram = Telegram()
    handler = alerts_over(domain.storage, domain, telegram)
    worker = alerts_over(other, domain, telegram)
    urgent = NewAlert(kind=AlertKind.CRISIS, text="URGENT", urgent=True)
    ids = await stored_alerts(domain, patient, urgent)
    stored = [await domain.storage.alerts.get(alert_id) for alert_id in ids]

    results = await asyncio.gather(
        worker.deliver_urgent(),
        *(handler.send_now(alert) for alert in stored if alert is not None),
    )

    once_each(telegram.of("alert"), ids)
    sent_at_once = sum(1 for result in results[1:] if result)
    assert results[0] + sent_at_once == COUNT


async def test_two_urgent_workers_send_each_kept_message_once(
    domain: Domain, other: Storage
) -> None:
    now = domain.clock.now()
    telegram = Telegram()
    for n in range(COUNT):
        await domain.storage.outbox.add(
            chat_id=n + 1, text=f"reply {n}", urgency=Urgency.CRISIS_REPLY, now=now, retry_at=now
        )

    counts = await asyncio.gather(
        outbox_over(domain.storage, domain, telegram).deliver_due(),
        outbox_over(other, domain, telegram).deliver_due(),
    )

    assert telegram.texts == Counter(f"reply {n}" for n in range(COUNT))
    assert sum(counts) == COUNT
    assert await domain.storage.outbox.unsent() == 0


def questions_over(
    storage: Storage, domain: Domain, telegram: Telegram, alerts: AlertService | None = None
) -> QuestionService:
    return QuestionService(
        storage,
        domain.clock,
        alerts=alerts or alerts_over(storage, domain, telegram),
        messenger=telegram,
        outbox=outbox_over(storage, domain, telegram),
        wording=WORDING,
    )


async def test_two_passes_send_each_unsent_question_once(domain: Domain, other: Storage) -> None:
    patient = await domain.enrol(1)
    telegram = Telegram()
    asked_at = domain.clock.now()
    ids = []
    for _ in range(COUNT):
        question = await domain.storage.questions.ask(
            patient_id=patient.id,
            chat_id=1,
            reason=QuestionReason.WORDS,
            now=asked_at,
            escalate_at=asked_at + timedelta(hours=1),
            update_id=None,
        )
        assert question is not None
        ids.append(question.id)
    # Their askers died before sending them: the claims they were stored with ran out.
    domain.clock.advance(CLAIM_LEASE)

    await asyncio.gather(
        questions_over(domain.storage, domain, telegram).tend(),
        questions_over(other, domain, telegram).tend(),
    )

    once_each(telegram.of("question"), ids)


async def test_a_question_being_asked_is_not_sent_again_by_a_pass(domain: Domain) -> None:
    patient = await domain.enrol(1)
    telegram = Telegram()
    alerts = alerts_over(domain.storage, domain, telegram)
    asker = questions_over(domain.storage, domain, telegram, alerts)
    passes = questions_over(domain.storage, domain, telegram)

    await asyncio.gather(
        asker.ask(patient, chat_id=1, reason=QuestionReason.WORDS, staff_note="note", update_id=5),
        *(passes.tend() for _ in range(5)),
    )
    await alerts.drain()

    assert sum(telegram.of("question").values()) == 1


def escalation_over(storage: Storage, domain: Domain, telegram: Telegram) -> EscalationService:
    roster = RosterService(
        storage,
        domain.clock,
        owners=frozenset({OWNER}),
        on_joined=lambda user_id: None,
        on_removed=lambda user_id: None,
    )
    return EscalationService(
        storage,
        domain.clock,
        roster=roster,
        sender=telegram,
        outbox=outbox_over(storage, domain, telegram),
        wording=WORDING,
        every=EVERY,
    )


async def test_two_passes_escalate_each_alert_once(domain: Domain, other: Storage) -> None:
    patient = await domain.enrol(1)
    telegram = Telegram()
    urgent = NewAlert(
        kind=AlertKind.CRISIS,
        text="URGENT",
        urgent=True,
        escalate_after=int(EVERY.total_seconds()),
    )
    ids = await stored_alerts(domain, patient, urgent)
    domain.clock.advance(EVERY)

    rounds = await asyncio.gather(
        escalation_over(domain.storage, domain, telegram).escalate_due(),
        escalation_over(other, domain, telegram).escalate_due(),
    )

    once_each(telegram.of("escalation"), ids)
    assert sum(rounds) == COUNT


class Unreadable(Telegram):
    """Fails once with an error that is not Telegram's answer, then sends."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> SendOutcome:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the staff chat could not be read")
        return await super().send_alert(chat_id, alert, photo=photo, reminder=reminder)

    async def send_now(self, chat_id: int, text: str) -> SendOutcome:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the staff chat could not be read")
        return await super().send_now(chat_id, text)


async def test_an_error_after_the_claim_does_not_hold_an_urgent_alert_for_a_lease(
    domain: Domain,
) -> None:
    patient = await domain.enrol(1)
    telegram = Unreadable()
    alerts = alerts_over(domain.storage, domain, telegram)
    stored = await domain.storage.alerts.add(
        patient_id=patient.id,
        alert=NewAlert(kind=AlertKind.CRISIS, text="urgent", urgent=True),
        now=domain.clock.now(),
    )
    assert stored is not None
    with pytest.raises(RuntimeError):
        await alerts.send_now(stored)
    # Tried again within seconds (its retry), not after the claim's lease.
    domain.clock.advance(timedelta(seconds=15))
    assert await alerts.deliver_urgent() == 1
    assert telegram.of("alert") == Counter({stored.id: 1})


async def test_an_error_after_the_claim_does_not_hold_a_crisis_message_for_a_lease(
    domain: Domain,
) -> None:
    telegram = Unreadable()
    outbox = outbox_over(domain.storage, domain, telegram)
    now = domain.clock.now()
    await domain.storage.outbox.add(
        chat_id=None, text="crisis", urgency=Urgency.STAFF_ABOUT_PATIENT, now=now, retry_at=now
    )
    assert await outbox.deliver_due() == 0
    domain.clock.advance(timedelta(seconds=5))
    assert await outbox.deliver_due() == 1
    assert telegram.texts == Counter({"crisis": 1})
