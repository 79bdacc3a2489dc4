"""AFTERGLOW_DATABASE_URL and AFTERGLOW_SEND_RATE: read, refused with one clear line, never
shown with the password; `afterglow check` on PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.runtime.health import run_check
from bot.runtime.settings import DEFAULT_SEND_RATE, ConfigError, load_settings
from storage import LeaderLock, Storage, instance_lock_key
from tests.postgres import fresh_database
from tests.runtime.test_settings import minimal_env

PASSWORD = "s3cret-Pa55word"


@pytest.fixture(autouse=True)
def _in_tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def refused(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    return info.value


def test_without_a_url_the_database_is_the_sqlite_file() -> None:
    settings = load_settings(minimal_env())
    assert settings.database_url is None
    assert settings.database == Path("afterglow.db")
    assert settings.database_shown == "afterglow.db"
    assert settings.send_rate == DEFAULT_SEND_RATE


def test_a_postgresql_url_is_used_and_never_shown_with_its_password() -> None:
    url = f"postgresql://afterglow:{PASSWORD}@db.internal:5432/clinic"
    settings = load_settings({**minimal_env(), "AFTERGLOW_DATABASE_URL": f"  {url} "})
    assert settings.database == url
    assert PASSWORD not in settings.database_shown
    assert "db.internal:5432/clinic" in settings.database_shown
    assert PASSWORD not in repr(settings)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (f"mysql://u:{PASSWORD}@h/db", "must start with postgresql://, not mysql://"),
        (f"postgresql://u:{PASSWORD}@h:notaport/db", "is not a URL of the form"),
        (f"postgresql://u:{PASSWORD}@h/", "names no database"),
        ("just some words", "is not a URL of the form"),
        (f"postgresql://u:{PASSWORD}@[::1/db", "is not a URL of the form"),
    ],
)
def test_a_bad_url_is_refused_in_one_line_without_the_password(raw: str, says: str) -> None:
    err = refused({**minimal_env(), "AFTERGLOW_DATABASE_URL": raw})
    assert err.variable == "AFTERGLOW_DATABASE_URL"
    assert says in err.problem
    assert PASSWORD not in str(err)
    assert "\n" not in str(err)


def test_backups_of_the_file_are_refused_with_postgresql(tmp_path: Path) -> None:
    err = refused(
        {
            **minimal_env(),
            "AFTERGLOW_DATABASE_URL": "postgresql://h/clinic",
            "AFTERGLOW_BACKUP_DIR": str(tmp_path),
        }
    )
    assert err.variable == "AFTERGLOW_BACKUP_DIR"
    assert "pg_dump" in err.problem


@pytest.mark.parametrize("raw", ["0", "0.5", "1001", "fast", "nan", "inf", "-3", "1e9"])
def test_a_send_rate_outside_1_to_1000_is_refused(raw: str) -> None:
    err = refused({**minimal_env(), "AFTERGLOW_SEND_RATE": raw})
    assert err.variable == "AFTERGLOW_SEND_RATE"
    assert "paid broadcasts" in err.problem


@pytest.mark.parametrize(("raw", "rate"), [("1", 1.0), ("28.5", 28.5), (" 1000 ", 1000.0)])
def test_a_send_rate_in_range_is_read(raw: str, rate: float) -> None:
    assert load_settings({**minimal_env(), "AFTERGLOW_SEND_RATE": raw}).send_rate == rate


@pytest.mark.postgres
async def test_check_reads_a_postgresql_database() -> None:
    lines: list[str] = []
    async with fresh_database() as url:
        env = {**minimal_env(), "AFTERGLOW_DATABASE_URL": url}
        # run_check runs its own event loop for the database: off this test's loop.
        code = await asyncio.to_thread(run_check, env, live=False, echo=lines.append)
        storage = await Storage.open(url)
        try:
            running = await storage.instances.register(
                now=datetime.now(UTC), pid=1, host=socket.gethostname()
            )
            liveness = LeaderLock(url, instance_lock_key(running))
            assert await liveness.try_acquire()
            try:
                await asyncio.to_thread(run_check, env, live=True, echo=lines.append)
            finally:
                await liveness.release()
        finally:
            await storage.close()
    assert code == 0, lines
    first, second = [line for line in lines if line.startswith("database:")]
    assert first.startswith("database: ok (schema ")
    assert "0 patients, 0 instance(s) running" in first
    assert "1 instance(s) running" in second
    # The live check judges the instance on this host by its own last sign of work.
    [instance] = [line for line in lines if line.startswith("instance:")]
    assert instance.startswith("instance: ok (this host's instance worked "), instance


def test_check_says_when_postgresql_is_unreachable() -> None:
    lines: list[str] = []
    env = {
        **minimal_env(),
        "AFTERGLOW_DATABASE_URL": f"postgresql://u:{PASSWORD}@127.0.0.1:9/clinic",
    }
    code = run_check(env, live=False, echo=lines.append)
    assert code == 1
    [database] = [line for line in lines if line.startswith("database:")]
    assert database.startswith("database: ERROR PostgreSQL unreachable")
    assert all(PASSWORD not in line for line in lines)
