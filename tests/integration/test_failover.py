"""Failover: two `afterglow run` processes on one PostgreSQL, the leader killed mid-dispatch.

2,000 check-ins and 10 staff alerts are due when the first instance starts; a second waits
as a standby. The first is killed (SIGKILL) once a few hundred check-ins are out. The
standby takes over, flags what the dead one had claimed but not confirmed as uncertain
(never sent again), and sends the rest. In the end every check-in is sent, confirmed or
uncertain, none is pending, no patient got two, and every alert reached the staff chat.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.codes import AlertKind
from bot.domain.entities import NewAlert
from bot.fake_telegram import FakeTelegramServer, FakeUser
from bot.telegram import texts
from storage import Storage
from tests.integration.conftest import BOT_USERNAME, TOKEN
from tests.integration.test_process import STARTUP_TIMEOUT, bot_env, start_bot_logged
from tests.postgres import fresh_database

pytestmark = pytest.mark.postgres

PATIENTS = 2000
# Under Telegram's 20 messages a minute to one group, with the start-up line.
ALERTS = 10
# Sending this fast (as a bot with Telegram's paid broadcasts may) keeps the test short.
RATE = "400"


async def seed_due(
    url: str,
    server: FakeTelegramServer,
    users: list[FakeUser],
    *,
    alerts: list[str],
    prefix: str = "P-F",
) -> None:
    """Active patients with one check-in each due a minute ago, and pending alerts."""
    now = int(time.time())
    storage = await Storage.open(url)
    try:
        async with storage.database.write() as tx:
            await tx.execute_many(
                "INSERT INTO patients (code, status, telegram_user_id, chat_id, timezone,"
                " checkin_time, consent_at, created_at, created_by, consent_version)"
                " VALUES (?, 'active', ?, ?, 'Europe/Berlin', '09:00', ?, ?, 42, '1')",
                [
                    (f"{prefix}{n:04d}", user.id, server.private_chat(user).id, now - 86400, now)
                    for n, user in enumerate(users)
                ],
            )
            await tx.execute(
                "INSERT INTO checkins (patient_id, kind, due_at, state)"
                " SELECT id, 'extra', ?, 'pending' FROM patients",
                (now - 60,),
            )
        first = await storage.patients.by_code(f"{prefix}0000")
        assert first is not None
        for text in alerts:
            await storage.alerts.add(
                patient_id=first.id,
                alert=NewAlert(kind=AlertKind.CONTACT_REQUEST, text=text),
                now=datetime.now(UTC),
            )
    finally:
        await storage.close()


async def _counts(url: str) -> dict[str, int]:
    storage = await Storage.open(url)
    try:
        rows = await storage.database.fetch_all(
            "SELECT state || '/' || coalesce(delivery, '-'), count(*) FROM checkins GROUP BY 1"
        )
        alerts = await storage.database.fetch_one(
            "SELECT count(*) FROM alerts WHERE state = 'pending'"
        )
    finally:
        await storage.close()
    counts = {str(row[0]): int(row[1]) for row in rows}
    counts["alerts pending"] = int(alerts[0]) if alerts is not None else -1
    return counts


async def test_the_standby_finishes_what_a_killed_leader_began(tmp_path: Path) -> None:
    async with (
        FakeTelegramServer(token=TOKEN, bot_username=BOT_USERNAME) as server,
        fresh_database(migrated=False) as url,
    ):
        users = [server.add_user(first_name=f"F{n}") for n in range(PATIENTS)]
        env = {
            **bot_env(server, tmp_path / "unused.db"),
            "AFTERGLOW_DATABASE_URL": url,
            "AFTERGLOW_SEND_RATE": RATE,
        }
        staff_chat = int(env["AFTERGLOW_STAFF_CHAT_ID"])
        # The schema first (an instance migrates at start), then the due work.
        await (await Storage.open(url)).close()
        await seed_due(url, server, users, alerts=[f"failover alert {n}" for n in range(ALERTS)])

        def prompts() -> int:
            return sum(1 for m in server.sent if m.chat_id > 0 and m.text == texts.CHECKIN_PROMPT)

        leader = await start_bot_logged(env, tmp_path, tmp_path / "leader.log")
        standby = None
        try:
            await server.wait_for(lambda: prompts() >= 1 or None, timeout=STARTUP_TIMEOUT)
            standby = await start_bot_logged(env, tmp_path, tmp_path / "standby.log")
            await wait_for_line(tmp_path / "standby.log", "bot.standby")
            await server.wait_for(lambda: prompts() >= 300 or None, timeout=STARTUP_TIMEOUT)
            leader.send_signal(signal.SIGKILL)
            await leader.wait()
            sent_by_leader = prompts()
            assert sent_by_leader < PATIENTS, "the leader finished before it was killed"

            await wait_for_line(tmp_path / "standby.log", "bot.leading")

            async def finished() -> dict[str, int] | None:
                # The standby's own last sends may still await their answer: unconfirmed.
                counts = await _counts(url)
                done = not any(key.startswith("pending") for key in counts)
                done = done and "sent/unconfirmed" not in counts
                return counts if done and counts["alerts pending"] == 0 else None

            counts: dict[str, int] | None = None
            deadline = time.monotonic() + 120
            while counts is None and time.monotonic() < deadline:
                counts = await finished()
                if counts is None:
                    await asyncio.sleep(0.5)
            assert counts is not None, await _counts(url)
        finally:
            for proc in (leader, standby):
                if proc is not None and proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(proc.wait(), timeout=STARTUP_TIMEOUT)
        assert standby is not None
        assert standby.returncode == 0

    # Every check-in in a documented state: sent and confirmed, or sent and uncertain (what
    # the dead leader had claimed but not heard back about); none pending or unconfirmed.
    assert set(counts) <= {"sent/confirmed", "sent/uncertain", "alerts pending"}, counts
    assert counts.get("sent/confirmed", 0) + counts.get("sent/uncertain", 0) == PATIENTS
    per_chat: dict[int, int] = {}
    for message in server.sent:
        if message.chat_id > 0 and message.text == texts.CHECKIN_PROMPT:
            per_chat[message.chat_id] = per_chat.get(message.chat_id, 0) + 1
    assert max(per_chat.values()) == 1, "a patient got the check-in twice"
    assert len(per_chat) >= PATIENTS - counts.get("sent/uncertain", 0)
    staff_texts = [m.text or "" for m in server.messages(staff_chat)]
    for n in range(ALERTS):
        assert any(f"failover alert {n}" in text for text in staff_texts), n
    log = (tmp_path / "standby.log").read_text(encoding="utf-8")
    assert "Traceback" not in log
    assert "dispatch.recovered_uncertain" in log or "sent/uncertain" not in counts


def _text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


async def wait_for_line(path: Path, needle: str, seconds: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if needle in _text_of(path):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared in {path.name}")
