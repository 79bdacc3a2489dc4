"""/stats figures on a known history, in a real database."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.codes import AlertKind, CheckinState
from bot.services.stats import StatsService
from tests.conftest import STAFF_ID, Domain, alert_service


async def test_stats_on_a_known_history(domain: Domain) -> None:
    clock = domain.clock
    alerts = alert_service(domain.storage, clock)
    alice = await domain.enrol(1)
    bob = await domain.enrol(2)
    # Outside the window: raised 31 days before the figures are read.
    old = await alerts.raise_plain(alice, kind=AlertKind.STOPPED, text="old", event_key="old")
    assert old is not None
    await alerts.deliver()
    clock.advance(timedelta(days=1))
    waits = [5, 10, 45]
    for index, wait in enumerate(waits):
        alert = await alerts.raise_plain(
            bob,
            kind=AlertKind.DECLINE if index else AlertKind.BACK,
            text=f"a{index}",
            event_key=f"k{index}",
        )
        assert alert is not None
        await alerts.deliver()
        clock.advance(timedelta(minutes=wait))
        await alerts.acknowledge(alert.id, staff_id=STAFF_ID)
        if index == 2:
            clock.advance(timedelta(hours=2))
            await alerts.resolve(alert.id, staff_id=STAFF_ID)
    await alerts.raise_urgent(alice, text="URGENT")
    # Check-ins: alice answers two and misses one; bob's are left open.
    await domain.care.record_infusion(args=[alice.code], staff_id=STAFF_ID, update_id=None)
    for score in (7, 6):
        checkin_id = await domain.send_next(alice.id)
        await domain.storage.answers.answer(
            checkin_id, user_id=1, score=score, now=clock.now(), update_id=None
        )
    missed = await domain.send_next(alice.id)
    clock.advance(domain.protocol.answer_window + timedelta(minutes=1))
    await domain.storage.checkins.housekeeping(
        clock.now(),
        send_window=domain.protocol.send_window,
        answer_window=domain.protocol.answer_window,
    )
    closed = await domain.storage.checkins.get(missed)
    assert closed is not None
    assert closed.state is CheckinState.MISSED
    assert clock.now() < old.created_at + timedelta(days=29)
    clock.set(old.created_at + timedelta(days=30, minutes=1))

    figures = await StatsService(domain.storage, clock).last_days()

    assert dict(figures.by_kind) == {
        AlertKind.DECLINE: 2,
        AlertKind.BACK: 1,
        AlertKind.CRISIS: 1,
    }
    assert figures.to_acknowledge.count == 3
    assert figures.to_acknowledge.median == timedelta(minutes=10)
    assert figures.to_acknowledge.p90 == timedelta(minutes=45)
    assert figures.to_resolve.count == 1
    assert figures.to_resolve.median == timedelta(minutes=165)
    # The crisis alert is not acknowledged yet.
    assert figures.unacknowledged == 1
    assert (figures.active_patients, figures.answering_patients) == (2, 1)
    assert figures.checkins.answered == 2
    assert figures.checkins.missed == 1
    assert figures.checkins.answered_share == 2 / 3
