"""Automatic backups: a verified online copy of the database a day, the newest few kept.

Each copy is `afterglow-YYYYMMDDTHHMMSSZ.db` in AFTERGLOW_BACKUP_DIR, written by
`storage.backup_database` (SQLite's online backup API, `PRAGMA integrity_check` on the copy,
a temporary name renamed into place, so a half-written file never carries the name). The job
looks every hour whether the newest copy is a day old, so restarts neither skip a day nor
add copies. Only files with that exact name pattern are ever deleted.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.clock import Clock
from bot.domain.errors import AfterglowError
from storage import backup_database

log = logging.getLogger(__name__)

BACKUP_EVERY = timedelta(days=1)
CHECK_EVERY = timedelta(hours=1)
# A copy made a few minutes later than a day ago still counts as today's.
_SLACK = timedelta(minutes=5)
_NAME = re.compile(r"afterglow-(\d{8}T\d{6}Z)\.db")
_STAMP = "%Y%m%dT%H%M%SZ"


def backup_name(moment: datetime) -> str:
    """Return the file name of the copy made at `moment`."""
    return f"afterglow-{moment.astimezone(UTC).strftime(_STAMP)}.db"


class Backups:
    """The copies in one folder: when the next is due, making it, and keeping the newest."""

    def __init__(self, database: Path, folder: Path, *, keep: int, clock: Clock) -> None:
        if keep < 1:
            raise ValueError("keep at least one copy")
        self.database = database
        self.folder = folder
        self.keep = keep
        self._clock = clock

    def copies(self) -> list[tuple[datetime, Path]]:
        """Return the copies in the folder, oldest first."""
        if not self.folder.is_dir():
            return []
        found: list[tuple[datetime, Path]] = []
        for path in self.folder.iterdir():
            match = _NAME.fullmatch(path.name)
            if match is None or not path.is_file():
                continue
            moment = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
            found.append((moment, path))
        return sorted(found)

    def due(self) -> bool:
        """Tell whether the newest copy is a day old (or there is none)."""
        copies = self.copies()
        if not copies:
            return True
        return self._clock.now() - copies[-1][0] >= BACKUP_EVERY - _SLACK

    def make(self) -> Path:
        """Write a copy now and drop the oldest beyond `keep`; return the new copy."""
        self.folder.mkdir(exist_ok=True)
        target = self.folder / backup_name(self._clock.now())
        pages = backup_database(self.database, target)
        removed = self.rotate()
        log.info("backup.done file=%s pages=%d removed=%d", target.name, pages, len(removed))
        return target

    def rotate(self) -> list[Path]:
        """Delete the oldest copies beyond `keep`; return what was deleted."""
        copies = self.copies()
        doomed = [path for _, path in copies[: max(0, len(copies) - self.keep)]]
        for path in doomed:
            path.unlink(missing_ok=True)
        return doomed

    async def run_if_due(self) -> Path | None:
        """Make a copy if one is due (in a thread: the copy takes a while); log failures."""
        if not self.due():
            return None
        try:
            return await asyncio.to_thread(self.make)
        except (AfterglowError, OSError) as err:
            log.error("backup.failed error=%s", err)
            return None
