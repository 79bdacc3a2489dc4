"""Storage on a real SQLite file: schema, pragmas, transactions, idempotency, crash safety."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy.exc

from bot.domain.codes import AnswerOutcome, CheckinState, PatientStatus, RedeemOutcome
from bot.services.enrolment import hash_token
from storage import SchemaError, Storage, latest_schema_version
from tests.conftest import STAFF_ID, Domain, no_ack


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_migrations_are_recorded_and_pragmas_set(storage: Storage) -> None:
    path = storage.database.path
    with sqlite3.connect(path) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == list(range(1, latest_schema_version() + 1))
    assert mode == "wal"
    row = await storage.database.fetch_one("PRAGMA foreign_keys")
    assert row is not None
    assert row[0] == 1


async def test_reopening_does_not_reapply_migrations(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    for _ in range(2):
        opened = await Storage.open(path)
        await opened.close()
    with sqlite3.connect(path) as conn:
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert count == latest_schema_version()


async def test_a_newer_schema_refuses_to_open(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    opened = await Storage.open(path)
    await opened.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    with pytest.raises(SchemaError, match="newer"):
        await Storage.open(path)


async def test_foreign_keys_are_enforced(storage: Storage) -> None:
    async def orphan() -> None:
        async with storage.database.write() as conn:
            await conn.execute(
                "INSERT INTO infusions (patient_id, given_at, recorded_at, recorded_by)"
                " VALUES (424242, 0, 0, 1)"
            )

    with pytest.raises((sqlite3.IntegrityError, sqlalchemy.exc.IntegrityError)):
        await orphan()


async def test_failed_write_rolls_back_everything(domain: Domain) -> None:
    patient = await domain.enrol(1)

    async def change_then_fail() -> None:
        async with domain.storage.database.write() as conn:
            await conn.execute("UPDATE patients SET label = 'changed' WHERE id = ?", (patient.id,))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await change_then_fail()
    again = await domain.storage.patients.get(patient.id)
    assert again is not None
    assert again.label is None


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
async def test_a_write_cancelled_anywhere_leaves_later_writes_committed(
    tmp_path: Path, steps: int
) -> None:
    """Cancelling a writer mid-transaction never leaves the connection inside it."""
    path = tmp_path / "afterglow.db"
    storage = await Storage.open(path)

    async def writer() -> None:
        async with storage.database.write() as conn:
            await conn.execute("INSERT INTO clinic_values VALUES ('cancelled', '1')")
            await asyncio.sleep(10)

    task = asyncio.create_task(writer())
    for _ in range(steps):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await storage.clinic.set_value("after", "2")
    async with storage.database.write() as conn:
        await conn.execute("INSERT INTO clinic_values VALUES ('block', '3')")
    await storage.close()

    reopened = await Storage.open(path)
    try:
        assert await reopened.clinic.value("cancelled") is None
        assert await reopened.clinic.value("after") == "2"
        assert await reopened.clinic.value("block") == "3"
    finally:
        await reopened.close()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_transaction_that_already_ended_does_not_hide_the_error(
    storage: Storage,
) -> None:
    """SQLite can end a transaction itself (a full disk): the caller still sees its error."""

    async def ended_then_failed() -> None:
        async with storage.database.write() as conn:
            await conn.execute("ROLLBACK")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        await ended_then_failed()
    await storage.clinic.set_value("after", "1")
    assert await storage.clinic.value("after") == "1"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_only_the_token_hash_is_stored(domain: Domain) -> None:
    invitation = await domain.enrolment.invite(staff_id=STAFF_ID, label="room 4", update_id=1)
    assert invitation is not None
    await domain.storage.close()
    raw = b"".join(
        p.read_bytes()
        for p in domain.storage.database.path.parent.iterdir()
        if p.name.startswith("afterglow.db")
    )
    assert invitation.token.encode() not in raw
    assert hash_token(invitation.token).encode() in raw


async def test_invite_update_is_idempotent(domain: Domain) -> None:
    first = await domain.enrolment.invite(staff_id=STAFF_ID, label=None, update_id=77)
    second = await domain.enrolment.invite(staff_id=STAFF_ID, label=None, update_id=77)
    assert first is not None
    assert second is None
    assert len(await domain.storage.patients.overview()) == 1


async def test_redeem_outcomes(domain: Domain) -> None:
    invitation = await domain.enrolment.invite(staff_id=STAFF_ID, label=None, update_id=None)
    assert invitation is not None
    enrol = domain.enrolment

    unknown = await enrol.redeem(payload="A" * 43, user_id=5, chat_id=5)
    assert unknown.outcome is RedeemOutcome.UNKNOWN
    malformed = await enrol.redeem(payload="bad token!", user_id=5, chat_id=5)
    assert malformed.outcome is RedeemOutcome.UNKNOWN

    ok = await enrol.redeem(payload=invitation.token, user_id=5, chat_id=5)
    assert ok.outcome is RedeemOutcome.ENROLLED
    assert ok.patient is not None
    assert ok.patient.status is PatientStatus.CONSENT_PENDING

    reused = await enrol.redeem(payload=invitation.token, user_id=6, chat_id=6)
    assert reused.outcome is RedeemOutcome.USED
    assert await domain.storage.patients.by_user(6) is None

    other = await enrol.invite(staff_id=STAFF_ID, label=None, update_id=None)
    assert other is not None
    elsewhere = await enrol.redeem(payload=other.token, user_id=5, chat_id=5)
    assert elsewhere.outcome is RedeemOutcome.ALREADY_ENROLLED
    still_open = await domain.storage.patients.by_code(other.patient.code)
    assert still_open is not None
    assert still_open.status is PatientStatus.INVITED
    assert still_open.telegram_user_id is None


async def test_expired_invitation_binds_nothing(domain: Domain) -> None:
    invitation = await domain.enrolment.invite(staff_id=STAFF_ID, label=None, update_id=None)
    assert invitation is not None
    domain.clock.advance(timedelta(days=7))
    result = await domain.enrolment.redeem(payload=invitation.token, user_id=5, chat_id=5)
    assert result.outcome is RedeemOutcome.EXPIRED
    assert await domain.storage.patients.by_user(5) is None


async def test_concurrent_writers_never_see_database_is_locked(domain: Domain) -> None:
    patients = [await domain.enrol(user) for user in range(1, 21)]
    for patient in patients:
        await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)

    async def busy(user: int) -> None:
        patient = patients[user - 1]
        for n in range(10):
            extra = await domain.storage.checkins.create_extra(
                patient.id, now=domain.clock.now(), update_id=user * 1000 + n
            )
            assert extra is not None
            result = await domain.checkins.answer_button(
                acknowledge=no_ack,
                user_id=user,
                checkin_id=extra.id,
                score=n,
                update_id=user * 1000 + n,
            )
            assert result.outcome is AnswerOutcome.STORED
            await domain.checkins.handle_text(
                acknowledge=no_ack, user_id=user, text=f"note {n}", update_id=user * 100000 + n
            )

    await asyncio.gather(*(busy(user) for user in range(1, 21)))
    for patient in patients:
        rows = await domain.storage.checkins.for_patient(patient.id)
        assert sum(1 for c in rows if c.state is CheckinState.ANSWERED) == 10
        assert len(await domain.storage.answers.notes_for_patient(patient.id)) == 10


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from storage import Storage

    async def main() -> None:
        storage = await Storage.open(Path(sys.argv[1]))
        n = 0
        while True:
            async with storage.database.write() as conn:
                await conn.execute(
                    "INSERT INTO patients (code, status, timezone, created_at, created_by)"
                    " VALUES (?, 'invited', 'UTC', 0, 1)", (f"P-{n:08d}",))
            n += 1
            if n == 50:
                print("ready", flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_database_survives_a_kill_mid_write(tmp_path: Path) -> None:
    """Promise 8: a process killed while writing leaves a consistent database."""
    path = tmp_path / "crash.db"
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, env={**os.environ}
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"ready"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = conn.execute("SELECT count(*) FROM patients").fetchone()[0]
    assert count >= 50
