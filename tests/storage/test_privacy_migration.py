"""Migration 0014: consent given before versions were kept is 'legacy'; deleted rows hold no id."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from storage import Storage
from storage._database import migrations
from tests.storage.test_migrations import T0, database_at

DATA_RIGHTS = next(step.version for step in migrations() if step.name == "data_rights")


async def test_consent_before_versions_is_legacy_and_pending_consent_is_none(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    database_at(path, DATA_RIGHTS - 1)
    with closing(sqlite3.connect(path)) as conn:
        conn.executemany(
            "INSERT INTO patients (id, code, status, telegram_user_id, chat_id, timezone,"
            " consent_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, 'UTC', ?, ?, 1)",
            [
                (1, "P-AAAA", "active", 11, 11, T0, T0),
                (2, "P-BBBB", "consent_pending", 12, 12, None, T0),
                (3, "P-CCCC", "stopped", 13, 13, T0, T0),
            ],
        )
        conn.commit()

    storage = await Storage.open(path)
    try:
        versions = [(await storage.patients.get(patient_id)) for patient_id in (1, 2, 3)]
        assert [p.consent_version if p else "missing" for p in versions] == [
            "legacy",
            None,
            "legacy",
        ]
        assert all(p is not None and p.deleted_at is None for p in versions)
    finally:
        await storage.close()


async def test_a_deleted_row_cannot_keep_a_telegram_identity(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "afterglow.db")
    try:
        await storage.database.write_one(
            "INSERT INTO patients (id, code, status, telegram_user_id, chat_id, timezone,"
            " created_at, created_by) VALUES (1, 'P-AAAA', 'active', 11, 11, 'UTC', ?, 1)",
            (T0,),
        )
        for sql in (
            "UPDATE patients SET deleted_at = ? WHERE id = 1",
            "UPDATE patients SET deleted_at = ?, status = 'stopped', telegram_user_id = NULL,"
            " chat_id = NULL WHERE id = 1 AND label = 'never'",
            "UPDATE patients SET deleted_at = ?, status = 'stopped', chat_id = NULL WHERE id = 1",
        ):
            try:
                await storage.database.write_one(sql, (T0,))
            except sqlite3.IntegrityError:
                continue
            patient = await storage.patients.get(1)
            assert patient is not None
            assert patient.deleted_at is None, sql
        await storage.database.write_one(
            "UPDATE patients SET deleted_at = ?, status = 'stopped', telegram_user_id = NULL,"
            " chat_id = NULL WHERE id = 1",
            (T0,),
        )
        with pytest.raises(sqlite3.IntegrityError):
            await storage.database.write_one(
                "UPDATE patients SET telegram_user_id = 11 WHERE id = 1"
            )
    finally:
        await storage.close()
