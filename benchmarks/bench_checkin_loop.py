"""Benchmark the check-in loop at clinic-network scale.

Creates 10,000 enrolled patients with a full plan (350,000 check-in rows) through the real
repositories, then measures against the project's fake Bot API server on 127.0.0.1:

* the cost of a dispatcher tick with nothing due (median of many ticks);
* the cost of a tick with 1,000 check-ins due, each sent over real HTTP (no flood limiter:
  with the production limiter of 30 messages/s the limiter, not Afterglow, sets the pace);
* replies processed per second end to end: the fake server delivers button presses and
  typed notes through getUpdates, the real Application stores them and confirms each one;
* the bot process's peak resident memory.

The fake server and the simulated patients run in a child process, as Telegram would be a
separate system; the bot, its database and its dispatcher run in this one.

Run: python benchmarks/bench_checkin_loop.py [--patients 10000] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("PTB_TIMEDELTA", "true")

import bench_history_cost as history
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.domain.clock import ManualClock
from bot.fake_telegram import FakeTelegramServer
from bot.runtime.application import build_application, services_of
from bot.runtime.content import load_protocol
from bot.runtime.lifecycle import running
from bot.runtime.settings import Settings
from bot.services.dispatcher import Dispatcher
from bot.services.enrolment import EnrolmentService
from bot.telegram.senders import TelegramCheckinSender
from storage import Storage

TOKEN = "123456:BENCHMARK-token"
FIRST_USER = 10_000_000
TZ = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
# One patient in ten is asked at 06:00; the rest are spread over other times of day.
TIMES = ["06:00", "07:00", "07:30", "08:00", "08:30", "10:00", "12:00", "18:00", "20:00", "21:00"]


def peak_rss_mb() -> float:
    """Return the peak resident set size of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed(storage: Storage, clock: ManualClock, patients: int) -> list[int]:
    """Enrol patients and record an infusion for each; return their Telegram user ids."""
    protocol = load_protocol()
    enrolment = EnrolmentService(storage, clock, timezone=TZ, default_time="18:00")
    care = history.care_service(storage, clock, protocol)
    users = []
    for n in range(patients):
        user_id = FIRST_USER + n
        invitation = await enrolment.invite(staff_id=1, label=None, update_id=None)
        assert invitation is not None
        await enrolment.redeem(payload=invitation.token, user_id=user_id, chat_id=user_id)
        patient, _ = await enrolment.consent(user_id=user_id)
        assert patient is not None
        await care.change_time(patient, TIMES[n % len(TIMES)])
        await care.record_infusion(args=[patient.code], staff_id=1, update_id=None)
        users.append(user_id)
    return users


async def telegram_side(patients: int) -> None:
    """Child process: the fake Bot API server and the patients who answer (a load generator)."""
    async with FakeTelegramServer(token=TOKEN, bot_username="afterglow_bench_bot") as server:
        people = {
            uid: server.add_user(first_name="P", user_id=uid)
            for uid in range(FIRST_USER, FIRST_USER + patients)
        }
        print(server.base_url, flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while command := (await reader.readline()).decode().strip():
            if command == "answer":
                prompts = [m for m in server.sent if len(m.buttons()) == 11]
                answers_before = len(server.callback_answers)
                notes_before = sum(1 for m in server.sent if "note is saved" in (m.text or ""))
                seen = len(server.sent)
                notes = 0
                t0 = time.perf_counter()
                cpu0 = time.process_time()
                for n, prompt in enumerate(prompts):
                    presser = people[prompt.chat_id]
                    server.press_button(presser, prompt, prompt.buttons()[n % 11][1])
                    server.send_message(presser, "a short note about today")
                deadline = t0 + 300
                while time.perf_counter() < deadline:
                    notes += sum(
                        1 for m in server.sent[seen:] if "note is saved" in (m.text or "")
                    )
                    seen = len(server.sent)
                    answers = len(server.callback_answers) - answers_before
                    if answers >= len(prompts) and notes >= len(prompts):
                        break
                    await asyncio.sleep(0.01)
                elapsed = time.perf_counter() - t0
                cpu = time.process_time() - cpu0
                print(f"{len(prompts)} {answers} {notes} {elapsed:.4f} {cpu:.3f}", flush=True)
                del notes_before
            elif command == "count":
                prompts = sum(1 for m in server.sent if len(m.buttons()) == 11)
                print(f"{prompts} {server.flood_429_count}", flush=True)
        print(f"{peak_rss_mb():.0f}", flush=True)


class TelegramProcess:
    """The child process seen from the bot's side."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(f"{command}\n".encode())
        await self.proc.stdin.drain()
        return (await self.proc.stdout.readline()).decode().strip()


async def main(patients: int, db: Path) -> None:
    clock = ManualClock(START)
    storage = await Storage.open(db)
    began = time.perf_counter()
    users = await seed(storage, clock, patients)
    setup = time.perf_counter() - began
    row = await storage.database.fetch_one("SELECT count(*) FROM checkins")
    rows = row[0] if row else 0
    print(f"setup: {patients} patients, {rows} check-in rows in {setup:.1f} s")

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--telegram-side",
        "--patients",
        str(len(users)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    telegram = TelegramProcess(proc)
    assert proc.stdout is not None
    base_url = (await proc.stdout.readline()).decode().strip()

    protocol = load_protocol()
    bot = Bot(TOKEN, base_url=base_url, request=HTTPXRequest(connection_pool_size=64))
    async with bot:
        dispatcher = Dispatcher(
            storage, clock, TelegramCheckinSender(bot), protocol=protocol, batch_size=50
        )
        # Nothing due: 05:00 in Berlin on day 1, before the first check-ins.
        clock.set(datetime(2026, 3, 3, 4, 0, tzinfo=UTC))
        samples = []
        for _ in range(200):
            t0 = time.perf_counter()
            report = await dispatcher.tick()
            samples.append((time.perf_counter() - t0) * 1000)
            assert not report.ran
        samples.sort()
        print(
            f"tick, nothing due: median {statistics.median(samples):.2f} ms,"
            f" p95 {samples[int(len(samples) * 0.95)]:.2f} ms (200 ticks)"
        )
        # 06:00 in Berlin on day 1: one patient in ten is due.
        clock.set(datetime(2026, 3, 3, 5, 0, tzinfo=UTC))
        t0 = time.perf_counter()
        report = await dispatcher.tick()
        elapsed = time.perf_counter() - t0
        received, _ = (await telegram.ask("count")).split()
        print(
            f"tick, {report.sent} due, each sent over HTTP: {elapsed * 1000:.0f} ms"
            f" ({report.sent / elapsed:.0f} sends/s; server received {received} prompts,"
            f" uncertain={report.uncertain}, retry={report.retry_later})"
        )
        # The floor: CPU per bare python-telegram-bot request, without Afterglow in the way.
        semaphore = asyncio.Semaphore(32)

        async def bare() -> None:
            async with semaphore:
                await bot.send_message(FIRST_USER, "benchmark")

        cpu0 = time.process_time()
        await asyncio.gather(*(bare() for _ in range(1000)))
        per_request = (time.process_time() - cpu0) / 1000 * 1000
        print(
            f"http floor: {per_request:.2f} ms of CPU per bare send_message; at 1.5 requests"
            f" per reply that alone caps one core at {1000 / (1.5 * per_request):.0f} replies/s"
        )
    await storage.close()

    settings = Settings(
        token=TOKEN,
        staff_chat_id=-1,
        admin_ids=frozenset({1}),
        api_base_url=base_url,
        db_path=db,
        timezone=TZ,
    )
    app = build_application(settings, clock=clock, dispatch_interval=3600, rate_limit_per_second=0)
    async with running(app, poll_timeout=1):
        svc = services_of(app)
        cpu0 = time.process_time()
        profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
        if profiler is not None:
            profiler.enable()
        prompts, answers, notes, elapsed_s, server_cpu = (await telegram.ask("answer")).split()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.environ["BENCH_PROFILE"])
        bot_cpu = time.process_time() - cpu0
        replies = int(answers) + int(notes)
        elapsed = float(elapsed_s)
        print(
            f"end to end: {replies} replies ({answers} button answers + {notes} notes,"
            f" {prompts} patients) in {elapsed:.2f} s = {replies / elapsed:.0f} replies/s"
        )
        stored_notes = 0
        stored_scores = 0
        for user_id in users[:: len(TIMES)]:
            patient = await svc.storage.patients.by_user(user_id)
            assert patient is not None
            stored_notes += len(await svc.storage.answers.notes_for_patient(patient.id))
            rows_ = await svc.storage.checkins.for_patient(patient.id)
            stored_scores += sum(1 for c in rows_ if c.score is not None)
        print(f"cpu during that run: bot process {bot_cpu:.2f} s, fake server {server_cpu} s")
        print(f"check: {stored_scores} scores and {stored_notes} notes stored")
    assert proc.stdin is not None
    proc.stdin.write(b"\n")
    await proc.stdin.drain()
    server_peak = (await proc.stdout.readline()).decode().strip()
    await proc.wait()
    print(
        f"peak memory, bot process: {peak_rss_mb():.0f} MB (fake server process: {server_peak} MB)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--telegram-side", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.telegram_side:
        asyncio.run(telegram_side(args.patients))
        sys.exit(0)
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or Path(folder) / "bench.db"
        asyncio.run(main(args.patients, db))
    sys.exit(0)
