"""Online backups while the bot writes, and a read-only look at a database file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import Storage, open_storage
from tests.conftest import STAFF_ID, Domain


@pytest.fixture
def backend() -> str:
    """SQLite's online backup and integrity check: these run on SQLite only."""
    return "sqlite"


async def test_backup_while_writing_is_consistent(domain: Domain, tmp_path: Path) -> None:
    storage = domain.storage
    committed: list[str] = []
    stop = asyncio.Event()

    async def writer() -> None:
        n = 0
        while not stop.is_set() and n < 400:
            invitation = await domain.enrolment.invite(
                staff_id=STAFF_ID, label=f"w{n}", update_id=10_000 + n
            )
            assert invitation is not None
            committed.append(invitation.patient.code)
            n += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.05)
    target = tmp_path / "backup.db"
    seen_at_backup = list(committed)
    await storage.database.backup(target)
    stop.set()
    await task

    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        codes = {row[0] for row in conn.execute("SELECT code FROM patients")}
    # Every patient committed before the backup began is in it, and nothing half-written is.
    assert set(seen_at_backup) <= codes
    assert codes <= set(committed)
    async with open_storage(target) as copy:
        assert await copy.database.integrity_check() == "ok"
        assert await copy.database.schema_version() >= 3


async def test_schema_version_and_integrity(storage: Storage) -> None:
    assert await storage.database.integrity_check() == "ok"
    assert await storage.database.schema_version() >= 3
