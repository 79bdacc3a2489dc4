"""Automatic backups with a manual clock: one a day, verified, the newest few kept."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.clock import ManualClock
from bot.runtime.backups import Backups, backup_name
from storage import Storage
from tests.conftest import START


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.fixture
def database(storage: Storage) -> Path:
    return storage.database.path


async def test_one_copy_a_day_and_only_the_newest_are_kept(
    database: Path, tmp_path: Path, clock: ManualClock
) -> None:
    folder = tmp_path / "backups"
    backups = Backups(database, folder, keep=3, clock=clock)
    made = []
    for _day in range(5):
        made.append(await backups.run_if_due())
        clock.advance(timedelta(hours=1))
        assert await backups.run_if_due() is None  # not due again within the day
        clock.advance(timedelta(hours=23))

    assert all(path is not None for path in made)
    kept = sorted(path.name for path in folder.iterdir())
    expected = [backup_name(START + timedelta(days=day)) for day in (2, 3, 4)]
    assert kept == expected
    assert all(integrity(folder / name) == "ok" for name in kept)


async def test_a_restart_neither_skips_a_day_nor_adds_a_copy(
    database: Path, tmp_path: Path, clock: ManualClock
) -> None:
    folder = tmp_path / "backups"
    assert await Backups(database, folder, keep=7, clock=clock).run_if_due() is not None
    clock.advance(timedelta(hours=5))
    restarted = Backups(database, folder, keep=7, clock=clock)
    assert not restarted.due()
    # Checked hourly, a copy made a few minutes late the day before still counts.
    clock.advance(timedelta(hours=18, minutes=58))
    assert restarted.due()


async def test_other_files_in_the_folder_are_never_deleted(
    database: Path, tmp_path: Path, clock: ManualClock
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    mine = [folder / "afterglow-manual.db", folder / "notes.txt", folder / "afterglow.db"]
    for path in mine:
        path.write_text("keep me", encoding="utf-8")
    backups = Backups(database, folder, keep=1, clock=clock)
    for _day in range(3):
        await backups.run_if_due()
        clock.advance(timedelta(days=1))

    assert all(path.read_text(encoding="utf-8") == "keep me" for path in mine)
    assert len(backups.copies()) == 1


async def test_a_failed_backup_is_one_log_line_and_leaves_nothing(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    corrupt = tmp_path / "afterglow.db"
    corrupt.write_bytes(b"not a database at all " * 200)
    folder = tmp_path / "backups"
    backups = Backups(corrupt, folder, keep=3, clock=clock)

    with caplog.at_level(logging.INFO, logger="bot.runtime.backups"):
        assert await backups.run_if_due() is None

    failures = [r for r in caplog.records if r.getMessage().startswith("backup.failed")]
    assert len(failures) == 1
    assert "not a database" in failures[0].getMessage()
    assert list(folder.iterdir()) == []
    assert backups.due()


def test_keeping_no_copy_is_refused(tmp_path: Path, clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="at least one"):
        Backups(tmp_path / "a.db", tmp_path, keep=0, clock=clock)
