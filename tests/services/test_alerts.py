"""Staff alerts: stored first, delivered with retries and reminders, handled and audited."""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from bot.domain.codes import AuditAction, DeliveryProblem, EpisodeEndReason, EpisodeKind
from bot.domain.delivery import (
    Delivered,
    Migrated,
    NotDelivered,
    RateLimited,
    SendOutcome,
    Unknown,
)
from bot.domain.entities import Alert, Patient
from bot.services.alerts import AlertService
from tests.conftest import STAFF_ID, Domain

STAFF_CHAT = -100


class ScriptedStaff:
    """Records sends; returns queued outcomes, Delivered by default."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, bool, bool]] = []
        self.script: deque[SendOutcome] = deque()
        self.escalated: list[tuple[int, int]] = []
        self._next = 500

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> SendOutcome:
        self.sent.append((chat_id, alert.id, photo is not None, reminder))
        if self.script:
            return self.script.popleft()
        self._next += 1
        return Delivered(message_id=self._next, photo=photo is not None)

    async def send_escalation(
        self, chat_id: int, alert: Alert, *, waited: timedelta
    ) -> SendOutcome:
        self.escalated.append((chat_id, alert.id))
        if self.script:
            return self.script.popleft()
        self._next += 1
        return Delivered(message_id=self._next)


async def chart(alert: Alert) -> bytes:
    return b"\x89PNG fake"


def service(domain: Domain, sender: ScriptedStaff) -> AlertService:
    return AlertService(
        domain.storage,
        domain.clock,
        sender,
        staff_chat_id=STAFF_CHAT,
        chart=chart,
        on_staff_chat_moved=lambda chat_id: None,
        escalate_after=timedelta(minutes=15),
    )


async def decline(alerts: AlertService, patient: Patient, now_offset: int = 0) -> Alert | None:
    return await alerts.open_episode(
        patient,
        kind=EpisodeKind.DECLINE,
        since=alerts._clock.now() - timedelta(days=2 + now_offset),
        explanation="Mood fell from 7.7 to 4.0.",
        text=f"{patient.code} · mood decline",
    )


async def test_alert_is_stored_before_it_is_sent(domain: Domain) -> None:
    patient = await domain.enrol(1)
    sender = ScriptedStaff()
    alerts = service(domain, sender)
    alert = await decline(alerts, patient)
    assert alert is not None
    assert not alert.sent
    assert sender.sent == []
    assert await alerts.deliver() == 1
    assert sender.sent == [(STAFF_CHAT, alert.id, True, False)]
    stored = await alerts.get(alert.id)
    assert stored is not None
    assert stored.sent
    assert stored.photo
    assert stored.message_id == 501


async def test_one_alert_per_episode(domain: Domain) -> None:
    patient = await domain.enrol(1)
    alerts = service(domain, ScriptedStaff())
    assert await decline(alerts, patient) is not None
    for _ in range(5):
        assert await decline(alerts, patient) is None
    low = await alerts.open_episode(
        patient, kind=EpisodeKind.LOW_MOOD, since=domain.clock.now(), explanation="x", text="y"
    )
    assert low is not None
    # Once resolved, the same kind may fire again.
    first = (await alerts.open_alerts())[-1]
    await alerts.resolve(first.id, staff_id=STAFF_ID)
    assert await decline(alerts, patient) is not None


async def test_failures_are_retried_with_backoff_until_delivered(domain: Domain) -> None:
    patient = await domain.enrol(1)
    sender = ScriptedStaff()
    sender.script.extend(
        [NotDelivered(DeliveryProblem.SERVER_ERROR), Unknown(DeliveryProblem.READ_TIMEOUT)]
    )
    alerts = service(domain, sender)
    alert = await decline(alerts, patient)
    assert alert is not None
    assert await alerts.deliver() == 0
    assert await alerts.deliver() == 0  # backing off: not tried again yet
    assert len(sender.sent) == 1
    domain.clock.advance(timedelta(seconds=15))
    assert await alerts.deliver() == 0
    domain.clock.advance(timedelta(seconds=29))
    assert await alerts.deliver() == 0
    assert len(sender.sent) == 2
    domain.clock.advance(timedelta(seconds=1))
    assert await alerts.deliver() == 1
    assert len(sender.sent) == 3
    stored = await alerts.get(alert.id)
    assert stored is not None
    assert stored.sent
    assert stored.attempts == 3


async def test_rate_limit_waits_retry_after(domain: Domain) -> None:
    patient = await domain.enrol(1)
    sender = ScriptedStaff()
    sender.script.append(RateLimited(retry_after=timedelta(seconds=40)))
    alerts = service(domain, sender)
    await decline(alerts, patient)
    await alerts.deliver()
    domain.clock.advance(timedelta(seconds=39))
    await alerts.deliver()
    assert len(sender.sent) == 1
    domain.clock.advance(timedelta(seconds=1))
    assert await alerts.deliver() == 1


async def test_migrated_staff_group_is_followed_and_remembered(domain: Domain) -> None:
    patient = await domain.enrol(1)
    sender = ScriptedStaff()
    sender.script.append(Migrated(new_chat_id=-1009))
    alerts = service(domain, sender)
    await decline(alerts, patient)
    assert await alerts.deliver() == 1
    assert [chat for chat, *_ in sender.sent] == [STAFF_CHAT, -1009]
    # A restarted service keeps using the new id.
    again = service(domain, sender)
    assert await again.staff_chat_id() == -1009


async def test_pending_alert_survives_a_restart_and_is_sent_once(domain: Domain) -> None:
    patient = await domain.enrol(1)
    first = ScriptedStaff()
    first.script.append(Unknown(DeliveryProblem.CONNECTION_LOST))
    alert = await decline(service(domain, first), patient)
    assert alert is not None
    await service(domain, first).deliver()
    restarted = ScriptedStaff()
    domain.clock.advance(timedelta(minutes=1))
    alerts = service(domain, restarted)
    assert await alerts.deliver() == 1
    assert await alerts.deliver() == 0
    assert [a for _, a, _, r in restarted.sent if not r] == [alert.id]


async def test_unacknowledged_alert_is_reminded_once_after_four_hours(domain: Domain) -> None:
    patient = await domain.enrol(1)
    sender = ScriptedStaff()
    alerts = service(domain, sender)
    await decline(alerts, patient)
    await alerts.deliver()
    domain.clock.advance(timedelta(hours=3, minutes=59))
    await alerts.deliver()
    assert len(sender.sent) == 1
    domain.clock.advance(timedelta(minutes=1))
    await alerts.deliver()
    assert sender.sent[-1][3] is True
    for _ in range(5):
        domain.clock.advance(timedelta(hours=4))
        await alerts.deliver()
    assert sum(1 for *_, reminder in sender.sent if reminder) == 1


async def test_acknowledged_alert_is_not_reminded(domain: Domain) -> None:
    patient = await domain.enrol(1)
    sender = ScriptedStaff()
    alerts = service(domain, sender)
    alert = await decline(alerts, patient)
    assert alert is not None
    await alerts.deliver()
    acked = await alerts.acknowledge(alert.id, staff_id=STAFF_ID)
    assert acked is not None
    assert acked.acknowledged_by == STAFF_ID
    assert await alerts.acknowledge(alert.id, staff_id=STAFF_ID + 1) is None
    domain.clock.advance(timedelta(hours=5))
    await alerts.deliver()
    assert len(sender.sent) == 1


async def test_urgent_alert_goes_first_and_repeats_until_acknowledged(domain: Domain) -> None:
    patient = await domain.enrol(1)
    sender = ScriptedStaff()
    sender.script.append(Unknown(DeliveryProblem.CONNECTION_LOST))
    alerts = service(domain, sender)
    await decline(alerts, patient)
    await alerts.deliver()  # the decline alert fails and waits
    domain.clock.advance(timedelta(seconds=20))
    urgent = await alerts.store_crisis(
        patient, words="i want to die", text="URGENT", follow_up_text="URGENT again", update_id=1
    )
    assert urgent is not None
    assert await alerts.send_now(urgent)
    # Sent at once, ahead of the queued decline alert.
    assert sender.sent[1][1] == urgent.id
    for _ in range(4):
        domain.clock.advance(timedelta(minutes=15))
        await alerts.deliver()
    reminders = [a for _, a, _, r in sender.sent if r and a == urgent.id]
    assert len(reminders) == 4
    await alerts.acknowledge(urgent.id, staff_id=STAFF_ID)
    domain.clock.advance(timedelta(hours=1))
    await alerts.deliver()
    assert len([a for _, a, _, r in sender.sent if r and a == urgent.id]) == 4


async def test_resolve_ends_the_episode_and_is_audited(domain: Domain) -> None:
    patient = await domain.enrol(1)
    alerts = service(domain, ScriptedStaff())
    alert = await decline(alerts, patient)
    assert alert is not None
    resolved = await alerts.resolve(alert.id, staff_id=STAFF_ID)
    assert resolved is not None
    assert resolved.resolved_at == domain.clock.now()
    assert await alerts.resolve(alert.id, staff_id=STAFF_ID) is None
    assert await alerts.open_alerts() == []
    log = await domain.storage.clinic.audit_log(patient_id=patient.id)
    actions = [entry.action for entry in log]
    assert AuditAction.RESOLVE_ALERT in actions
    assert AuditAction.INVITE in actions
    assert all(entry.patient_code == patient.code for entry in log)


async def test_new_infusion_ends_open_episodes(domain: Domain) -> None:
    patient = await domain.enrol(1)
    alerts = service(domain, ScriptedStaff())
    await decline(alerts, patient)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    episodes = await domain.storage.episodes.since(
        patient.id, domain.clock.now() - timedelta(days=30)
    )
    assert [e.end_reason for e in episodes] == [EpisodeEndReason.NEW_INFUSION]
    assert await decline(alerts, patient) is not None


async def test_chart_failure_does_not_stop_the_alert(domain: Domain) -> None:
    patient = await domain.enrol(1)
    sender = ScriptedStaff()

    async def broken(alert: Alert) -> bytes:
        raise RuntimeError("no fonts")

    alerts = AlertService(
        domain.storage,
        domain.clock,
        sender,
        staff_chat_id=STAFF_CHAT,
        chart=broken,
        on_staff_chat_moved=lambda chat_id: None,
        escalate_after=timedelta(minutes=15),
    )
    await decline(alerts, patient)
    assert sender.sent == []
    assert await alerts.deliver() == 1
    assert sender.sent[0][2] is False
