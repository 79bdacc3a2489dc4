"""Benchmark flood control: 3,000 due check-ins through a server that enforces the limits.

The fake Bot API server runs in a child process with Telegram's limits switched on (30
messages per second overall, 1 per second per chat, 429 with retry_after beyond that). The
bot sends through the same flood limiter as in production. Prints the sustained sending
rate and how many 429s the server answered.

With --cpu-load N, N CPU-bound processes (a busy loop each, at normal priority) run beside
the measurement, as on a loaded host; they stop when it ends.

Run: python benchmarks/bench_flood.py [--checkins 3000] [--cpu-load 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("PTB_TIMEDELTA", "true")

import bench_history_cost as history
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.domain.clock import ManualClock
from bot.fake_telegram import FakeTelegramServer
from bot.runtime.application import SAFE_RATE, flood_limiter
from bot.runtime.content import load_protocol
from bot.services.dispatcher import Dispatcher
from bot.services.enrolment import EnrolmentService
from bot.telegram.senders import TelegramCheckinSender
from storage import Storage

TOKEN = "123456:FLOOD-benchmark"
TZ = ZoneInfo("Europe/Berlin")
FIRST_USER = 20_000_000


async def telegram_side(patients: int) -> None:
    """Child process: the fake server with Telegram's flood limits enforced."""
    async with FakeTelegramServer(
        token=TOKEN, bot_username="afterglow_flood_bot", enforce_limits=True
    ) as server:
        for uid in range(FIRST_USER, FIRST_USER + patients):
            server.add_user(first_name="P", user_id=uid)
        print(server.base_url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        delivered = sum(1 for m in server.sent if m.method == "sendMessage")
        print(f"{delivered} {server.flood_429_count}", flush=True)


def burn() -> None:
    """A CPU-bound process: spin until killed (the measurement ends it)."""
    while True:
        pass


async def main(checkins: int, db: Path, cpu_load: int) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    storage = await Storage.open(db)
    protocol = load_protocol()
    enrolment = EnrolmentService(storage, clock, timezone=TZ, default_time="06:00")
    care = history.care_service(storage, clock, protocol)
    for n in range(checkins):
        user_id = FIRST_USER + n
        invitation = await enrolment.invite(staff_id=1, label=None, update_id=None)
        assert invitation is not None
        await enrolment.redeem(payload=invitation.token, user_id=user_id, chat_id=user_id)
        patient, _ = await enrolment.consent(user_id=user_id)
        assert patient is not None
        await care.record_infusion(args=[patient.code], staff_id=1, update_id=None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--telegram-side",
        "--checkins",
        str(checkins),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    base_url = (await proc.stdout.readline()).decode().strip()
    limiter = flood_limiter()
    bot = ExtBot(
        TOKEN,
        base_url=base_url,
        request=HTTPXRequest(connection_pool_size=64),
        rate_limiter=limiter,
    )
    async with bot:
        dispatcher = Dispatcher(
            storage,
            clock,
            TelegramCheckinSender(bot),
            protocol=protocol,
            permits=limiter,
            max_sends=checkins,
        )
        clock.set(datetime(2026, 3, 3, 5, 0, tzinfo=UTC))  # 06:00 in Berlin: all due at once
        burners = [
            await asyncio.create_subprocess_exec(sys.executable, __file__, "--burn")
            for _ in range(cpu_load)
        ]
        try:
            started = time.perf_counter()
            report = await dispatcher.tick()
            elapsed = time.perf_counter() - started
        finally:
            for burner in burners:
                burner.kill()
                await burner.wait()
    proc.stdin.write(b"\n")
    await proc.stdin.drain()
    delivered, too_many = (await proc.stdout.readline()).decode().split()
    await proc.wait()
    await storage.close()
    rate = report.sent / elapsed
    print(f"{cpu_load} CPU-bound process(es) beside it, on {os.cpu_count()} cores")
    print(
        f"sent {report.sent} check-ins in {elapsed:.1f} s: {rate:.2f} messages/s sustained"
        f" ({rate / 30 * 100:.1f}% of Telegram's 30/s; limiter set to {SAFE_RATE:g}/s)"
    )
    print(
        f"server: {delivered} delivered, {too_many} answered 429;"
        f" dispatcher: uncertain={report.uncertain} retried={report.retry_later}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkins", type=int, default=3000)
    parser.add_argument("--cpu-load", type=int, default=0, choices=range(0, 9))
    parser.add_argument("--telegram-side", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--burn", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.burn:
        burn()
    if args.telegram_side:
        asyncio.run(telegram_side(args.checkins))
        sys.exit(0)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(args.checkins, Path(folder) / "flood.db", args.cpu_load))
