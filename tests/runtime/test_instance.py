"""One bot per database: the instance lock beside the database file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime.instance import AlreadyRunningError, InstanceLock


def test_second_instance_on_the_same_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "afterglow.db"
    with InstanceLock(db):
        with pytest.raises(AlreadyRunningError, match="already running"):
            InstanceLock(db).acquire()
        InstanceLock(tmp_path / "other.db").acquire()
    # Released: a new instance may start.
    with InstanceLock(db) as lock:
        assert lock.path.read_text().strip().isdigit()
