"""Scheduled explainers: deferred at night, retried after a failed send, never pushed twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain.codes import DeliveryProblem, EpisodeEndReason, EpisodeKind, PushKind
from bot.domain.daytime import next_morning
from bot.domain.delivery import Delivered, NotDelivered, SendOutcome
from bot.domain.entities import Alert, DueCheckin, Patient
from bot.domain.explainers import Explainer
from bot.runtime.content import load_explainers
from bot.services.education import CLAIM_LEASE, EducationService
from bot.telegram import texts
from tests.conftest import CLINIC_TZ, CONTACTS, STAFF_ID, WORDING, Domain, alert_service


class Patients:
    """Records explainers; fails while `down` is set."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[str] = []

    async def send_explainer(self, chat_id: int, explainer: Explainer, body: str) -> SendOutcome:
        if self.down:
            return NotDelivered(DeliveryProblem.CONNECT_FAILED)
        self.sent.append(explainer.id)
        return Delivered(message_id=1)

    async def send_episode_message(
        self, chat_id: int, *, episode_id: int, explainer: Explainer | None, body: str | None
    ) -> SendOutcome:
        if self.down:
            return NotDelivered(DeliveryProblem.CONNECT_FAILED)
        text = texts.episode_message(explainer, body)
        self.sent.append(f"contextual:{episode_id}:{text.split(chr(10) * 2)[1]}")
        return Delivered(message_id=1)


def education(domain: Domain, sender: Patients) -> EducationService:
    return EducationService(
        domain.storage,
        domain.clock,
        library=load_explainers(),
        contacts=CONTACTS,
        schedule=domain.protocol.explainers,
        alerts=alert_service(domain.storage, domain.clock),
        sender=sender,
        wording=WORDING,
    )


async def test_failed_push_is_retried_and_recorded_once(domain: Domain) -> None:
    patient = await domain.enrol(1, time="09:00")
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    rows = await domain.storage.checkins.for_patient(patient.id)
    day3 = next(row for row in rows if row.day == 3)
    domain.clock.set(day3.due_at)
    sender = Patients()
    sender.down = True
    service = education(domain, sender)
    await service.after_checkin(DueCheckin(day3, 1, patient.code))
    assert await domain.storage.explainers.history(patient.id) == []
    sender.down = False
    domain.clock.advance(timedelta(minutes=10))
    assert await service.deliver_waiting() == 0  # the retry waits 30 minutes
    domain.clock.advance(timedelta(minutes=25))
    assert await service.deliver_waiting() == 1
    assert sender.sent == ["after-infusion"]
    # The next check-in does not push it again.
    await service.after_checkin(DueCheckin(day3, 1, patient.code))
    assert sender.sent == ["after-infusion"]
    assert await domain.storage.explainers.history(patient.id) == [
        ("after-infusion", PushKind.SCHEDULED)
    ]


async def decline_episode(domain: Domain, service: EducationService) -> tuple[Patient, Alert]:
    """Enrol a patient with an infusion, open a decline episode and return both."""
    enrolled = await domain.enrol(2, time="09:00")
    await domain.care.record_infusion(args=[enrolled.code], staff_id=STAFF_ID, update_id=None)
    patient = await domain.storage.patients.get(enrolled.id)
    assert patient is not None
    domain.clock.advance(timedelta(days=5))
    alerts = alert_service(domain.storage, domain.clock)
    alert = await alerts.open_episode(
        patient,
        kind=EpisodeKind.DECLINE,
        since=domain.clock.now(),
        explanation="fell",
        text="fell",
    )
    assert alert is not None
    return patient, alert


async def failed_episode_message(
    domain: Domain, sender: Patients
) -> tuple[EducationService, Patient, Alert]:
    """Open a decline episode whose message to the patient fails to send."""
    service = education(domain, sender)
    patient, alert = await decline_episode(domain, service)
    sender.down = True
    await service.on_episode(patient, EpisodeKind.DECLINE, alert)
    sender.down = False
    return service, patient, alert


async def test_a_failed_episode_message_is_retried_while_the_episode_lasts(
    domain: Domain,
) -> None:
    sender = Patients()

    service, patient, alert = await failed_episode_message(domain, sender)

    assert sender.sent == []
    assert await domain.storage.explainers.history(patient.id) == []
    domain.clock.advance(timedelta(minutes=31))
    assert await service.deliver_waiting() == 1
    explainer = load_explainers().get("why-it-fades")
    assert explainer is not None
    assert sender.sent == [f"contextual:{alert.episode_id}:{explainer.title}"]
    assert await domain.storage.explainers.history(patient.id) == [
        ("why-it-fades", PushKind.CONTEXTUAL)
    ]
    domain.clock.advance(timedelta(hours=1))
    assert await service.deliver_waiting() == 0
    assert len(sender.sent) == 1


async def test_a_failed_episode_message_is_dropped_once_the_episode_ends(
    domain: Domain,
) -> None:
    sender = Patients()
    service, patient, alert = await failed_episode_message(domain, sender)
    assert alert.episode_id is not None
    await domain.storage.episodes.end(
        alert.episode_id, reason=EpisodeEndReason.RECOVERED, now=domain.clock.now()
    )
    domain.clock.advance(timedelta(minutes=31))

    assert await service.deliver_waiting() == 0
    assert sender.sent == []
    assert await domain.storage.explainers.pushed(patient.id) == set()


class SlowPatients(Patients):
    """Takes a moment to send, so two passes can overlap."""

    async def send_contextual(self, chat_id: int, text: str, *, episode_id: int) -> bool:
        await asyncio.sleep(0.01)
        return await super().send_contextual(chat_id, text, episode_id=episode_id)


async def test_two_passes_at_once_send_a_waiting_message_once(domain: Domain) -> None:
    sender = SlowPatients()
    service, _patient, _alert = await failed_episode_message(domain, sender)
    domain.clock.advance(timedelta(minutes=31))

    counts = await asyncio.gather(service.deliver_waiting(), service.deliver_waiting())

    assert sorted(counts) == [0, 1]
    assert len(sender.sent) == 1


async def test_a_waiting_episode_message_is_dropped_when_the_patient_pauses(
    domain: Domain,
) -> None:
    sender = Patients()
    service, patient, _alert = await failed_episode_message(domain, sender)
    await domain.care.pause(patient)
    domain.clock.advance(timedelta(minutes=31))

    assert await service.deliver_waiting() == 0
    await domain.care.resume(patient)
    domain.clock.advance(timedelta(days=1))
    assert await service.deliver_waiting() == 0
    assert sender.sent == []
    assert await domain.storage.explainers.pushed(patient.id) == set()


async def test_a_push_claimed_just_before_a_crash_is_sent_after_the_lease(
    domain: Domain,
) -> None:
    patient = await domain.enrol(3, time="09:00")
    now = domain.clock.now()
    claimed = await domain.storage.explainers.claim_push(
        patient_id=patient.id,
        explainer_id="what-helps",
        how=PushKind.SCHEDULED,
        now=now,
        retry_at=now + CLAIM_LEASE,
    )
    assert claimed is not None
    # The bot stopped here, before the send: nothing says it was delivered.
    assert await domain.storage.explainers.history(patient.id) == []
    sender = Patients()
    service = education(domain, sender)
    assert await service.deliver_waiting() == 0
    domain.clock.set(next_morning(now + CLAIM_LEASE, CLINIC_TZ) + timedelta(hours=2))

    assert await service.deliver_waiting() == 1
    assert sender.sent == ["what-helps"]
    assert await domain.storage.explainers.history(patient.id) == [
        ("what-helps", PushKind.SCHEDULED)
    ]
