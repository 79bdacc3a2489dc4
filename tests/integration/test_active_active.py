"""Two `afterglow run --webhook` processes serving at once on one PostgreSQL; one is killed.

600 check-ins and 10 staff alerts are due when both start. Both instances run the
dispatcher together and each claims its own rows; patients' button presses are posted to
either instance, and each press is delivered a second time to the other (as Telegram may
redeliver to any instance behind a load balancer). Then, with most check-ins still due,
one instance is killed with SIGKILL. The survivor flags what the dead one had claimed but
not confirmed as uncertain, and finishes the rest.

In the end: both instances claimed check-ins; every check-in is sent (confirmed or, only
the dead one's, uncertain) or answered; no patient got two prompts; every alert reached the
staff chat exactly once; while both lived, no press was handled twice, whichever instance
it hit (after the kill, one the dead instance had begun is handled again: the inbox's rule
after any crash).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.fake_telegram import FakeTelegramServer, SentMessage
from bot.telegram import texts
from storage import Storage
from tests.integration.conftest import BOT_USERNAME, TOKEN
from tests.integration.test_failover import seed_due, wait_for_line
from tests.integration.test_process import STARTUP_TIMEOUT, bot_env
from tests.postgres import fresh_database

pytestmark = pytest.mark.postgres

PATIENTS = 600
ALERTS = 10
PRESSES = 120
# 60 a second for the bot, 30 for each of the two: the kill falls mid-dispatch.
RATE = "60"
SECRET = "active-active-webhook-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--webhook",
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=out,
        )


async def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    storage = await Storage.open(url)
    try:
        rows = await storage.database.fetch_all(sql)
    finally:
        await storage.close()
    return [tuple(row[i] for i in range(len(row))) for row in rows]


def _answered(server: FakeTelegramServer) -> list[str]:
    return [str(call["callback_query_id"]) for call in server.calls_to("answerCallbackQuery")]


def _instance_of(log: Path) -> int:
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if "bot.instance id=" in line:
            return int(line.split("bot.instance id=", 1)[1].split()[0].strip("\"',}"))
    raise AssertionError(f"no instance id in {log.name}")


async def test_two_serving_instances_share_the_work_and_survive_a_kill(tmp_path: Path) -> None:
    async with (
        FakeTelegramServer(token=TOKEN, bot_username=BOT_USERNAME) as server,
        fresh_database(migrated=False) as url,
        httpx.AsyncClient(timeout=10.0) as client,
    ):
        users = [server.add_user(first_name=f"A{n}") for n in range(PATIENTS)]
        base = {
            **bot_env(server, tmp_path / "unused.db"),
            "AFTERGLOW_DATABASE_URL": url,
            "AFTERGLOW_SEND_RATE": RATE,
            "AFTERGLOW_WEBHOOK_URL": "https://bot.example.test/telegram",
            "AFTERGLOW_WEBHOOK_SECRET": SECRET,
        }
        staff_chat = int(base["AFTERGLOW_STAFF_CHAT_ID"])
        await (await Storage.open(url)).close()
        alerts = [f"shared alert {n}" for n in range(ALERTS)]
        await seed_due(url, server, users, alerts=alerts, prefix="P-A")

        ports = [_free_port(), _free_port()]
        logs = [tmp_path / "first.log", tmp_path / "second.log"]
        procs = [
            await _start({**base, "AFTERGLOW_WEBHOOK_PORT": str(port)}, tmp_path, log)
            for port, log in zip(ports, logs, strict=True)
        ]
        urls = [f"http://127.0.0.1:{port}/telegram" for port in ports]
        victim, survivor = 0, 1
        presses: list[str] = []
        try:
            for log in logs:
                await wait_for_line(log, "webhook.listening")
            ids = [_instance_of(log) for log in logs]

            def prompts() -> list[SentMessage]:
                # Answered prompts are edited: their text is no longer the prompt's.
                return [m for m in server.sent if m.chat_id > 0 and m.text == texts.CHECKIN_PROMPT]

            await server.wait_for(lambda: len(prompts()) >= PRESSES or None, timeout=60)
            by_chat = {user.id: user for user in users}
            # Presses go to either instance, each delivered a second time to the other.
            for n, prompt in enumerate(prompts()[:PRESSES]):
                update = server.press_button(by_chat[prompt.chat_id], prompt, prompt.button("7"))
                presses.append(str(update["callback_query"]["id"]))
                first, second = (urls[n % 2], urls[1 - n % 2])
                answers = await asyncio.gather(
                    client.post(first, json=update, headers=HEADERS),
                    client.post(second, json=update, headers=HEADERS),
                )
                assert [a.status_code for a in answers] == [200, 200]

            claimants = await _query(
                url, "SELECT DISTINCT claimed_by FROM checkins WHERE claimed_by IS NOT NULL"
            )
            # Give the instances a moment to answer the presses before the kill.
            await server.wait_for(
                lambda: len(server.calls_to("answerCallbackQuery")) >= PRESSES // 2 or None,
                timeout=STARTUP_TIMEOUT,
            )
            # Each has seen the other (within a second of the later one's start) before the kill.
            for log in logs:
                await wait_for_line(log, "flood.shared senders=2")
            answered_before_kill = _answered(server)
            procs[victim].send_signal(signal.SIGKILL)
            await procs[victim].wait()
            due = await _query(url, "SELECT count(*) FROM checkins WHERE state = 'pending'")
            assert int(str(due[0][0])) > PATIENTS // 4, f"{due} due at the kill: too late"

            async def settled() -> bool | None:
                states = await _query(
                    url,
                    "SELECT count(*) FROM checkins WHERE state = 'pending'"
                    " OR delivery = 'unconfirmed'",
                )
                pending = await _query(url, "SELECT count(*) FROM alerts WHERE state = 'pending'")
                unhandled = await _query(url, "SELECT count(*) FROM inbox WHERE state = 'pending'")
                return (states[0][0] == 0 and pending[0][0] == 0 and unhandled[0][0] == 0) or None

            deadline = time.monotonic() + 120
            while not await settled():
                assert time.monotonic() < deadline, "the survivor did not finish"
                await asyncio.sleep(0.5)
            states = await _query(
                url,
                "SELECT state || '/' || coalesce(delivery, '-'), claimed_by, count(*)"
                " FROM checkins GROUP BY 1, 2",
            )
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(proc.wait(), timeout=STARTUP_TIMEOUT)
        assert procs[survivor].returncode == 0

    # Both instances claimed check-ins while both were alive.
    assert {row[0] for row in claimants} == set(ids), (claimants, ids)
    # Every check-in in a documented state; only the dead instance's sends are uncertain.
    totals: dict[str, int] = {}
    for state, claimed_by, count in states:
        totals[str(state)] = totals.get(str(state), 0) + int(str(count))
        if state == "sent/uncertain":
            assert claimed_by == ids[victim], states
    assert set(totals) <= {"sent/confirmed", "sent/uncertain", "answered/confirmed"}, totals
    assert sum(totals.values()) == PATIENTS
    assert totals.get("answered/confirmed", 0) == PRESSES
    # No patient got two prompts (counted as sent, before any edit).
    per_chat: dict[int, int] = {}
    for call in server.calls_to("sendMessage"):
        if call.get("text") == texts.CHECKIN_PROMPT:
            chat = int(str(call["chat_id"]))
            per_chat[chat] = per_chat.get(chat, 0) + 1
    assert max(per_chat.values()) == 1, "a patient got the check-in twice"
    assert len(per_chat) >= PATIENTS - totals.get("sent/uncertain", 0)
    # Every alert exactly once in the staff chat.
    staff_texts = [m.text or "" for m in server.messages(staff_chat)]
    for n in range(ALERTS):
        assert sum(f"shared alert {n}" in text for text in staff_texts) == 1, n
    survivor_log = logs[survivor].read_text(encoding="utf-8")
    # While both lived, no press was handled twice, whichever instance it reached first.
    assert len(answered_before_kill) == len(set(answered_before_kill)), "a press handled twice"
    # Every press answered; again only where the dead instance had begun to handle it
    # (adopted by the survivor, handled once more: its check-in was answered once).
    answered = _answered(server)
    assert set(answered) == set(presses)
    adopted = sum(
        int(line.split("count=", 1)[1].split()[0])
        for line in survivor_log.splitlines()
        if "intake.resuming count=" in line
    )
    assert len(answered) - len(set(answered)) <= adopted
    assert "Traceback" not in survivor_log
    # Telegram counts per bot: while both ran, each took half of the sending rate.
    assert "flood.shared senders=2" in survivor_log
    # Alone again after the kill: the whole rate.
    assert "flood.shared senders=1" in survivor_log.split("flood.shared senders=2", 1)[1]
    assert "dispatch.recovered_uncertain" in survivor_log or "sent/uncertain" not in totals
