"""Scheduled explainers: deferred at night, retried after a failed send, never pushed twice."""

from __future__ import annotations

from datetime import timedelta

from bot.alerts import AlertDelivered, AlertOutcome, AlertService
from bot.education import EducationService
from bot.explainers import load_explainers
from bot.texts import SafetyContacts
from storage import Alert, DueCheckin
from tests.conftest import STAFF_ID, Domain


class NoStaff:
    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> AlertOutcome:
        return AlertDelivered(message_id=1, photo=False)


class Patients:
    """Records explainers; fails while `down` is set."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[str] = []

    async def send_explainer(self, chat_id: int, text: str, *, explainer_id: str) -> bool:
        if self.down:
            return False
        self.sent.append(explainer_id)
        return True

    async def send_contextual(self, chat_id: int, text: str, *, episode_id: int) -> bool:
        return not self.down


def education(domain: Domain, sender: Patients) -> EducationService:
    service = EducationService(
        domain.storage,
        domain.clock,
        library=load_explainers(),
        contacts=SafetyContacts("call or text 988", "911"),
        schedule=domain.protocol.explainers,
        alerts=AlertService(domain.storage, domain.clock, NoStaff(), staff_chat_id=-1),
    )
    service.attach(sender)
    return service


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
    assert await domain.storage.explainers.history(patient.id) == [("after-infusion", "scheduled")]
