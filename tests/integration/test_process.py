"""The `afterglow` command as a process: SIGTERM, one bot per database, check and backup,
start-up failing well, and setup mode."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path

import pytest

from bot.fake_telegram import FakeTelegramServer, Fault
from tests.integration.conftest import BOT_USERNAME, TOKEN

STARTUP_TIMEOUT = 60.0


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN, bot_username=BOT_USERNAME) as fake:
        yield fake


def bot_env(server: FakeTelegramServer, db: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "AFTERGLOW_"))}
    return {
        **keep,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "AFTERGLOW_DB": str(db),
        # Start-up checks the staff chat (getChat) and posts there: it must exist.
        "AFTERGLOW_STAFF_CHAT_ID": str(server.add_group(title="Clinic staff").id),
        "AFTERGLOW_ADMIN_IDS": "42",
    }


async def start_bot(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def start_bot_logged(
    env: dict[str, str], cwd: Path, log: Path
) -> asyncio.subprocess.Process:
    """Start `afterglow run` with its output going to a file (nothing to drain)."""
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=cwd, stdout=out, stderr=out
        )


async def wait_polling(server: FakeTelegramServer) -> None:
    await server.wait_for(lambda: server.calls_to("getUpdates") or None, timeout=STARTUP_TIMEOUT)


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=STARTUP_TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_sigterm_stops_cleanly_and_a_second_bot_is_refused(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    db = tmp_path / "afterglow.db"
    env = bot_env(server, db)
    proc = await start_bot(env, tmp_path)
    try:
        await wait_polling(server)
        code, _, err = await run_cli("run", env=env, cwd=tmp_path)
        assert code == 2
        assert "already running" in err
        assert "Traceback" not in err
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=STARTUP_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    log = stderr.decode()
    assert "bot.stopped" in log
    assert TOKEN not in log
    assert "Traceback" not in log
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_check_and_backup_while_running(server: FakeTelegramServer, tmp_path: Path) -> None:
    db = tmp_path / "afterglow.db"
    env = bot_env(server, db)
    proc = await start_bot(env, tmp_path)
    try:
        await wait_polling(server)
        code, out, _ = await run_cli("check", env=env, cwd=tmp_path)
        assert code == 0, out
        assert "configuration: ok" in out
        assert "protocol: ok" in out
        assert "database: ok" in out
        code, out, err = await run_cli("backup", str(tmp_path / "copy.db"), env=env, cwd=tmp_path)
        assert code == 0, err
        code, _, err = await run_cli("backup", str(tmp_path / "copy.db"), env=env, cwd=tmp_path)
        assert code == 2
        assert "--force" in err
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), timeout=STARTUP_TIMEOUT)
    with closing(sqlite3.connect(tmp_path / "copy.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 3


async def test_check_reports_problems(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "AFTERGLOW_"))}
    code, out, _ = await run_cli("check", env=env, cwd=tmp_path)
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN" in out
    bad_protocol = tmp_path / "protocol.toml"
    bad_protocol.write_text("[checkins]\nschedule = []\n", encoding="utf-8")
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "AFTERGLOW_STAFF_CHAT_ID": "-100",
            "AFTERGLOW_ADMIN_IDS": "42",
            "AFTERGLOW_PROTOCOL": str(bad_protocol),
            "AFTERGLOW_DB": str(tmp_path / "db.sqlite"),
        }
    )
    (tmp_path / "db.sqlite").write_bytes(b"this is not a database at all" * 100)
    code, out, _ = await run_cli("check", env=env, cwd=tmp_path)
    assert code == 1
    assert "protocol: ERROR" in out
    assert "database: ERROR" in out
    assert "not a database" in out


async def test_updates_fetched_but_not_handled_when_killed_are_handled_once_after(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    """kill -9 while the handlers of a confirmed batch (a crisis message among it) hang."""
    db = tmp_path / "afterglow.db"
    staff_group = server.add_group(title="Clinic staff")
    env = {**bot_env(server, db), "AFTERGLOW_STAFF_CHAT_ID": str(staff_group.id)}
    ann, ben = server.add_user(first_name="Ann"), server.add_user(first_name="Ben")
    proc = await start_bot(env, tmp_path)
    try:
        await wait_polling(server)
        # Every reply hangs: the handlers are mid-way when the process dies.
        server.inject_fault(Fault(method="sendMessage", delay=60.0, times=None))
        ann_update = server.send_message(ann, "hello")
        crisis = server.send_message(ben, "i want to kill myself")
        help_update = server.send_message(ann, "/help")
        # Telegram was told they arrived: the next getUpdates moved the offset past them.
        await server.wait_for(lambda: not server.pending_updates or None, timeout=30)
        await server.wait_for(lambda: len(server.calls_to("getUpdates")) >= 2 or None, timeout=30)
        # Killed as soon as all three are stored and being handled, well inside the urgent
        # client's 10 s timeout on the hanging crisis reply.
        await server.wait_for(lambda: _pending(db) >= 3 or None, timeout=30)
    finally:
        proc.kill()
        await proc.wait()
    ids = [ann_update["update_id"], crisis["update_id"], help_update["update_id"]]
    with closing(sqlite3.connect(db)) as conn:
        states = dict(conn.execute("SELECT update_id, state FROM inbox").fetchall())
    assert [states.get(update_id) for update_id in ids] == ["pending"] * 3
    assert not [m for m in server.messages(ben) if "988" in (m.text or "")]

    server.clear_faults()
    proc = await start_bot(env, tmp_path)
    try:
        await server.wait_for(
            lambda: [m for m in server.messages(ben) if "988" in (m.text or "")] or None,
            timeout=STARTUP_TIMEOUT,
        )
        await server.wait_for(
            lambda: (
                [m for m in server.messages(staff_group) if "URGENT" in (m.text or "")] or None
            ),
            timeout=30,
        )
        await server.wait_for(lambda: len(server.messages(ann)) >= 2 or None, timeout=30)
        await asyncio.sleep(1.0)  # a second handling, were there one, would have run by now
        with closing(sqlite3.connect(db)) as conn:
            states = dict(conn.execute("SELECT update_id, state FROM inbox").fetchall())
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=STARTUP_TIMEOUT)
    assert [states[update_id] for update_id in ids] == ["done"] * 3
    # Handled once (the inbox and one URGENT alert say so). The crisis reply may reach Ben
    # twice: if its hanging first attempt timed out before the kill, it was kept for a retry
    # (urgent messages are sent at least once), and the handling after the restart replies
    # again. Never zero.
    assert 1 <= len([m for m in server.messages(ben) if "988" in (m.text or "")]) <= 2
    assert len([m for m in server.messages(staff_group) if "URGENT" in (m.text or "")]) == 1
    assert len(server.messages(ann)) == 2  # one reply to "hello", one to /help
    log = stderr.decode()
    assert "intake.resuming count=3" in log
    assert "kill myself" not in log


async def test_a_backlog_killed_mid_way_is_all_handled_after_restart(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    """SIGKILL with 150 updates queued: each one is answered in the end, none lost."""
    db = tmp_path / "afterglow.db"
    env = bot_env(server, db)
    people = [server.add_user(first_name=f"P{number}") for number in range(150)]
    proc = await start_bot(env, tmp_path)
    try:
        await wait_polling(server)
        server.inject_fault(Fault(method="sendMessage", delay=0.5, times=None))
        for person in people:
            server.send_message(person, "hello")
        await server.wait_for(lambda: not server.pending_updates or None, timeout=30)
        await asyncio.sleep(1.0)  # some answered, most still waiting
    finally:
        proc.kill()
        await proc.wait()
    answered_before = sum(1 for person in people if server.messages(person))
    assert answered_before < len(people)

    server.clear_faults()
    proc = await start_bot(env, tmp_path)
    try:
        await server.wait_for(
            lambda: all(server.messages(person) for person in people) or None,
            timeout=STARTUP_TIMEOUT,
        )
        await asyncio.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), timeout=STARTUP_TIMEOUT)
    # Answered once each, except one whose reply went out in the instant between Telegram
    # taking it and its update being marked done (the handlers run again at start-up).
    repeats = sum(len(server.messages(person)) - 1 for person in people)
    assert 0 <= repeats <= 3


# Start-up failing well: a rejected token, Telegram unreachable, an unreachable staff chat --


async def read_lines_until(
    stream: asyncio.StreamReader, done: Callable[[list[str]], bool], seconds: float
) -> list[str]:
    """Read a process's stderr line by line until `done` says enough."""
    lines: list[str] = []
    async with asyncio.timeout(seconds):
        while not done(lines):
            raw = await stream.readline()
            if not raw:
                break
            lines.append(raw.decode().rstrip("\n"))
    return lines


async def test_a_rejected_token_is_one_line_without_the_token(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    wrong = "123456:TEST-a-token-telegram-does-not-know"
    env = {**bot_env(server, tmp_path / "afterglow.db"), "TELEGRAM_BOT_TOKEN": wrong}

    code, out, err = await run_cli("run", env=env, cwd=tmp_path)

    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        "afterglow: Telegram rejected TELEGRAM_BOT_TOKEN: copy it again from @BotFather"
        f" (/mybots, API Token), and check TELEGRAM_API_BASE_URL ({server.base_url})"
    ]
    assert "does-not-know" not in err
    assert not (tmp_path / "afterglow.db").exists()


async def test_telegram_unreachable_at_start_is_retried_until_sigterm(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "AFTERGLOW_"))},
        "TELEGRAM_BOT_TOKEN": TOKEN,
        # Nothing listens there: each attempt is refused at once.
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
        "AFTERGLOW_DB": str(tmp_path / "afterglow.db"),
        "AFTERGLOW_STAFF_CHAT_ID": "-100",
        "AFTERGLOW_ADMIN_IDS": "42",
    }
    proc = await start_bot(env, tmp_path)
    try:
        assert proc.stderr is not None
        lines = await read_lines_until(
            proc.stderr,
            lambda seen: sum("startup.unreachable" in line for line in seen) >= 2,
            STARTUP_TIMEOUT,
        )
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), timeout=STARTUP_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    attempts = [line for line in lines if "startup.unreachable" in line]
    assert attempts[0].endswith("what=telegram attempt=1 error=NetworkError retry_in=1s")
    assert attempts[1].endswith("what=telegram attempt=2 error=NetworkError retry_in=2s")
    log = "\n".join(lines) + (rest or b"").decode()
    assert "Traceback" not in log
    assert TOKEN.split(":", 1)[1] not in log
    assert not (tmp_path / "afterglow.db").exists()


async def test_telegram_failing_at_start_then_answering_starts_the_bot(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    env = bot_env(server, tmp_path / "afterglow.db")
    group_id = int(env["AFTERGLOW_STAFF_CHAT_ID"])
    server.inject_fault(Fault(method="getMe", status=502, times=2))
    proc = await start_bot(env, tmp_path)
    try:
        await wait_polling(server)
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=STARTUP_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    log = stderr.decode()
    assert log.count("startup.unreachable what=telegram") == 2
    assert "Traceback" not in log
    posted = [m.text or "" for m in server.messages(group_id)]
    assert len([text for text in posted if " is running: 0 patients, 0 open alerts." in text]) == 1


async def test_an_unreachable_staff_chat_stops_start_up_with_one_line(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    env = {**bot_env(server, tmp_path / "afterglow.db"), "AFTERGLOW_STAFF_CHAT_ID": "-1001234"}
    patient = server.add_user(first_name="Pat")
    server.send_message(patient, "hello")

    code, out, err = await run_cli("run", env=env, cwd=tmp_path)

    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("afterglow:")]
    assert errors == [err.splitlines()[-1]]
    assert errors[0].startswith(
        "afterglow: cannot reach the staff chat -1001234 (AFTERGLOW_STAFF_CHAT_ID)"
    )
    # Nothing was taken from Telegram: the waiting message is still there for the next start.
    assert server.calls_to("getUpdates") == []
    assert server.pending_updates


async def test_setup_mode_tells_the_ids_with_only_a_token(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "AFTERGLOW_"))}
    env |= {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": server.base_url}
    admin = server.add_user(first_name="Admin")
    group = server.add_group(title="Care team")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "setup",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_polling(server)
        whoami = server.wait_for_message(admin, timeout=30)
        server.send_message(admin, "/whoami")
        assert f"AFTERGLOW_ADMIN_IDS={admin.id}" in ((await whoami).text or "")
        joined = server.wait_for_message(group, timeout=30)
        server.inject_update(
            {
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": group.to_dict(),
                    "from": admin.to_dict(),
                    "new_chat_members": [
                        {"id": server.bot_id, "is_bot": True, "first_name": "Afterglow"}
                    ],
                }
            }
        )
        assert f"AFTERGLOW_STAFF_CHAT_ID={group.id}" in ((await joined).text or "")
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=STARTUP_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert "send /whoami" in out.decode()
    assert "Traceback" not in err.decode()
    assert os.listdir(tmp_path) == []  # no database: setup mode keeps nothing


def _pending(db: Path) -> int:
    """Count the updates the bot stored as received and not yet handled."""
    try:
        with closing(sqlite3.connect(db)) as conn:
            row = conn.execute("SELECT count(*) FROM inbox WHERE state = 'pending'").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0
