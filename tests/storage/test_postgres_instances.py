"""Several instances on one PostgreSQL: disjoint claims, serialised writes, the leader lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.domain.codes import CheckinState, Delivery
from bot.services.care import CareService
from bot.services.dispatcher import RECOVER_EVERY, Dispatcher
from bot.services.silence import SilenceService
from storage import (
    LEADER_LOCK,
    LeaderLock,
    PostgresDatabase,
    Storage,
    instance_lock_key,
    latest_schema_version,
)
from storage._instances import STALE_AFTER
from tests.conftest import CLINIC_TZ, STAFF_ID, WORDING, Domain, alert_service
from tests.postgres import admin_url, fresh_database

SECOND = timedelta(seconds=1)
# Keys of their own, so these tests never meet a running bot's lock.
TEST_LOCK = LEADER_LOCK + 1000


@pytest.fixture
def backend() -> str:
    """What only PostgreSQL offers: these run on PostgreSQL only."""
    return "postgresql"


@pytest.fixture
async def second(domain: Domain) -> AsyncIterator[Storage]:
    """A second instance's storage: its own pool on the same database."""
    database = domain.storage.database
    assert isinstance(database, PostgresDatabase)
    other = PostgresDatabase(database.url)
    await other.open()
    try:
        yield Storage.over(other)
    finally:
        await other.close()


async def _due_ids(storage: Storage, domain: Domain) -> set[int]:
    rows = await storage.database.fetch_all(
        "SELECT c.id FROM checkins c JOIN patients p ON p.id = c.patient_id"
        " WHERE c.state = 'pending' AND c.due_at <= ? AND p.status = 'active'",
        (int(domain.clock.now().timestamp()),),
    )
    return {int(row[0]) for row in rows}


async def test_two_dispatchers_never_claim_the_same_check_in(
    domain: Domain, second: Storage
) -> None:
    patients = [await domain.enrol(500 + n, time="09:00") for n in range(12)]
    for patient in patients:
        await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    claimed: list[int] = []
    for days in (1, 3, 8, 15, 29):
        domain.clock.advance(timedelta(days=days))
        now = domain.clock.now()
        expected = await _due_ids(domain.storage, domain)
        this_round: list[int] = []
        for _ in range(100):
            first, other = await asyncio.gather(
                domain.storage.checkins.claim_due(now, limit=3),
                second.checkins.claim_due(now, limit=3),
            )
            if not first and not other:
                break
            this_round += [item.checkin.id for item in (*first, *other)]
        assert len(this_round) == len(set(this_round)), "a check-in was claimed twice"
        assert set(this_round) == expected
        claimed += this_round
    assert len(claimed) == len(set(claimed))
    assert len(claimed) >= 12


async def test_writes_from_two_instances_are_serialised(domain: Domain, second: Storage) -> None:
    """Two instances recording the same patient's infusion at once leave one plan, not two."""
    patient = await domain.enrol(600, time="09:00")
    domain.clock.advance(timedelta(hours=1))
    other_care = CareService(
        second,
        domain.clock,
        protocol=domain.protocol,
        timezone=CLINIC_TZ,
        silence=SilenceService(
            second,
            domain.clock,
            alerts=alert_service(second, domain.clock),
            wording=WORDING,
            pause_alert_after=domain.protocol.pause_alert_after,
        ),
    )
    results = await asyncio.gather(
        *(
            care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
            for care in (domain.care, other_care, domain.care, other_care)
        ),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    pending = await domain.storage.checkins.pending_planned(patient.id)
    days = [checkin.day for checkin, _ in pending]
    assert len(days) == len(set(days)), "two plans for one infusion time"


async def test_a_cancelled_write_leaves_the_lock_free_and_commits_nothing(
    domain: Domain, second: Storage
) -> None:
    async def writer() -> None:
        async with domain.storage.database.write() as conn:
            await conn.execute("INSERT INTO clinic_values VALUES ('cancelled', '1')")
            await asyncio.sleep(30)

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Both instances can write at once again: the advisory lock went with the transaction.
    await asyncio.wait_for(second.clinic.set_value("after", "2"), timeout=10)
    await asyncio.wait_for(domain.storage.clinic.set_value("also", "3"), timeout=10)
    assert await second.clinic.value("cancelled") is None
    assert await second.clinic.value("after") == "2"
    assert await domain.storage.clinic.value("also") == "3"


async def test_instances_starting_together_migrate_once() -> None:
    async with fresh_database(migrated=False) as url:
        databases = [PostgresDatabase(url) for _ in range(3)]
        await asyncio.gather(*(database.open() for database in databases))
        try:
            rows = await databases[0].fetch_all(
                "SELECT version, count(*) FROM schema_migrations GROUP BY version"
            )
            assert {int(row[0]): int(row[1]) for row in rows} == {
                v: 1 for v in range(1, latest_schema_version() + 1)
            }
        finally:
            await asyncio.gather(*(database.close() for database in databases))


async def _holder_pid(key: int) -> int:
    engine = create_async_engine(PostgresDatabase(admin_url()).url)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND ((classid::bigint << 32) | objid::bigint) = :k"
                ),
                {"k": key},
            )
            return int(found.scalar_one())
    finally:
        await engine.dispose()


async def _terminate(pid: int) -> None:
    engine = create_async_engine(PostgresDatabase(admin_url()).url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    finally:
        await engine.dispose()


async def test_the_leader_lock_passes_to_a_standby_on_release_and_on_death() -> None:
    async with fresh_database() as url:
        leader = LeaderLock(url, TEST_LOCK, poll=0.05)
        standby = LeaderLock(url, TEST_LOCK, poll=0.05)
        third = LeaderLock(url, TEST_LOCK, poll=0.05)
        try:
            async with asyncio.timeout(60):
                await _hand_over(leader, standby, third)
        finally:
            for lock in (leader, standby, third):
                await lock.release()


async def _hand_over(leader: LeaderLock, standby: LeaderLock, third: LeaderLock) -> None:
    assert await leader.try_acquire()
    assert not await standby.try_acquire()
    waiting = asyncio.create_task(standby.acquire())
    await asyncio.sleep(0.3)
    assert not waiting.done(), "a standby took a lock that was held"
    await leader.release()
    await asyncio.wait_for(waiting, timeout=5)
    assert standby.held
    assert not leader.held

    # The holder's connection dies (as when its process is killed): the lock is free
    # for the next standby, and the old holder learns it lost it.
    waiting = asyncio.create_task(third.acquire())
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await _terminate(await _holder_pid(TEST_LOCK))
    await asyncio.wait_for(waiting, timeout=5)
    await asyncio.wait_for(standby.lost.wait(), timeout=5)
    assert third.held
    assert not standby.held


async def test_every_statement_is_planned_for_its_values(domain: Domain) -> None:
    """No generic plans: one made without the values scanned every check-in when none was due."""
    for _ in range(8):
        await domain.storage.checkins.has_work(domain.clock.now(), timedelta(hours=24))
    row = await domain.storage.database.fetch_one("SELECT current_setting('plan_cache_mode')")
    assert row is not None
    assert row[0] == "force_custom_plan"


async def test_an_instance_is_alive_while_its_liveness_lock_is_held(
    domain: Domain, second: Storage
) -> None:
    database = domain.storage.database
    assert isinstance(database, PostgresDatabase)
    me = await domain.storage.instances.register(now=domain.clock.now(), pid=1)
    other = await second.instances.register(now=domain.clock.now(), pid=2)
    third = await second.instances.register(now=domain.clock.now(), pid=3)
    locks = [LeaderLock(database.url, instance_lock_key(n), poll=0.05) for n in (other, third)]
    try:
        for lock in locks:
            assert await lock.try_acquire()
        assert {other, third} <= await domain.storage.instances.alive(me)
        # One released, one killed (its connection ended by the server): both are dead.
        await locks[0].release()
        await _terminate(await _holder_pid(instance_lock_key(third)))
        await asyncio.wait_for(locks[1].lost.wait(), timeout=5)
        alive = await domain.storage.instances.alive(me)
        assert other not in alive
        assert third not in alive
        assert me in alive
    finally:
        for lock in locks:
            await lock.release()


async def test_a_dispatcher_flags_the_sends_of_an_instance_that_died_meanwhile(
    domain: Domain, second: Storage
) -> None:
    database = domain.storage.database
    assert isinstance(database, PostgresDatabase)
    patients = [await domain.enrol(800 + n, time="09:00") for n in range(2)]
    for patient in patients:
        await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    domain.clock.advance(timedelta(days=1, hours=1))
    me = await domain.storage.instances.register(now=domain.clock.now(), pid=1)
    other = await second.instances.register(now=domain.clock.now(), pid=2)
    lock = LeaderLock(database.url, instance_lock_key(other), poll=0.05)
    dispatcher = Dispatcher(
        domain.storage, domain.clock, domain.sender, protocol=domain.protocol, instance=me
    )
    try:
        assert await lock.try_acquire()
        [theirs] = await second.checkins.claim_due(domain.clock.now(), limit=1, by=other)
        await dispatcher.tick()
        row = await domain.storage.checkins.get(theirs.checkin.id)
        assert row is not None
        assert row.delivery is Delivery.UNCONFIRMED, "a live instance's send was taken over"

        await lock.release()
        # Within a minute of the death, not at every pass.
        domain.clock.advance(RECOVER_EVERY / 2)
        await dispatcher.tick()
        row = await domain.storage.checkins.get(theirs.checkin.id)
        assert row is not None
        assert row.delivery is Delivery.UNCONFIRMED
        domain.clock.advance(RECOVER_EVERY / 2)
        await dispatcher.tick()
        row = await domain.storage.checkins.get(theirs.checkin.id)
        assert row is not None
        assert row.delivery is Delivery.UNCERTAIN
        assert row.state is CheckinState.SENT
    finally:
        await lock.release()


async def test_an_instance_that_holds_its_lock_but_stopped_working_is_dead(
    domain: Domain, second: Storage
) -> None:
    """A hung process keeps its connection, and so its lock: its last sign of work tells."""
    database = domain.storage.database
    assert isinstance(database, PostgresDatabase)
    now = domain.clock.now()
    me = await domain.storage.instances.register(now=now, pid=1)
    hung = await second.instances.register(now=now, pid=2)
    lock = LeaderLock(database.url, instance_lock_key(hung), poll=0.05)
    try:
        assert await lock.try_acquire()
        later = now + STALE_AFTER
        assert hung in await domain.storage.instances.alive(me, now=later)
        await domain.storage.instances.seen(me, now=later)
        assert hung not in await domain.storage.instances.alive(me, now=later + SECOND)
        # Seen working again: alive again.
        await second.instances.seen(hung, now=later + SECOND)
        assert hung in await domain.storage.instances.alive(me, now=later + SECOND)
    finally:
        await lock.release()
