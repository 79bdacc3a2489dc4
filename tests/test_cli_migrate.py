"""`afterglow migrate-to-postgres`: its output, and one line on stderr for every failure.

The command runs in process (`bot.cli.main`) on a worker thread, since it runs its own
event loop; the PostgreSQL databases and the fake server live on the test's loop. Every
URL carries a password, which must never be printed.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing, suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.domain.codes import AuditAction, Urgency
from storage import Storage, latest_schema_version
from storage._database import migrations
from tests.postgres import admin_url, fresh_database

PASSWORD = "s3cretpw"
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run where no .env is, with no database settings from the caller's environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AFTERGLOW_DB", raising=False)
    monkeypatch.delenv("AFTERGLOW_DATABASE_URL", raising=False)


def with_password(url: str, database: str | None = None) -> str:
    """The URL with PASSWORD in it (the test cluster trusts every local connection)."""
    parsed = make_url(url).set(password=PASSWORD)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def source_database(path: Path) -> Path:
    """A current Afterglow SQLite file with a few rows."""
    storage = await Storage.open(path)
    try:
        await storage.clinic.set_value("staff_chat", "-100")
        for actor in (1, 2):
            await storage.clinic.audit(
                actor=actor, action=AuditAction.INVITE, now=NOW, patient_id=None, detail=None
            )
        await storage.outbox.add(
            chat_id=5, text="call 988", urgency=Urgency.CRISIS_REPLY, now=NOW, retry_at=NOW
        )
    finally:
        await storage.close()
    return path


async def afterglow(*args: str) -> int:
    return await asyncio.to_thread(main, ["migrate-to-postgres", *args])


def one_error_line(capsys: pytest.CaptureFixture[str], code: int, *, expected: int = 1) -> str:
    captured = capsys.readouterr()
    assert code == expected, captured.err
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert PASSWORD not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("afterglow: ")
    return lines[0]


@pytest.mark.postgres
async def test_the_copy_prints_each_table_and_the_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = await source_database(tmp_path / "afterglow.db")
    async with fresh_database(migrated=False) as url:
        code = await afterglow("--from", str(source), "--to", with_password(url))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert len(lines) == 18
    assert {"clinic_values: 1 rows", "audit_log: 2 rows", "urgent_outbox: 1 rows"} <= set(lines)
    assert "patients: 0 rows" in lines
    assert lines[-1] == "copied 4 rows in 17 tables; row counts verified"
    assert PASSWORD not in captured.out


@pytest.mark.postgres
async def test_the_file_and_url_come_from_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = await source_database(tmp_path / "clinic.db")
    async with fresh_database(migrated=False) as url:
        monkeypatch.setenv("AFTERGLOW_DB", str(source))
        (tmp_path / ".env").write_text(f"AFTERGLOW_DATABASE_URL={with_password(url)}\n")
        code = await afterglow()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.splitlines()[-1] == "copied 4 rows in 17 tables; row counts verified"


async def test_no_target_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = await source_database(tmp_path / "afterglow.db")
    line = one_error_line(capsys, await afterglow("--from", str(source)), expected=2)
    assert line == (
        "afterglow: no PostgreSQL database: give --to URL or set AFTERGLOW_DATABASE_URL"
    )


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (f"mysql://root:{PASSWORD}@db/afterglow", "must start with postgresql://, not mysql://"),
        (f"postgresql://root:{PASSWORD}@db:port/afterglow", "is not a URL of the form"),
        (f"postgresql://root:{PASSWORD}@db:5432", "names no database"),
    ],
)
async def test_a_target_that_is_no_postgres_url_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, said: str
) -> None:
    source = await source_database(tmp_path / "afterglow.db")
    line = one_error_line(capsys, await afterglow("--from", str(source), "--to", url))
    assert line.startswith("afterglow: migration failed: the target URL ")
    assert said in line


def old_database(path: Path) -> Path:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
        )
        for step in migrations()[:3]:
            conn.executescript(
                f"BEGIN;\n{step.sql}\nINSERT INTO schema_migrations (version, name)"
                f" VALUES ({step.version}, '{step.name}');\nCOMMIT;"
            )
    return path


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["missing", "not-sqlite", "too-old", "schema-differs"])
async def test_a_source_that_cannot_be_copied_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = tmp_path / "afterglow.db"
    if kind == "not-sqlite":
        path.write_bytes(b"this is not SQLite " * 300)
    elif kind == "too-old":
        old_database(path)
    elif kind == "schema-differs":
        await source_database(path)
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("ALTER TABLE alerts ADD COLUMN colour TEXT")
    async with fresh_database(migrated=False) as url:
        line = one_error_line(
            capsys, await afterglow("--from", str(path), "--to", with_password(url))
        )
    said = {
        "missing": f"no SQLite database at {path}",
        "not-sqlite": f"{path} is not an SQLite database",
        "too-old": f"{path} is at schema version 3, not {latest_schema_version()}: start",
        "schema-differs": "the schemas differ: column alerts.colour only in the SQLite file",
    }[kind]
    assert line.startswith(f"afterglow: migration failed: {said}")


@pytest.mark.postgres
async def test_a_target_with_rows_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = await source_database(tmp_path / "afterglow.db")
    async with fresh_database(migrated=False) as url:
        assert await afterglow("--from", str(source), "--to", with_password(url)) == 0
        capsys.readouterr()
        line = one_error_line(capsys, await afterglow("--from", str(source), "--to", url))
    assert line == (
        "afterglow: migration failed: the target database is not empty (rows in audit_log,"
        " clinic_values, urgent_outbox); copy into a new, empty database"
    )


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.postgres
async def test_no_such_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = await source_database(tmp_path / "afterglow.db")
    url = with_password(admin_url(), database="nosuchdb")
    line = one_error_line(capsys, await afterglow("--from", str(source), "--to", url))
    hidden = make_url(url).render_as_string(hide_password=True)
    assert line == (
        f"afterglow: migration failed: cannot connect to PostgreSQL at {hidden}:"
        ' database "nosuchdb" does not exist'
    )


async def test_an_unreachable_server_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = await source_database(tmp_path / "afterglow.db")
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/afterglow"
    line = one_error_line(capsys, await afterglow("--from", str(source), "--to", url))
    assert line.startswith(
        "afterglow: migration failed: cannot connect to PostgreSQL at"
        " postgresql://postgres:***@127.0.0.1:"
    )


@asynccontextmanager
async def password_refused() -> AsyncIterator[int]:
    """A server speaking PostgreSQL's protocol just far enough to refuse any password."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length, code = struct.unpack("!ii", await reader.readexactly(8))
                await reader.readexactly(length - 8)
                if code not in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                    break
                writer.write(b"N")
            writer.write(b"R" + struct.pack("!ii", 8, 3))  # send the password in clear
            await writer.drain()
            await reader.readexactly(1)
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            await reader.readexactly(length - 4)
            fields = (
                ("S", "FATAL"),
                ("V", "FATAL"),
                ("C", "28P01"),
                ("M", 'password authentication failed for user "postgres"'),
            )
            body = b"".join(tag.encode() + value.encode() + b"\0" for tag, value in fields)
            writer.write(b"E" + struct.pack("!i", len(body) + 5) + body + b"\0")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


async def test_a_wrong_password_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = await source_database(tmp_path / "afterglow.db")
    async with password_refused() as port:
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/afterglow"
        line = one_error_line(capsys, await afterglow("--from", str(source), "--to", url))
    assert line == (
        "afterglow: migration failed: cannot connect to PostgreSQL at"
        f" postgresql://postgres:***@127.0.0.1:{port}/afterglow:"
        ' password authentication failed for user "postgres"'
    )
