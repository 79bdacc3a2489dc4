"""Escalation of URGENT alerts to the on-call staff, timed with a manual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.codes import DeliveryProblem
from bot.domain.delivery import Delivered, SendOutcome, Undeliverable
from bot.domain.entities import Alert, Patient
from bot.services.alerts import AlertService
from bot.services.escalation import EscalationService
from bot.services.roster import RosterService
from bot.services.urgent import UrgentOutbox
from tests.conftest import STAFF_ID, WORDING, Domain, no_chart

STAFF_CHAT = -100
OWNER = 7000
EVERY = timedelta(minutes=15)


class Staff:
    """The staff chat and private chats: records alerts, escalations and notes."""

    def __init__(self) -> None:
        self.alerts: list[int] = []
        self.escalated: list[tuple[int, int]] = []
        self.notes: list[tuple[int, str]] = []
        self.blocked: set[int] = set()

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> SendOutcome:
        self.alerts.append(alert.id)
        return Delivered(message_id=100 + len(self.alerts))

    async def send_escalation(
        self, chat_id: int, alert: Alert, *, waited: timedelta
    ) -> SendOutcome:
        if chat_id in self.blocked:
            return Undeliverable(DeliveryProblem.FORBIDDEN)
        self.escalated.append((chat_id, alert.id))
        return Delivered(message_id=900 + len(self.escalated))

    async def send_now(self, chat_id: int, text: str) -> SendOutcome:
        self.notes.append((chat_id, text))
        return Delivered(message_id=1)

    async def send_question(self, chat_id: int, question_id: int) -> SendOutcome:
        return Delivered(message_id=1)


class Desk:
    """Alerts, roster and escalation over one database."""

    def __init__(self, domain: Domain, staff: Staff) -> None:
        self.domain = domain
        self.staff = staff
        self.alerts = AlertService(
            domain.storage,
            domain.clock,
            staff,
            staff_chat_id=STAFF_CHAT,
            chart=no_chart,
            on_staff_chat_moved=lambda chat_id: None,
            escalate_after=EVERY,
        )
        self.joined: list[int] = []
        self.removed: list[int] = []
        self.roster = RosterService(
            domain.storage,
            domain.clock,
            owners=frozenset({OWNER}),
            on_joined=self.joined.append,
            on_removed=self.removed.append,
        )

        async def staff_chat() -> int:
            return STAFF_CHAT

        outbox = UrgentOutbox(domain.storage, domain.clock, staff, staff_chat=staff_chat)
        self.escalation = EscalationService(
            domain.storage,
            domain.clock,
            roster=self.roster,
            sender=staff,
            outbox=outbox,
            wording=WORDING,
            every=EVERY,
        )

    async def member(self, name: str, user_id: int, *, on_call: bool = True) -> None:
        invitation = await self.roster.add(name, by=OWNER, update_id=None)
        assert invitation is not None
        await self.roster.join(invitation.token, user_id=user_id)
        if on_call:
            await self.roster.set_on_call(name, by=OWNER, on_call=True)

    def later(self, minutes: float) -> None:
        self.domain.clock.advance(timedelta(minutes=minutes))


@pytest.fixture
def desk(domain: Domain) -> Desk:
    return Desk(domain, Staff())


async def crisis(desk: Desk, patient: Patient) -> Alert:
    return await desk.alerts.raise_urgent(patient, text=f"URGENT {patient.code}")


async def test_nothing_is_escalated_before_the_interval(desk: Desk) -> None:
    await desk.member("Rivera", 501)
    await crisis(desk, await desk.domain.enrol(1))
    desk.later(14.9)
    assert await desk.escalation.escalate_due() == 0
    assert desk.staff.escalated == []


async def test_an_unacknowledged_alert_goes_to_each_on_call_member_at_each_interval(
    desk: Desk,
) -> None:
    await desk.member("Rivera", 501)
    await desk.member("Okafor", 502)
    await desk.member("Lind", 503, on_call=False)
    alert = await crisis(desk, await desk.domain.enrol(1))
    desk.later(15)
    assert await desk.escalation.escalate_due() == 1
    assert sorted(desk.staff.escalated) == [(501, alert.id), (502, alert.id)]
    notes = [text for chat, text in desk.staff.notes if chat == STAFF_CHAT]
    assert len(notes) == 1
    assert "Okafor, Rivera" in notes[0]
    assert "15 minutes" in notes[0]
    # Not again within the next interval, then again once it has passed.
    desk.later(10)
    assert await desk.escalation.escalate_due() == 0
    desk.later(5)
    assert await desk.escalation.escalate_due() == 1
    assert len(desk.staff.escalated) == 4
    assert "again" in desk.staff.notes[-1][1]
    stored = await desk.alerts.get(alert.id)
    assert stored is not None
    assert stored.escalations == 2


async def test_acknowledging_stops_escalation(desk: Desk) -> None:
    await desk.member("Rivera", 501)
    alert = await crisis(desk, await desk.domain.enrol(1))
    desk.later(15)
    await desk.escalation.escalate_due()
    await desk.alerts.acknowledge(alert.id, staff_id=501)
    desk.later(60)
    assert await desk.escalation.escalate_due() == 0
    assert len(desk.staff.escalated) == 1


async def test_the_private_copy_carries_working_buttons(desk: Desk) -> None:
    await desk.member("Rivera", 501)
    alert = await crisis(desk, await desk.domain.enrol(1))
    desk.later(15)
    await desk.escalation.escalate_due()
    assert await desk.alerts.pressed_on_its_message(alert.id, 501, 901)
    assert not await desk.alerts.pressed_on_its_message(alert.id, 501, 902)


async def test_with_nobody_on_call_the_owners_are_reached(desk: Desk) -> None:
    await desk.member("Lind", 503, on_call=False)
    alert = await crisis(desk, await desk.domain.enrol(1))
    desk.later(15)
    await desk.escalation.escalate_due()
    assert desk.staff.escalated == [(OWNER, alert.id)]
    assert "nobody is on call" in desk.staff.notes[-1][1]


async def test_a_member_who_blocked_the_bot_is_named_as_not_reached(desk: Desk) -> None:
    await desk.member("Rivera", 501)
    await desk.member("Okafor", 502)
    desk.staff.blocked.add(502)
    await crisis(desk, await desk.domain.enrol(1))
    desk.later(15)
    await desk.escalation.escalate_due()
    note = desk.staff.notes[-1][1]
    assert "Rivera" in note
    assert "could not reach Okafor" in note


async def test_non_urgent_alerts_are_not_escalated(desk: Desk) -> None:
    from bot.domain.codes import AlertKind

    await desk.member("Rivera", 501)
    patient = await desk.domain.enrol(1)
    await desk.alerts.raise_plain(patient, kind=AlertKind.STOPPED, text="stopped")
    desk.later(120)
    assert await desk.escalation.escalate_due() == 0


async def test_a_removed_member_is_not_escalated_to(desk: Desk) -> None:
    await desk.member("Rivera", 501)
    await desk.member("Okafor", 502)
    await desk.roster.remove("Okafor", by=OWNER)
    alert = await crisis(desk, await desk.domain.enrol(1))
    desk.later(15)
    await desk.escalation.escalate_due()
    assert desk.staff.escalated == [(501, alert.id)]
    assert desk.removed == [502]
    assert not desk.roster.is_staff(502)
    assert STAFF_ID not in desk.joined


async def test_a_failing_note_does_not_repeat_the_round(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.member("Rivera", 501)
    await crisis(desk, await desk.domain.enrol(1))
    desk.later(15)

    async def broken(*args: object) -> bool:
        raise RuntimeError("the outbox failed")

    monkeypatch.setattr(desk.escalation._outbox, "send", broken)
    assert await desk.escalation.escalate_due() == 1
    assert len(desk.staff.escalated) == 1
    # A minute later (the retry of a failed round) nothing goes out again.
    desk.later(1)
    assert await desk.escalation.escalate_due() == 0
    assert len(desk.staff.escalated) == 1
