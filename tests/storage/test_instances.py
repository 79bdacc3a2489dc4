"""Instances sharing one database: ids, whose claims are whose, and what a death leaves."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.codes import Delivery, DeliveryProblem, InboxClaim, InboxState
from bot.domain.entities import Received
from storage._inbox import MAX_ATTEMPTS as MAX_INBOX_ATTEMPTS
from tests.conftest import STAFF_ID, Domain


async def _three_due(domain: Domain) -> None:
    for n in range(3):
        patient = await domain.enrol(700 + n, time="09:00")
        await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    domain.clock.advance(timedelta(days=1, hours=1))


async def test_every_start_gets_an_id_never_given_before(domain: Domain) -> None:
    now = domain.clock.now()
    ids = [await domain.storage.instances.register(now=now, pid=100 + n) for n in range(4)]
    assert len(set(ids)) == 4
    assert ids == sorted(ids)


async def test_the_caller_is_always_among_the_living(domain: Domain) -> None:
    me = await domain.storage.instances.register(now=domain.clock.now(), pid=1)
    alive = await domain.storage.instances.alive(me)
    assert me in alive
    if domain.storage.database.dialect == "sqlite":
        # One process at a time on SQLite: nobody else can be alive.
        assert alive == {me}


async def test_recovery_flags_only_the_claims_of_instances_not_alive(domain: Domain) -> None:
    await _three_due(domain)
    now = domain.clock.now()
    checkins = domain.storage.checkins
    [mine] = await checkins.claim_due(now, limit=1, by=1)
    [theirs] = await checkins.claim_due(now, limit=1, by=2)
    [nobodys] = await checkins.claim_due(now, limit=1)

    assert await checkins.recover_unconfirmed(alive={1, 2}) == 1
    flagged = await checkins.get(nobodys.checkin.id)
    assert flagged is not None
    assert flagged.delivery is Delivery.UNCERTAIN

    assert await checkins.recover_unconfirmed(alive={1, 2}) == 0
    assert await checkins.recover_unconfirmed(alive={1}) == 1
    for item, expected in ((mine, Delivery.UNCONFIRMED), (theirs, Delivery.UNCERTAIN)):
        row = await checkins.get(item.checkin.id)
        assert row is not None
        assert row.delivery is expected, item
    gone = await checkins.get(theirs.checkin.id)
    assert gone is not None
    assert gone.last_error is DeliveryProblem.PROCESS_STOPPED
    # A confirmation still lands on the live instance's own claim.
    await checkins.confirm_sent(mine.checkin.id, message_id=9)
    assert await checkins.recover_unconfirmed(alive={3}) == 0


async def test_without_the_living_every_unconfirmed_send_is_flagged(domain: Domain) -> None:
    await _three_due(domain)
    claimed = await domain.storage.checkins.claim_due(domain.clock.now(), limit=3, by=5)
    assert len(claimed) == 3
    assert await domain.storage.checkins.recover_unconfirmed() == 3


async def test_an_extra_check_in_is_claimed_by_its_instance(domain: Domain) -> None:
    patient = await domain.enrol(710)
    extra = await domain.storage.checkins.create_extra(
        patient.id, now=domain.clock.now(), update_id=None, by=4
    )
    assert extra is not None
    assert await domain.storage.checkins.recover_unconfirmed(alive={4}) == 0
    assert await domain.storage.checkins.recover_unconfirmed(alive={5}) == 1


def _update(update_id: int) -> Received:
    return Received(update_id, 111, f'{{"update_id": {update_id}}}', urgent=False)


async def test_an_update_is_handled_by_one_instance_only(domain: Domain) -> None:
    inbox = domain.storage.inbox
    await inbox.store([_update(1)], now=domain.clock.now(), by=1)
    # Redelivered to a second instance: stored once, and the first to begin takes it.
    await inbox.store([_update(1)], now=domain.clock.now(), by=2)
    assert await inbox.begin(1, by=2) is InboxClaim.HANDLE
    assert await inbox.begin(1, by=1) is InboxClaim.ELSEWHERE
    await inbox.finish(1, state=InboxState.DONE, now=domain.clock.now())
    assert await inbox.begin(1, by=2) is InboxClaim.ELSEWHERE


async def test_a_dead_instances_updates_are_adopted_and_a_live_ones_are_not(
    domain: Domain,
) -> None:
    inbox = domain.storage.inbox
    now = domain.clock.now()
    await inbox.store([_update(10), _update(11)], now=now, by=1)
    await inbox.store([_update(12)], now=now, by=2)
    assert await inbox.begin(11, by=1) is InboxClaim.HANDLE
    # Instance 1 is alive: nothing of its own is taken, received or being handled.
    assert await inbox.adopt(by=3, alive={1, 2, 3}) == []
    # Instance 2 died: its update passes to 3, and only to 3.
    adopted = await inbox.adopt(by=3, alive={1, 3})
    assert [item.update_id for item in adopted] == [12]
    assert await inbox.adopt(by=4, alive={1, 3, 4}) == []
    assert await inbox.begin(12, by=3) is InboxClaim.HANDLE
    # Instance 1 died too, mid-handling: both of its updates pass on, oldest first.
    adopted = await inbox.adopt(by=3, alive={3})
    assert [item.update_id for item in adopted] == [10, 11]
    assert await inbox.begin(11, by=3) is InboxClaim.HANDLE


async def test_updates_from_before_instances_are_anybodys(domain: Domain) -> None:
    inbox = domain.storage.inbox
    await inbox.store([_update(20)], now=domain.clock.now())
    assert [item.update_id for item in await inbox.adopt(by=7, alive={7})] == [20]


async def test_an_update_started_too_often_is_given_up(domain: Domain) -> None:
    inbox = domain.storage.inbox
    await inbox.store([_update(30)], now=domain.clock.now(), by=1)
    claims = [await inbox.begin(30, by=1) for _ in range(MAX_INBOX_ATTEMPTS + 1)]
    assert claims == [InboxClaim.HANDLE] * MAX_INBOX_ATTEMPTS + [InboxClaim.GIVE_UP]
