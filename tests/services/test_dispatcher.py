"""The dispatcher against a real database and a scripted sender."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from datetime import timedelta

from bot.domain.codes import CheckinState, CloseReason, Delivery, DeliveryProblem, PatientStatus
from bot.domain.delivery import (
    Delivered,
    NotDelivered,
    RateLimited,
    SendOutcome,
    Undeliverable,
    Unknown,
)
from bot.domain.entities import Patient, PlannedCheckin
from bot.services.checkins import ExtraOutcome
from bot.services.dispatcher import Dispatcher
from bot.telegram.flood import LOOKAHEAD, PREPAID, FloodLimiter
from tests.conftest import STAFF_ID, Domain, no_ack

FINAL = {
    CheckinState.SENT,
    CheckinState.ANSWERED,
    CheckinState.MISSED,
    CheckinState.CANCELLED,
    CheckinState.FAILED,
}


class ScriptedSender:
    """Returns queued outcomes (Delivered by default) and records every send."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []
        self.script: deque[SendOutcome] = deque()
        self._next_id = 1000

    async def send_checkin(
        self, chat_id: int, checkin_id: int, *, prepaid: bool = False
    ) -> SendOutcome:
        self.sent.append((chat_id, checkin_id))
        if self.script:
            return self.script.popleft()
        self._next_id += 1
        return Delivered(message_id=self._next_id)


def make_dispatcher(domain: Domain, sender: ScriptedSender) -> Dispatcher:
    return Dispatcher(domain.storage, domain.clock, sender, protocol=domain.protocol)


async def infuse(domain: Domain, code: str) -> None:
    recorded = await domain.care.record_infusion(args=[code], staff_id=STAFF_ID, update_id=None)
    assert recorded is not None


async def test_nothing_due_does_nothing(domain: Domain) -> None:
    sender = ScriptedSender()
    report = await make_dispatcher(domain, sender).tick()
    assert not report.ran
    assert sender.sent == []


async def test_due_checkin_is_sent_once_at_the_preferred_time(domain: Domain) -> None:
    patient = await domain.enrol(1, time="09:00")
    await infuse(domain, patient.code)
    sender = ScriptedSender()
    dispatcher = make_dispatcher(domain, sender)

    first = (await domain.storage.checkins.for_patient(patient.id))[0]
    domain.clock.set(first.due_at - timedelta(seconds=1))
    await dispatcher.tick()
    assert sender.sent == []

    domain.clock.set(first.due_at)
    report = await dispatcher.tick()
    assert report.sent == 1
    assert sender.sent == [(1, first.id)]
    for _ in range(3):
        domain.clock.advance(timedelta(seconds=30))
        await dispatcher.tick()
    assert sender.sent == [(1, first.id)]
    stored = await domain.storage.checkins.get(first.id)
    assert stored is not None
    assert stored.state is CheckinState.SENT
    assert stored.delivery is Delivery.CONFIRMED
    assert stored.message_id == 1001


async def test_stale_checkin_is_missed_and_never_sent_late(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await infuse(domain, patient.code)
    sender = ScriptedSender()
    first = (await domain.storage.checkins.for_patient(patient.id))[0]
    domain.clock.set(first.due_at + timedelta(hours=6, seconds=1))
    report = await make_dispatcher(domain, sender).tick()
    assert sender.sent == []
    assert report.missed == 1
    stored = await domain.storage.checkins.get(first.id)
    assert stored is not None
    assert stored.state is CheckinState.MISSED
    assert stored.close_reason is CloseReason.NOT_SENT_IN_WINDOW


async def test_after_downtime_only_the_newest_in_window_is_sent(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await infuse(domain, patient.code)
    rows = await domain.storage.checkins.for_patient(patient.id)
    # Three days of downtime: days 1 and 2 are stale, day 3 is 1 hour overdue.
    domain.clock.set(rows[2].due_at + timedelta(hours=1))
    sender = ScriptedSender()
    await make_dispatcher(domain, sender).tick()
    assert sender.sent == [(1, rows[2].id)]
    states = [c.state for c in await domain.storage.checkins.for_patient(patient.id)][:4]
    assert states == [
        CheckinState.MISSED,
        CheckinState.MISSED,
        CheckinState.SENT,
        CheckinState.PENDING,
    ]


async def two_checkins(domain: Domain, hours: tuple[int, int]) -> Patient:
    """Enrol a patient with an infusion now and check-ins this many hours from now."""
    patient = await domain.enrol(1)
    now = domain.clock.now()
    await domain.storage.infusions.record(
        patient_id=patient.id,
        given_at=now,
        now=now,
        recorded_by=STAFF_ID,
        update_id=None,
        plan=[
            PlannedCheckin(day=day, due_at=now + timedelta(hours=hour))
            for day, hour in enumerate(hours, 1)
        ],
    )
    return patient


async def test_two_due_within_window_send_only_the_newer(domain: Domain) -> None:
    patient = await two_checkins(domain, (1, 3))
    now = domain.clock.now()
    rows = await domain.storage.checkins.for_patient(patient.id)
    sender = ScriptedSender()
    domain.clock.set(now + timedelta(hours=4))  # both due, both inside the 6 h window
    await make_dispatcher(domain, sender).tick()
    assert sender.sent == [(1, rows[1].id)]
    older = await domain.storage.checkins.get(rows[0].id)
    assert older is not None
    assert older.state is CheckinState.MISSED
    assert older.close_reason is CloseReason.SUPERSEDED


async def test_an_unanswered_checkin_closes_when_the_next_is_sent(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await infuse(domain, patient.code)
    rows = await domain.storage.checkins.for_patient(patient.id)
    sender = ScriptedSender()
    dispatcher = make_dispatcher(domain, sender)
    domain.clock.set(rows[0].due_at)
    await dispatcher.tick()
    domain.clock.set(rows[1].due_at)
    await dispatcher.tick()
    previous = await domain.storage.checkins.get(rows[0].id)
    assert previous is not None
    assert previous.state is CheckinState.MISSED
    open_now = await domain.storage.checkins.open_for_patient(patient.id)
    assert open_now is not None
    assert open_now.id == rows[1].id


async def test_paused_stopped_and_unconsented_patients_get_nothing(domain: Domain) -> None:
    paused = await domain.enrol(1)
    stopped = await domain.enrol(2)
    invitation = await domain.enrolment.invite(staff_id=STAFF_ID, label=None, update_id=None)
    assert invitation is not None
    for patient in (paused, stopped, invitation.patient):
        await infuse(domain, patient.code)
    await domain.care.pause(paused)
    await domain.care.stop(stopped)
    sender = ScriptedSender()
    domain.clock.advance(timedelta(days=2))
    report = await make_dispatcher(domain, sender).tick()
    assert sender.sent == []
    assert report.cancelled >= 1
    for patient in (paused, stopped, invitation.patient):
        rows = await domain.storage.checkins.for_patient(patient.id)
        due = [c for c in rows if c.due_at <= domain.clock.now()]
        assert due
        assert all(c.state is CheckinState.CANCELLED for c in due)
        assert all(c.close_reason for c in due)


async def test_resumed_patient_gets_the_next_checkin(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await infuse(domain, patient.code)
    await domain.care.pause(patient)
    rows = await domain.storage.checkins.for_patient(patient.id)
    sender = ScriptedSender()
    dispatcher = make_dispatcher(domain, sender)
    domain.clock.set(rows[0].due_at)
    await dispatcher.tick()
    await domain.care.resume(patient)
    domain.clock.set(rows[1].due_at)
    await dispatcher.tick()
    assert sender.sent == [(1, rows[1].id)]


async def test_definite_failure_is_retried_with_backoff(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await infuse(domain, patient.code)
    first = (await domain.storage.checkins.for_patient(patient.id))[0]
    sender = ScriptedSender()
    sender.script.extend(
        [
            NotDelivered(DeliveryProblem.SERVER_ERROR, "Bad Gateway"),
            NotDelivered(DeliveryProblem.CONNECT_FAILED),
        ]
    )
    dispatcher = make_dispatcher(domain, sender)
    domain.clock.set(first.due_at)
    report = await dispatcher.tick()
    assert report.retry_later == 1
    pending = await domain.storage.checkins.get(first.id)
    assert pending is not None
    assert pending.state is CheckinState.PENDING
    assert pending.next_attempt_at == first.due_at + timedelta(seconds=30)

    domain.clock.advance(timedelta(seconds=10))
    await dispatcher.tick()
    assert len(sender.sent) == 1  # still backing off
    domain.clock.advance(timedelta(seconds=20))
    await dispatcher.tick()
    assert len(sender.sent) == 2
    domain.clock.advance(timedelta(seconds=60))
    await dispatcher.tick()
    assert len(sender.sent) == 3
    done = await domain.storage.checkins.get(first.id)
    assert done is not None
    assert done.state is CheckinState.SENT
    assert done.delivery is Delivery.CONFIRMED
    assert done.attempts == 3


async def test_failures_past_the_window_end_as_missed_with_the_error(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await infuse(domain, patient.code)
    first = (await domain.storage.checkins.for_patient(patient.id))[0]
    sender = ScriptedSender()
    sender.script.extend(NotDelivered(DeliveryProblem.SERVER_ERROR) for _ in range(100))
    dispatcher = make_dispatcher(domain, sender)
    domain.clock.set(first.due_at)
    for _ in range(800):
        await dispatcher.tick()
        domain.clock.advance(timedelta(seconds=30))
        if domain.clock.now() > first.due_at + timedelta(hours=7):
            break
    stored = await domain.storage.checkins.get(first.id)
    assert stored is not None
    assert stored.state is CheckinState.MISSED
    assert stored.close_reason is CloseReason.NOT_SENT_IN_WINDOW
    assert stored.last_error is DeliveryProblem.SERVER_ERROR
    # Back-off keeps attempts modest: 30 s doubling to 30 min over 6 hours.
    assert 5 <= len(sender.sent) <= 20


async def test_unknown_outcome_is_never_resent(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await infuse(domain, patient.code)
    first = (await domain.storage.checkins.for_patient(patient.id))[0]
    sender = ScriptedSender()
    sender.script.append(Unknown(DeliveryProblem.READ_TIMEOUT))
    dispatcher = make_dispatcher(domain, sender)
    domain.clock.set(first.due_at)
    report = await dispatcher.tick()
    assert report.uncertain == 1
    for _ in range(10):
        domain.clock.advance(timedelta(minutes=30))
        await dispatcher.tick()
    assert [c for _, c in sender.sent].count(first.id) == 1
    stored = await domain.storage.checkins.get(first.id)
    assert stored is not None
    assert stored.state is CheckinState.SENT
    assert stored.delivery is Delivery.UNCERTAIN
    # The patient may still answer it.
    result = await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=first.id, score=6, update_id=None
    )
    assert result.checkin is not None
    assert result.checkin.score == 6


async def test_crash_between_claim_and_confirm_is_not_resent(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await infuse(domain, patient.code)
    first = (await domain.storage.checkins.for_patient(patient.id))[0]
    domain.clock.set(first.due_at)
    # The process claims the row, then dies before it can record the outcome.
    claimed = await domain.storage.checkins.claim_due(domain.clock.now(), limit=10)
    assert [item.checkin.id for item in claimed] == [first.id]

    sender = ScriptedSender()
    restarted = make_dispatcher(domain, sender)
    assert await restarted.recover() == 1
    for _ in range(5):
        await restarted.tick()
        domain.clock.advance(timedelta(minutes=1))
    assert sender.sent == []
    stored = await domain.storage.checkins.get(first.id)
    assert stored is not None
    assert stored.delivery is Delivery.UNCERTAIN
    assert stored.last_error is DeliveryProblem.PROCESS_STOPPED


async def test_blocked_patient_becomes_unreachable(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await infuse(domain, patient.code)
    rows = await domain.storage.checkins.for_patient(patient.id)
    sender = ScriptedSender()
    sender.script.append(Undeliverable(DeliveryProblem.FORBIDDEN, recipient_gone=True))
    dispatcher = make_dispatcher(domain, sender)
    domain.clock.set(rows[0].due_at)
    await dispatcher.tick()
    failed = await domain.storage.checkins.get(rows[0].id)
    assert failed is not None
    assert failed.state is CheckinState.FAILED
    refreshed = await domain.storage.patients.get(patient.id)
    assert refreshed is not None
    assert refreshed.status is PatientStatus.UNREACHABLE
    domain.clock.set(rows[1].due_at)
    await dispatcher.tick()
    assert len(sender.sent) == 1
    later = await domain.storage.checkins.get(rows[1].id)
    assert later is not None
    assert later.state is CheckinState.CANCELLED
    assert later.close_reason is CloseReason.PATIENT_UNREACHABLE


async def test_rate_limit_holds_all_sending_until_retry_after(domain: Domain) -> None:
    for user in (1, 2, 3):
        patient = await domain.enrol(user, time="09:00")
        await infuse(domain, patient.code)
    first = (await domain.storage.checkins.for_patient(1))[0]
    sender = ScriptedSender()
    sender.script.append(RateLimited(timedelta(seconds=40)))
    dispatcher = Dispatcher(
        domain.storage, domain.clock, sender, protocol=domain.protocol, batch_size=1
    )
    domain.clock.set(first.due_at)
    report = await dispatcher.tick()
    assert report.rate_limited
    assert len(sender.sent) == 1
    domain.clock.advance(timedelta(seconds=30))
    await dispatcher.tick()
    assert len(sender.sent) == 1
    domain.clock.advance(timedelta(seconds=15))
    await dispatcher.tick()
    assert len(sender.sent) == 4
    assert len({checkin for _, checkin in sender.sent}) == 3


async def test_every_due_checkin_ends_in_a_recorded_state(domain: Domain) -> None:
    """Promise 1 over a whole 91-day plan with random send outcomes and answers."""
    rng = random.Random(7)
    users = list(range(1, 6))
    for user in users:
        patient = await domain.enrol(user, time=rng.choice(["08:00", "12:00", "21:00"]))
        await infuse(domain, patient.code)

    class RandomSender(ScriptedSender):
        async def send_checkin(
            self, chat_id: int, checkin_id: int, *, prepaid: bool = False
        ) -> SendOutcome:
            self.sent.append((chat_id, checkin_id))
            roll = rng.random()
            if roll < 0.1:
                return NotDelivered(DeliveryProblem.SERVER_ERROR)
            if roll < 0.13:
                return Unknown(DeliveryProblem.READ_TIMEOUT)
            self._next_id += 1
            return Delivered(self._next_id)

    sender = RandomSender()
    dispatcher = make_dispatcher(domain, sender)
    end = domain.clock.now() + timedelta(days=93)
    while domain.clock.now() < end:
        domain.clock.advance(timedelta(minutes=20 if rng.random() < 0.95 else 60 * 9))
        await dispatcher.tick()
        for user in users:
            if rng.random() < 0.05:
                patient = await domain.storage.patients.by_user(user)
                assert patient is not None
                open_checkin = await domain.storage.checkins.open_for_patient(patient.id)
                if open_checkin is not None:
                    await domain.checkins.answer_button(
                        acknowledge=no_ack,
                        user_id=user,
                        checkin_id=open_checkin.id,
                        score=rng.randint(0, 10),
                        update_id=None,
                    )
    sent_ids = [checkin for _, checkin in sender.sent]
    for user in users:
        patient = await domain.storage.patients.by_user(user)
        assert patient is not None
        rows = await domain.storage.checkins.for_patient(patient.id)
        assert len(rows) == 35
        for row in rows:
            assert row.state in FINAL, row
            assert row.state is not CheckinState.SENT or row.delivery is not Delivery.UNCONFIRMED
            if row.state in {CheckinState.MISSED, CheckinState.CANCELLED, CheckinState.FAILED}:
                assert row.close_reason
            if row.delivery is Delivery.UNCERTAIN or row.state is CheckinState.ANSWERED:
                # Delivered or possibly delivered: sent exactly once.
                assert sent_ids.count(row.id) >= 1
        # No check-in was ever delivered twice.
        delivered = [c for c in rows if c.delivery is Delivery.CONFIRMED]
        assert all(sent_ids.count(c.id) >= 1 for c in delivered)
    # Nothing that reached "uncertain" was attempted again.
    uncertain = [
        row
        for user in users
        for row in await domain.storage.checkins.for_patient(user)
        if row.delivery is Delivery.UNCERTAIN
    ]
    assert all(sent_ids.count(row.id) == row.attempts for row in uncertain)


async def test_a_send_that_fails_reopens_the_check_in_its_claim_closed(domain: Domain) -> None:
    """Nothing newer reached the patient, so the open check-in stays answerable."""
    patient = await two_checkins(domain, (1, 13))
    first, second = await domain.storage.checkins.for_patient(patient.id)
    sender = ScriptedSender()
    dispatcher = make_dispatcher(domain, sender)
    domain.clock.set(first.due_at)
    await dispatcher.tick()
    domain.clock.set(second.due_at)
    sender.script.append(NotDelivered(DeliveryProblem.CONNECT_FAILED))

    await dispatcher.tick()

    reopened = await domain.storage.checkins.get(first.id)
    retry = await domain.storage.checkins.get(second.id)
    assert reopened is not None
    assert retry is not None
    assert reopened.state is CheckinState.SENT
    assert reopened.close_reason is None
    assert retry.state is CheckinState.PENDING
    stored = await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=first.id, score=6, update_id=None
    )
    assert stored.outcome.value == "stored"
    # When the retry does go out, the first one is closed again as superseded.
    domain.clock.advance(timedelta(minutes=10))
    await dispatcher.tick()
    final = await domain.storage.checkins.get(second.id)
    assert final is not None
    assert final.state is CheckinState.SENT


async def test_a_failed_extra_never_reopens_what_a_claim_closed(domain: Domain) -> None:
    """All in one second: a claim closes A, B is answered, /checkin's extra fails."""
    patient = await two_checkins(domain, (1, 13))
    first, second = await domain.storage.checkins.for_patient(patient.id)
    dispatcher = make_dispatcher(domain, ScriptedSender())
    domain.clock.set(first.due_at)
    await dispatcher.tick()
    domain.clock.set(second.due_at)
    await dispatcher.tick()
    await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=second.id, score=6, update_id=1
    )
    domain.sender.script.append(Undeliverable(DeliveryProblem.BAD_REQUEST))
    result = await domain.checkins.request_extra(patient, update_id=2)
    assert result.outcome is ExtraOutcome.NOT_SENT

    closed = await domain.storage.checkins.get(first.id)
    assert closed is not None
    assert closed.state is CheckinState.MISSED


class HangingTelegram:
    """A sender whose requests pass the real flood limiter, then never get an answer."""

    def __init__(self, limiter: FloodLimiter) -> None:
        self.limiter = limiter
        self.started = 0
        self.forever = asyncio.Event()

    async def send_checkin(
        self, chat_id: int, checkin_id: int, *, prepaid: bool = False
    ) -> SendOutcome:
        async def request() -> bool:
            self.started += 1
            await self.forever.wait()
            return True

        await self.limiter.process_request(
            request, (), {}, "sendMessage", {"chat_id": chat_id}, PREPAID if prepaid else None
        )
        return Delivered(message_id=1)


async def test_a_crash_in_bulk_sending_leaves_only_what_was_sent_uncertain(
    domain: Domain,
) -> None:
    """Claims wait for the flood limit, so nothing claimed sits in its queue."""
    for user in range(1, 41):
        patient = await domain.enrol(user, time="09:00")
        await infuse(domain, patient.code)
    first = (await domain.storage.checkins.for_patient(1))[0]
    domain.clock.set(first.due_at)
    rate = 10.0
    limiter = FloodLimiter(rate)
    telegram = HangingTelegram(limiter)
    dispatcher = Dispatcher(
        domain.storage, domain.clock, telegram, protocol=domain.protocol, permits=limiter
    )

    tick = asyncio.create_task(dispatcher.tick())
    await asyncio.sleep(0.4)
    # Were the process to die now, every claimed, unconfirmed row would become uncertain.
    claimed = [
        row
        for user in range(1, 41)
        for row in await domain.storage.checkins.for_patient(user)
        if row.delivery is Delivery.UNCONFIRMED
    ]
    started = telegram.started
    telegram.forever.set()
    await tick

    # About four went out in 0.4 s; at most the lookahead's slots more were claimed (a
    # dispatcher claiming its batch first would hold 25 claims here).
    assert started >= 1
    assert len(claimed) - started <= LOOKAHEAD * rate + 1
