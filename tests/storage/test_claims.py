"""Claims on the delivery queues: a claimed row is nobody else's until its lease runs out.

Each queue (alerts, their reminders and escalations, the urgent outbox, waiting explainers,
direct questions not yet sent) is claimed by moving the row's due time to the lease's end.
Here, for each: a claimed row is not claimed again before the lease ends and is after it;
the queue's recorders end a claim with the real next time; and two claimers running at once
over many rounds never take the same row. On PostgreSQL the two claimers are two instances
(each its own pool on the same database), on SQLite two tasks on one storage. A claim that
only read the due rows (as the queues did before) would hand both claimers the same first
rows every round, and the overlap check would catch it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from bot.domain.codes import (
    AlertKind,
    DeliveryProblem,
    PushKind,
    QuestionAnswer,
    QuestionReason,
    Urgency,
)
from bot.domain.entities import NewAlert, Patient
from storage import PostgresDatabase, Storage
from storage._claims import CLAIM_LEASE, QUEUED_LEASE, ROUND_LEASE
from tests.conftest import STAFF_ID, Domain

SECOND = timedelta(seconds=1)
USER = 700


@pytest.fixture
async def other(domain: Domain, backend: str) -> AsyncIterator[Storage]:
    """A second claimer's storage: on PostgreSQL another instance's, on SQLite the same."""
    if backend == "sqlite":
        yield domain.storage
        return
    database = domain.storage.database
    assert isinstance(database, PostgresDatabase)
    second = PostgresDatabase(database.url)
    await second.open()
    try:
        yield Storage.over(second)
    finally:
        await second.close()


@pytest.fixture
async def patient(domain: Domain) -> Patient:
    return await domain.enrol(USER)


Seed = Callable[[Storage, Patient, datetime, int], Awaitable[int]]
Claim = Callable[[Storage, datetime, int], Awaitable[list[int]]]


@dataclass(frozen=True, slots=True)
class Queue:
    """How to put one row due at a moment into a queue, and how to claim from it."""

    name: str
    seed: Seed
    claim: Claim
    # How long a claim holds: longer for sends that may wait in the flood queue.
    lease: timedelta

    def __str__(self) -> str:
        return self.name


async def _alert(storage: Storage, patient: Patient, now: datetime, alert: NewAlert) -> int:
    stored = await storage.alerts.add(patient_id=patient.id, alert=alert, now=now)
    assert stored is not None
    return stored.id


async def seed_alert(storage: Storage, patient: Patient, now: datetime, n: int) -> int:
    return await _alert(storage, patient, now, NewAlert(kind=AlertKind.REVIEW, text=f"a{n}"))


async def seed_reminder(storage: Storage, patient: Patient, now: datetime, n: int) -> int:
    alert = NewAlert(kind=AlertKind.REVIEW, text=f"r{n}", remind_after=0)
    alert_id = await _alert(storage, patient, now, alert)
    await storage.alerts.mark_sent(alert_id, chat_id=-1, message_id=n, photo=False, now=now)
    return alert_id


async def seed_escalation(storage: Storage, patient: Patient, now: datetime, n: int) -> int:
    alert = NewAlert(kind=AlertKind.CRISIS, text=f"u{n}", urgent=True, escalate_after=0)
    return await _alert(storage, patient, now, alert)


async def seed_message(storage: Storage, patient: Patient, now: datetime, n: int) -> int:
    return await storage.outbox.add(
        chat_id=patient.chat_id, text=f"m{n}", urgency=Urgency.CRISIS_REPLY, now=now, retry_at=now
    )


async def seed_push(storage: Storage, patient: Patient, now: datetime, n: int) -> int:
    push = await storage.explainers.claim_push(
        patient_id=patient.id, explainer_id=f"e{n}", how=PushKind.SCHEDULED, now=now, retry_at=now
    )
    assert push is not None
    return push


async def seed_question(storage: Storage, patient: Patient, now: datetime, n: int) -> int:
    # Asked (and so claimed by the asker) a lease ago, and never recorded as sent.
    question = await storage.questions.ask(
        patient_id=patient.id,
        chat_id=USER,
        reason=QuestionReason.WORDS,
        now=now - CLAIM_LEASE,
        escalate_at=now + timedelta(hours=1),
        update_id=None,
    )
    assert question is not None
    return question.id


async def claim_alerts(storage: Storage, now: datetime, limit: int) -> list[int]:
    return [a.id for a in await storage.alerts.claim_due(now, limit=limit)]


async def claim_reminders(storage: Storage, now: datetime, limit: int) -> list[int]:
    return [a.id for a in await storage.alerts.claim_reminders(now, limit=limit)]


async def claim_escalations(storage: Storage, now: datetime, limit: int) -> list[int]:
    return [a.id for a in await storage.escalations.claim_due(now, limit=limit)]


async def claim_messages(storage: Storage, now: datetime, limit: int) -> list[int]:
    return [m.id for m in await storage.outbox.claim_due(now, limit=limit)]


async def claim_pushes(storage: Storage, now: datetime, limit: int) -> list[int]:
    return [p.delivery_id for p in await storage.explainers.claim_waiting(now, limit=limit)]


async def claim_questions(storage: Storage, now: datetime, limit: int) -> list[int]:
    return [q.id for q in await storage.questions.claim_unsent(now, limit=limit)]


QUEUES = [
    Queue("alerts", seed_alert, claim_alerts, QUEUED_LEASE),
    Queue("reminders", seed_reminder, claim_reminders, QUEUED_LEASE),
    Queue("escalations", seed_escalation, claim_escalations, ROUND_LEASE),
    Queue("outbox", seed_message, claim_messages, CLAIM_LEASE),
    Queue("explainers", seed_push, claim_pushes, QUEUED_LEASE),
    Queue("questions", seed_question, claim_questions, CLAIM_LEASE),
]


@pytest.fixture(params=QUEUES, ids=str)
def queue(request: pytest.FixtureRequest) -> Queue:
    assert isinstance(request.param, Queue)
    return request.param


async def seeded(domain: Domain, patient: Patient, queue: Queue, count: int) -> list[int]:
    """Put `count` rows due now into the queue; return their ids."""
    now = domain.clock.now()
    return [await queue.seed(domain.storage, patient, now, n) for n in range(count)]


async def test_a_claimed_row_is_claimed_again_only_after_its_lease(
    domain: Domain, patient: Patient, queue: Queue
) -> None:
    ids = await seeded(domain, patient, queue, 3)
    storage = domain.storage
    now = domain.clock.now()

    first = await queue.claim(storage, now, 2)
    rest = await queue.claim(storage, now, 2)
    assert len(first) == 2
    assert sorted(first + rest) == sorted(ids)
    assert await queue.claim(storage, now, 10) == []
    assert await queue.claim(storage, now + queue.lease - SECOND, 10) == []
    # The lease ran out (the claimer died, say): the rows are due again, for anyone.
    assert sorted(await queue.claim(storage, now + queue.lease, 10)) == sorted(ids)


async def test_concurrent_claimers_never_claim_the_same_row(
    domain: Domain, patient: Patient, other: Storage, queue: Queue
) -> None:
    due = set(await seeded(domain, patient, queue, 200))
    now = domain.clock.now()
    # Three leases one after another: each time every row is due again, nothing recorded.
    for _ in range(3):
        mine: list[int] = []
        theirs: list[int] = []
        for _ in range(len(due)):
            first, second = await asyncio.gather(
                queue.claim(domain.storage, now, 3), queue.claim(other, now, 3)
            )
            if not first and not second:
                break
            mine += first
            theirs += second
        assert len(mine) == len(set(mine)), "a claimer took a row twice"
        assert len(theirs) == len(set(theirs)), "a claimer took a row twice"
        assert set(mine) & set(theirs) == set(), "two claimers took the same row"
        assert set(mine) | set(theirs) == due
        assert mine, "the claimers did not run side by side"
        assert theirs, "the claimers did not run side by side"
        now += queue.lease


async def test_an_urgent_alert_is_held_for_the_short_lease(
    domain: Domain, patient: Patient
) -> None:
    """It bypasses the flood queue, so a dead sender's urgent alert is due again soonest."""
    now = domain.clock.now()
    plain = await seed_alert(domain.storage, patient, now, 1)
    urgent = await seed_escalation(domain.storage, patient, now, 2)
    assert sorted(await claim_alerts(domain.storage, now, 10)) == sorted([plain, urgent])
    assert await claim_alerts(domain.storage, now + CLAIM_LEASE - SECOND, 10) == []
    assert await claim_alerts(domain.storage, now + CLAIM_LEASE, 10) == [urgent]
    assert await claim_alerts(domain.storage, now + QUEUED_LEASE - SECOND, 10) == [urgent]
    assert await claim_alerts(domain.storage, now + QUEUED_LEASE, 10) == [plain]


# The recorders: each ends the claim with the row's real next time, or for good.


async def test_alert_recorders_end_the_claim(domain: Domain, patient: Patient) -> None:
    alerts = domain.storage.alerts
    now = domain.clock.now()
    taken, retried, sent = await seeded(domain, patient, QUEUES[0], 3)
    # send_now's claim of one alert, and the pass's claim of the others, never meet.
    assert await alerts.claim(taken, now=now) is not None
    assert await claim_alerts(domain.storage, now, 10) == [retried, sent]
    assert await alerts.claim(retried, now=now) is None

    await alerts.mark_retry(
        retried, retry_at=now + 15 * SECOND, problem=DeliveryProblem.TELEGRAM_ERROR
    )
    await alerts.mark_sent(sent, chat_id=-1, message_id=1, photo=False, now=now)
    assert await claim_alerts(domain.storage, now + 14 * SECOND, 10) == []
    # Due at its retry, before the lease would have ended.
    claimed = await alerts.claim(retried, now=now + 15 * SECOND)
    assert claimed is not None
    assert claimed.attempts == 1
    # The sent one never comes back; the others do when their leases end.
    assert await claim_alerts(domain.storage, now + 3 * QUEUED_LEASE, 10) == [taken, retried]
    assert await alerts.claim(sent, now=now + 5 * QUEUED_LEASE) is None


async def test_reminder_recorders_end_the_claim(domain: Domain, patient: Patient) -> None:
    alerts = domain.storage.alerts
    now = domain.clock.now()
    every = timedelta(minutes=15)
    repeating = NewAlert(
        kind=AlertKind.CRISIS, text="u", remind_after=0, remind_every=int(every.total_seconds())
    )
    repeated = await _alert(domain.storage, patient, now, repeating)
    await alerts.mark_sent(repeated, chat_id=-1, message_id=1, photo=False, now=now)
    once, failed, acknowledged = await seeded(domain, patient, QUEUES[1], 3)
    claimed = await claim_reminders(domain.storage, now, 10)
    assert sorted(claimed) == sorted([repeated, once, failed, acknowledged])

    await alerts.reminder_sent(repeated, now=now, chat_id=-1, message_id=10)
    await alerts.reminder_sent(once, now=now, chat_id=-1, message_id=11)
    await alerts.reminder_failed(failed, retry_at=now + 15 * SECOND)
    await alerts.acknowledge(acknowledged, staff_id=STAFF_ID, now=now)
    assert await claim_reminders(domain.storage, now + 14 * SECOND, 10) == []
    assert await claim_reminders(domain.storage, now + 15 * SECOND, 10) == [failed]
    await alerts.reminder_sent(failed, now=now + 15 * SECOND, chat_id=-1, message_id=12)
    # The repeating one at its next time, long after the lease; the others never again.
    assert await claim_reminders(domain.storage, now + every - SECOND, 10) == []
    assert await claim_reminders(domain.storage, now + every, 10) == [repeated]
    assert await claim_reminders(domain.storage, now + every + QUEUED_LEASE, 10) == [repeated]


async def test_escalation_recorders_end_the_claim(domain: Domain, patient: Patient) -> None:
    escalations = domain.storage.escalations
    now = domain.clock.now()
    every = timedelta(minutes=15)
    escalated, postponed, acknowledged = await seeded(domain, patient, QUEUES[2], 3)
    claimed = await claim_escalations(domain.storage, now, 10)
    assert claimed == [escalated, postponed, acknowledged]

    await escalations.escalated(escalated, next_at=now + every)
    await escalations.postpone(postponed, by=30 * SECOND, now=now)
    await domain.storage.alerts.acknowledge(acknowledged, staff_id=STAFF_ID, now=now)
    assert await claim_escalations(domain.storage, now + 29 * SECOND, 10) == []
    assert await claim_escalations(domain.storage, now + 30 * SECOND, 10) == [postponed]
    await escalations.escalated(postponed, next_at=now + 2 * every)
    assert await claim_escalations(domain.storage, now + every - SECOND, 10) == []
    assert await claim_escalations(domain.storage, now + every, 10) == [escalated]


async def test_outbox_recorders_end_the_claim(domain: Domain, patient: Patient) -> None:
    outbox = domain.storage.outbox
    now = domain.clock.now()
    retried, sent = await seeded(domain, patient, QUEUES[3], 2)
    assert await claim_messages(domain.storage, now, 10) == [retried, sent]

    await outbox.retry(retried, at=now + 5 * SECOND, problem=DeliveryProblem.CONNECT_FAILED)
    await outbox.sent(sent, now=now)
    assert await claim_messages(domain.storage, now + 4 * SECOND, 10) == []
    [message] = await outbox.claim_due(now + 5 * SECOND, limit=10)
    assert (message.id, message.attempts) == (retried, 2)
    assert await claim_messages(domain.storage, now + 3 * CLAIM_LEASE, 10) == [retried]
    assert await outbox.unsent() == 1


async def test_explainer_recorders_end_the_claim(domain: Domain, patient: Patient) -> None:
    explainers = domain.storage.explainers
    now = domain.clock.now()
    deferred, sent, released = await seeded(domain, patient, QUEUES[4], 3)
    assert await claim_pushes(domain.storage, now, 10) == [deferred, sent, released]

    await explainers.defer(deferred, not_before=now + 10 * SECOND)
    await explainers.mark_sent(sent, now=now)
    await explainers.release(released)
    assert await claim_pushes(domain.storage, now + 9 * SECOND, 10) == []
    assert await claim_pushes(domain.storage, now + 10 * SECOND, 10) == [deferred]
    assert await claim_pushes(domain.storage, now + 3 * QUEUED_LEASE, 10) == [deferred]


async def test_a_question_is_stored_claimed_by_its_asker(domain: Domain, patient: Patient) -> None:
    questions = domain.storage.questions
    now = domain.clock.now()
    asked = await questions.ask(
        patient_id=patient.id,
        chat_id=USER,
        reason=QuestionReason.LOW_SCORE,
        now=now,
        escalate_at=now + timedelta(hours=1),
        update_id=1,
    )
    assert asked is not None
    # The asker sends it at once; no pass takes it from them meanwhile.
    assert await claim_questions(domain.storage, now, 10) == []
    assert await claim_questions(domain.storage, now + CLAIM_LEASE - SECOND, 10) == []
    # The asker died before recording the send: a pass sends it.
    assert await claim_questions(domain.storage, now + CLAIM_LEASE, 10) == [asked.id]


async def test_question_recorders_end_the_claim(domain: Domain, patient: Patient) -> None:
    questions = domain.storage.questions
    now = domain.clock.now()
    failed, sent, answered = await seeded(domain, patient, QUEUES[5], 3)
    assert await claim_questions(domain.storage, now, 10) == [failed, sent, answered]

    await questions.not_sent(failed, retry_at=now + 10 * SECOND)
    await questions.sent(sent, now=now)
    assert await questions.answer(answered, user_id=USER, answer=QuestionAnswer.NO, now=now)
    # A failed send is tried again from its retry time, without waiting for the lease.
    assert await claim_questions(domain.storage, now + 9 * SECOND, 10) == []
    assert await claim_questions(domain.storage, now + 10 * SECOND, 10) == [failed]
    assert await claim_questions(domain.storage, now + 3 * CLAIM_LEASE, 10) == [failed]


async def test_at_a_restart_the_urgent_queues_are_due_at_once(
    domain: Domain, patient: Patient
) -> None:
    """Alone on the database, a lease on what bypasses the flood queue is a dead process's."""
    storage = domain.storage
    now = domain.clock.now()
    urgent = await seed_escalation(storage, patient, now, 1)
    plain = await seed_alert(storage, patient, now, 2)
    message = await seed_message(storage, patient, now, 3)
    asked = await storage.questions.ask(
        patient_id=patient.id,
        chat_id=USER,
        reason=QuestionReason.LOW_SCORE,
        now=now,
        escalate_at=now + timedelta(hours=1),
        update_id=None,
    )
    assert asked is not None
    later = await seed_message(storage, patient, now, 4)
    await storage.outbox.retry(
        later, at=now + timedelta(minutes=30), problem=DeliveryProblem.READ_TIMEOUT
    )
    reminder = await seed_reminder(storage, patient, now, 5)
    assert sorted(await claim_alerts(storage, now, 10)) == sorted([urgent, plain])
    assert await claim_messages(storage, now, 10) == [message]
    assert await claim_reminders(storage, now, 10) == [reminder]

    assert await storage.leases.end_orphaned(now) == 3
    assert await claim_alerts(storage, now, 10) == [urgent]
    assert await claim_messages(storage, now, 10) == [message]
    assert await claim_questions(storage, now, 10) == [asked.id]
    # The flood-limited ones keep their leases; a retry planned for later stays later.
    assert await claim_reminders(storage, now, 10) == []
    assert later not in await claim_messages(storage, now + timedelta(minutes=29), 10)
    assert later in await claim_messages(storage, now + timedelta(minutes=30), 10)
