"""The `afterglow` command's errors (run, backup) as processes, and the token-redacting filter."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.runtime.logs import RedactFilter, configure_logging

TOKEN = "987654321:AAHsecretPart-of_the_Token0123456789xyz"
SECRET = TOKEN.split(":", 1)[1]
# Only what the interpreter needs; no TELEGRAM_*, AFTERGLOW_* or PTB_* from the caller.
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "PYTHONPATH")


def clean_env(**extra: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def run_bot(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_dotenv(folder: Path, **values: str) -> None:
    lines = [f"{name}={value}" for name, value in values.items()]
    (folder / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def single_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_missing_token_is_a_one_line_configuration_error(tmp_path: Path) -> None:
    result = run_bot(tmp_path, clean_env())

    line = single_error_line(result)
    assert line.startswith("afterglow: configuration error: TELEGRAM_BOT_TOKEN")


def test_dotenv_in_working_directory_is_read(tmp_path: Path) -> None:
    write_dotenv(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        AFTERGLOW_STAFF_CHAT_ID="-100200300",
        AFTERGLOW_ADMIN_IDS="not-a-number",
    )

    result = run_bot(tmp_path, clean_env())

    line = single_error_line(result)
    # The token and staff chat came from .env, so the admin ids are what is blamed.
    assert line.startswith("afterglow: configuration error: AFTERGLOW_ADMIN_IDS")
    assert "'not-a-number'" in line
    assert SECRET not in result.stderr


def test_environment_variable_overrides_dotenv(tmp_path: Path) -> None:
    write_dotenv(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        AFTERGLOW_STAFF_CHAT_ID="-100200300",
        AFTERGLOW_ADMIN_IDS="from-dotenv",
    )

    result = run_bot(tmp_path, clean_env(AFTERGLOW_ADMIN_IDS="from-environment"))

    line = single_error_line(result)
    assert line.startswith("afterglow: configuration error: AFTERGLOW_ADMIN_IDS")
    assert "'from-environment'" in line
    assert "from-dotenv" not in line


def test_valid_environment_value_replaces_a_bad_dotenv_value(tmp_path: Path) -> None:
    write_dotenv(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        AFTERGLOW_STAFF_CHAT_ID="-100200300",
        AFTERGLOW_ADMIN_IDS="from-dotenv",
        AFTERGLOW_TIMEZONE="Mars/Base",
    )

    result = run_bot(tmp_path, clean_env(AFTERGLOW_ADMIN_IDS="7"))

    line = single_error_line(result)
    # Admin ids are checked before the time zone: the environment's good value was used.
    assert line.startswith("afterglow: configuration error: AFTERGLOW_TIMEZONE")


def test_malformed_protocol_is_a_one_line_protocol_error(tmp_path: Path) -> None:
    protocol = tmp_path / "clinic.toml"
    protocol.write_text("[checkins\nschedule = [\n", encoding="utf-8")
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        AFTERGLOW_STAFF_CHAT_ID="-100200300",
        AFTERGLOW_ADMIN_IDS="7",
        AFTERGLOW_DB=str(tmp_path / "afterglow.db"),
        AFTERGLOW_PROTOCOL=str(protocol),
    )

    result = run_bot(tmp_path, env)

    line = single_error_line(result)
    assert line.startswith("afterglow: protocol error:")
    assert str(protocol) in line
    assert SECRET not in result.stdout
    assert SECRET not in result.stderr
    assert not (tmp_path / "afterglow.db").exists()


def test_malformed_token_is_not_echoed(tmp_path: Path) -> None:
    env = clean_env(
        TELEGRAM_BOT_TOKEN=f"{TOKEN} pasted twice {TOKEN}",
        AFTERGLOW_STAFF_CHAT_ID="-100200300",
        AFTERGLOW_ADMIN_IDS="7",
    )

    result = run_bot(tmp_path, env)

    line = single_error_line(result)
    assert line.startswith("afterglow: configuration error: TELEGRAM_BOT_TOKEN")
    assert SECRET not in result.stderr
    assert "pasted" not in result.stderr


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "fly"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "usage: afterglow" in result.stderr
    assert "Traceback" not in result.stderr


# RedactFilter ---------------------------------------------------------------------------


def make_record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("test", logging.INFO, __file__, 1, msg, args or None, None)


def test_redact_filter_redacts_token_in_arguments() -> None:
    record = make_record("POST %s/sendMessage", f"https://api.telegram.org/bot{TOKEN}")

    kept = RedactFilter([TOKEN]).filter(record)

    assert kept is True
    assert record.getMessage() == "POST https://api.telegram.org/bot[redacted]/sendMessage"


def test_redact_filter_redacts_token_in_message_and_every_secret() -> None:
    record = make_record(f"token {TOKEN} and again {TOKEN}, also hunter2")

    RedactFilter([TOKEN, "hunter2"]).filter(record)

    assert record.getMessage() == "token [redacted] and again [redacted], also [redacted]"


def test_redact_filter_leaves_clean_records_untouched() -> None:
    record = make_record("checkin.sent id=%d", 42)

    kept = RedactFilter([TOKEN]).filter(record)

    assert kept is True
    assert record.msg == "checkin.sent id=%d"
    assert record.args == (42,)


def test_redact_filter_ignores_empty_secrets() -> None:
    record = make_record("nothing secret here")

    RedactFilter(["", TOKEN]).filter(record)

    assert record.getMessage() == "nothing secret here"


def test_redact_filter_on_a_handler_keeps_token_out_of_output() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter([TOKEN]))
    logger = logging.getLogger("tests.unit.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("request to %s failed", f"https://api.telegram.org/bot{TOKEN}/getMe")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    assert SECRET not in stream.getvalue()
    assert "[redacted]" in stream.getvalue()


def test_redact_filter_keeps_token_out_of_logged_exceptions() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter([TOKEN]))
    logger = logging.getLogger("tests.unit.redact.exc")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"GET https://api.telegram.org/bot{TOKEN}/getMe failed")
        except RuntimeError:
            logger.exception("polling failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    assert "polling failed" in stream.getvalue()
    assert SECRET not in stream.getvalue()


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = ("httpx", "httpcore", "apscheduler", "aiosqlite", "telegram")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.usefixtures("_restore_logging")
def test_configure_logging_redacts_and_quiets_url_loggers() -> None:
    configure_logging(token=TOKEN, level=logging.DEBUG)

    root = logging.getLogger()
    assert len(root.handlers) == 1
    assert any(isinstance(f, RedactFilter) for f in root.handlers[0].filters)
    assert root.level == logging.DEBUG
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING
    assert logging.getLogger("telegram").level == logging.INFO


# The errors of `afterglow backup` and `afterglow run` before Telegram --------------------


def run_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line_failure(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def no_partial_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".part"))


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "afterglow.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
    return path


def test_backup_into_a_missing_folder_is_one_line(tmp_path: Path, database: Path) -> None:
    target = tmp_path / "no-such-folder" / "copy.db"

    line = one_line_failure(run_cli(tmp_path, "backup", str(target), AFTERGLOW_DB=str(database)))

    assert line == f"afterglow: backup failed: folder {target.parent} does not exist"
    assert not target.parent.exists()


def test_backup_onto_a_folder_is_one_line_with_or_without_force(
    tmp_path: Path, database: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    for extra in ((), ("--force",)):
        result = run_cli(tmp_path, "backup", str(folder), *extra, AFTERGLOW_DB=str(database))
        line = one_line_failure(result)
        assert line.startswith(f"afterglow: backup failed: {folder} is a folder")
    assert list(folder.iterdir()) == []


def test_backup_of_a_corrupt_database_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    corrupt = tmp_path / "afterglow.db"
    corrupt.write_bytes(b"this is not SQLite " * 300)
    target = tmp_path / "copy.db"

    line = one_line_failure(run_cli(tmp_path, "backup", str(target), AFTERGLOW_DB=str(corrupt)))

    assert line.startswith(f"afterglow: backup failed: cannot copy {corrupt}")
    assert "not a database" in line
    assert not target.exists()
    assert no_partial_files(tmp_path) == []


@contextlib.contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """Make a folder unwritable, for root too (immutable), and writable again after."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], check=False).returncode:
        pytest.skip("running as root where no folder can be made unwritable")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_backup_into_an_unwritable_folder_is_one_line(tmp_path: Path, database: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    with unwritable(folder):
        result = run_cli(tmp_path, "backup", str(folder / "copy.db"), AFTERGLOW_DB=str(database))
    line = one_line_failure(result)
    assert line.startswith(f"afterglow: backup failed: cannot write in {folder} (")
    assert list(folder.iterdir()) == []


def test_backup_over_an_existing_file_needs_force_and_keeps_it_whole(
    tmp_path: Path, database: Path
) -> None:
    target = tmp_path / "copy.db"
    target.write_bytes(b"an older copy")

    line = one_line_failure(
        run_cli(tmp_path, "backup", str(target), AFTERGLOW_DB=str(database)), code=2
    )
    assert "--force" in line
    assert target.read_bytes() == b"an older copy"
    result = run_cli(tmp_path, "backup", str(target), "--force", AFTERGLOW_DB=str(database))
    assert result.returncode == 0, result.stderr
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert no_partial_files(tmp_path) == []


def test_version(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--version")

    assert result.returncode == 0
    assert re.fullmatch(r"afterglow \S+\n", result.stdout)


def test_us_crisis_defaults_outside_the_us_stop_run_and_check(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "AFTERGLOW_STAFF_CHAT_ID": "-100200300",
        "AFTERGLOW_ADMIN_IDS": "7",
        "AFTERGLOW_TIMEZONE": "Europe/Berlin",
        "AFTERGLOW_DB": str(tmp_path / "afterglow.db"),
    }
    line = single_error_line(run_cli(tmp_path, "run", **env))
    assert line.startswith(
        "afterglow: configuration error: AFTERGLOW_CRISIS_LINE and AFTERGLOW_EMERGENCY_NUMBER"
    )
    assert SECRET not in line
    checked = run_cli(tmp_path, "check", **env)
    assert checked.returncode == 2
    assert "AFTERGLOW_CRISIS_LINE and AFTERGLOW_EMERGENCY_NUMBER" in checked.stdout
    fixed = run_cli(tmp_path, "check", AFTERGLOW_COUNTRY="DE", **env)
    assert fixed.returncode == 0, fixed.stdout
    assert "emergency number: 112" in fixed.stdout
    assert "0800 111 0 111" in fixed.stdout
    assert not (tmp_path / "afterglow.db").exists()
