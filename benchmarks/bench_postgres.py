"""Benchmark PostgreSQL against SQLite on the same clinic: ticks, claims, start-up, memory.

A SQLite file of 100,000 enrolled patients (by default), each with a first infusion and
its full plan (35 check-ins: 3.5 million planned rows), is built once through the real
services and repositories (fsync off while building only), and kept under --keep DIR so a
second run skips building. `storage.copy_to_postgres` then copies it into a database of
the benchmark's own (`CREATE DATABASE bench_<random>`, dropped at the end unless
--keep-db) on the PostgreSQL server of AFTERGLOW_BENCH_POSTGRES_URL, an admin URL such as
postgresql://postgres@127.0.0.1:5432/postgres, and runs VACUUM (ANALYZE) there, as
autovacuum would soon after (--as-copied skips it). Each backend is then measured on
those same rows, in a fresh child process of its own (so memory is per backend):

* start-up: `Storage.open()` (migrations already applied) and the storage work the bot's
  post_init does (roster, staff chat, inbox adoption, dispatcher recovery, review of
  recent misses), through the real services;
* a dispatcher tick with nothing due (the real `Dispatcher` built by `build_services`);
* claim-and-send throughput against the fake Bot API server (its own process, limits
  not enforced) with 1, 2 and 4 dispatchers, each with its own Storage (its own pool),
  its own Bot and its own services, as separate instances would have, sending through
  the real `TelegramCheckinSender` with the flood limiter at rate 0; every run sends one
  tenth of the patients (their first check-in, due at one local time), until nothing is
  due, and the fake server's messages per chat show whether any check-in went twice;
* the child's peak resident memory after the ticks and at the end.

Its first run found the empty tick at 260 ms on PostgreSQL: asyncpg prepares every
statement, after five runs PostgreSQL may switch one to a generic plan, and has_work's
generic plan scanned every check-in. `PostgresDatabase` now sets `plan_cache_mode =
force_custom_plan` on its connections (0.9 ms on the same rows).

Run: AFTERGLOW_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
     python benchmarks/bench_postgres.py [--patients 100000] [--keep DIR] [--keep-db]
     [--as-copied]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "true")

import bench_history_cost as history
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.domain.clock import ManualClock
from bot.domain.entities import Clinic, SafetyContacts
from bot.fake_telegram import FakeTelegramServer
from bot.runtime.application import flood_limiter
from bot.runtime.content import Content, load_content, load_protocol
from bot.services.container import Outside, Services, StaffWatch, build_services
from bot.services.enrolment import EnrolmentService
from bot.telegram.charts import MoodCharts
from bot.telegram.history_chart import HistoryCharts
from bot.telegram.senders import (
    TelegramCheckinSender,
    TelegramPatientSender,
    TelegramQuestionnaireSender,
    TelegramStaffSender,
    TelegramUrgentMessenger,
)
from bot.telegram.texts import CHECKIN_PROMPT
from bot.telegram.wording import TelegramWording
from storage import Storage, copy_to_postgres, postgres_url

URL_ENV = "AFTERGLOW_BENCH_POSTGRES_URL"
TOKEN = "123456:POSTGRES-benchmark"
TZ = history.TZ
FIRST_USER = history.FIRST_USER
# One patient in ten per local time; the first three times of day 1 are the three runs.
TIMES = history.TIMES
RUNS = ((1, "06:00"), (2, "07:00"), (4, "07:30"))
QUIET = "05:00"  # day 1, before any check-in is due
TICKS = 200
STAFF_CHAT = -1
OWNER = 1
RUN_DEADLINE_S = 600.0
MAX_TICKS_PER_RUN = 5_000


def log(message: str) -> None:
    """Progress, on stderr (stdout of a child carries its figures)."""
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """Return the peak resident set size of this process in MB (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def remove(path: Path) -> None:
    """Delete a database file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- building ------------------------------------------------------------------------------


async def build(path: Path, patients: int) -> None:
    """Enrol `patients` patients, each at one of TIMES, with one infusion and its plan."""
    clock = ManualClock(history.local(0, "08:00"))
    protocol = load_protocol()
    storage = await Storage.open(path)
    await history.fast_writes(storage, True)
    enrolment = EnrolmentService(storage, clock, timezone=TZ, default_time="18:00")
    care = history.care_service(storage, clock, protocol)
    began = time.perf_counter()
    try:
        for n in range(patients):
            user_id = FIRST_USER + n
            invitation = await enrolment.invite(staff_id=OWNER, label=None, update_id=None)
            assert invitation is not None
            await enrolment.redeem(payload=invitation.token, user_id=user_id, chat_id=user_id)
            patient, _ = await enrolment.consent(user_id=user_id)
            assert patient is not None
            await care.change_time(patient, TIMES[n % len(TIMES)])
            await care.record_infusion(args=[patient.code], staff_id=OWNER, update_id=None)
            if (n + 1) % 10_000 == 0:
                rate = (n + 1) / (time.perf_counter() - began)
                log(f"  {n + 1:,} patients ({rate:.0f}/s)")
        await history.fast_writes(storage, False)
    finally:
        await storage.close()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


# --- the fake Bot API server (its own process) ----------------------------------------------


async def telegram_side(patients: int) -> None:
    """Child process: the fake server; on each "count" line, what arrived since the last."""
    async with FakeTelegramServer(token=TOKEN, bot_username="afterglow_pg_bench_bot") as server:
        for uid in range(FIRST_USER, FIRST_USER + patients):
            server.add_user(first_name="P", user_id=uid)
        print(server.base_url, flush=True)
        loop = asyncio.get_running_loop()
        seen = 0
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "count":
            sent = server.sent
            new = sent[seen:]
            seen = len(sent)
            prompts = Counter(m.chat_id for m in new if m.text == CHECKIN_PROMPT)
            counts = {
                "messages": len(new),
                "prompts": sum(prompts.values()),
                "chats": len(prompts),
                "max_per_chat": max(prompts.values(), default=0),
                "chats_twice": sum(1 for c in prompts.values() if c > 1),
                "server_errors": len(server.internal_errors),
            }
            print(json.dumps(counts), flush=True)
        print(f"{peak_rss_mb():.0f}", flush=True)


class TelegramProcess:
    """The fake server's process, seen from the measuring side."""

    def __init__(self, proc: asyncio.subprocess.Process, base_url: str) -> None:
        self.proc = proc
        self.base_url = base_url

    @classmethod
    async def start(cls, patients: int) -> TelegramProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--telegram-side",
            "--patients",
            str(patients),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=600)
        return cls(proc, line.decode().strip())

    async def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(f"{command}\n".encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=120)
        return line.decode().strip()

    async def count(self) -> dict[str, int]:
        found: dict[str, int] = json.loads(await self.ask("count"))
        return found

    async def stop(self) -> str:
        peak = await self.ask("")
        await asyncio.wait_for(self.proc.wait(), timeout=60)
        return peak


# --- one instance of the bot (its own Storage, Bot and services) ------------------------------


@dataclass
class Instance:
    """What one running bot holds: its database pool, its Bot, its services."""

    storage: Storage
    bot: ExtBot[int]
    services: Services

    async def close(self) -> None:
        await self.bot.shutdown()
        await self.storage.close()


def clinic() -> Clinic:
    return Clinic(
        timezone=TZ,
        staff_chat_id=STAFF_CHAT,
        staff_ids=frozenset({OWNER}),
        contacts=SafetyContacts("call or text 988", "911"),
    )


async def instance(
    location: Path | str, clock: ManualClock, content: Content, base_url: str
) -> tuple[Instance, float]:
    """Open storage and wire the services as post_init does; return it and the open's s."""
    began = time.perf_counter()
    storage = await Storage.open(location)
    opened = time.perf_counter() - began
    limiter = flood_limiter(0)
    bot: ExtBot[int] = ExtBot(
        TOKEN,
        base_url=base_url,
        request=HTTPXRequest(connection_pool_size=64),
        rate_limiter=limiter,
    )
    await bot.initialize()
    the_clinic = clinic()
    outside = Outside(
        checkins=TelegramCheckinSender(bot),
        staff=TelegramStaffSender(bot, bot),
        patients=TelegramPatientSender(bot),
        urgent=TelegramUrgentMessenger(bot),
        questionnaires=TelegramQuestionnaireSender(bot),
        wording=TelegramWording(the_clinic.contacts, TZ),
        charts=MoodCharts(),
        history=HistoryCharts(),
        permits=limiter,
    )
    services = build_services(
        storage,
        clock,
        clinic=the_clinic,
        protocol=content.protocol,
        library=content.library,
        net=content.net,
        questionnaires=content.questionnaires,
        outside=outside,
        on_staff_chat_moved=lambda chat_id: None,
        staff_watch=StaffWatch(joined=lambda ids: None, removed=lambda ids: None),
    )
    return Instance(storage, bot, services), opened


async def timed_ms(work: Callable[[], Awaitable[object]]) -> float:
    t0 = time.perf_counter()
    await work()
    return (time.perf_counter() - t0) * 1000


async def start_up(svc: Services, clock: ManualClock, content: Content) -> dict[str, float]:
    """Time the storage work of post_init, in its order (ms each)."""
    since = clock.now() - content.protocol.answer_window * 2
    return {
        "roster.load": await timed_ms(svc.roster.load),
        "alerts.staff_chat_id": await timed_ms(svc.alerts.staff_chat_id),
        "inbox.adopt": await timed_ms(lambda: svc.storage.inbox.adopt(by=None, alive=())),
        "dispatcher.recover": await timed_ms(svc.dispatcher.recover),
        "trends.review_recent_misses": await timed_ms(
            lambda: svc.trends.review_recent_misses(since)
        ),
    }


@dataclass
class Sent:
    """What one dispatcher did in one run."""

    ticks: int = 0
    sent: int = 0
    uncertain: int = 0
    retry_later: int = 0
    failed: int = 0


async def until_nothing_due(svc: Services, deadline: float) -> Sent:
    """Tick one dispatcher until a tick finds nothing to do (bounded in ticks and time)."""
    done = Sent()
    idle = 0
    while done.ticks < MAX_TICKS_PER_RUN and time.perf_counter() < deadline:
        report = await svc.dispatcher.tick()
        done.ticks += 1
        if not report.ran:
            break
        done.sent += report.sent
        done.uncertain += report.uncertain
        done.retry_later += report.retry_later
        done.failed += report.failed
        claimed = report.sent + report.uncertain + report.retry_later + report.failed
        idle = 0 if claimed else idle + 1
        if idle >= 3:
            # Work left that this pass may not take (a retry held for later): stop here.
            break
        await asyncio.sleep(0)
    return done


async def raw_has_work(
    storage: Storage, location: Path | str, clock: ManualClock, content: Content
) -> float:
    """Median ms of the empty tick's one statement alone, on one connection held open.

    What the repository adds on top (a pool checkout, PostgreSQL's pre-ping, aiosqlite's
    thread hop) is the difference from the tick.
    """
    recorder = history.Recorder(storage)
    await storage.checkins.has_work(clock.now(), content.protocol.answer_window)
    assert recorder.last is not None
    sql, params = recorder.last
    vars(storage.database).pop("fetch_all")  # the repository's own method again
    if isinstance(location, Path):
        return history.raw_us(location, sql, params, TICKS) / 1000
    parts = sql.split("?")
    named = parts[0] + "".join(f":p{n}{part}" for n, part in enumerate(parts[1:]))
    binds = {f"p{n}": value for n, value in enumerate(params)}
    engine = create_async_engine(postgres_url(location), poolclass=NullPool)
    samples = []
    try:
        async with engine.connect() as conn:
            statement = text(named)
            for _ in range(TICKS):
                t0 = time.perf_counter()
                (await conn.execute(statement, binds)).fetchall()
                samples.append((time.perf_counter() - t0) * 1000)
    finally:
        await engine.dispose()
    return statistics.median(samples)


async def count_one(storage: Storage, sql: str, params: tuple[object, ...]) -> int:
    row = await storage.database.fetch_one(sql, params)
    return int(row[0]) if row is not None else 0


async def claim_and_send(
    location: Path | str,
    first: Instance,
    clock: ManualClock,
    content: Content,
    telegram: TelegramProcess,
    dispatchers: int,
    slot: str,
) -> dict[str, Any]:
    """One run: `dispatchers` instances send what is due at `slot` on day 1."""
    moment = history.local(1, slot)
    clock.set(moment)
    storage = first.storage
    due = await count_one(
        storage,
        "SELECT count(*) FROM checkins WHERE state = 'pending' AND due_at <= ?",
        (int(moment.timestamp()),),
    )
    others = [
        (await instance(location, clock, content, telegram.base_url))[0]
        for _ in range(dispatchers - 1)
    ]
    try:
        await telegram.count()  # mark: only this run's messages are counted below
        instances = [first, *others]
        began = time.perf_counter()
        outcomes = await asyncio.gather(
            *(until_nothing_due(i.services, began + RUN_DEADLINE_S) for i in instances),
            return_exceptions=True,
        )
        elapsed = time.perf_counter() - began
    finally:
        for other in others:
            await other.close()
    received = await telegram.count()
    sent_rows = await count_one(
        storage,
        "SELECT count(*) FROM checkins WHERE state = 'sent' AND sent_at = ?"
        " AND delivery = 'confirmed'",
        (int(moment.timestamp()),),
    )
    results = [r if isinstance(r, Sent) else Sent() for r in outcomes]
    errors = [f"{type(r).__name__}: {r}" for r in outcomes if isinstance(r, BaseException)]
    sent = sum(r.sent for r in results)
    return {
        "errors": errors,
        "dispatchers": dispatchers,
        "due": due,
        "seconds": elapsed,
        "sent": sent,
        "per_dispatcher": [r.sent for r in results],
        "ticks": [r.ticks for r in results],
        "uncertain": sum(r.uncertain for r in results),
        "retry_later": sum(r.retry_later for r in results),
        "failed": sum(r.failed for r in results),
        "confirmed_rows": sent_rows,
        "server": received,
    }


async def measure(backend: str, location: Path | str, patients: int) -> dict[str, Any]:
    """Child process: every figure of one backend, returned as JSON-able data."""
    content = load_content()
    telegram = await TelegramProcess.start(patients)
    clock = ManualClock(history.local(1, QUIET))
    log(f"[{backend}] fake server at {telegram.base_url}; opening the database")
    first, opened = await instance(location, clock, content, telegram.base_url)
    figures: dict[str, Any] = {"backend": backend, "open_s": opened}
    try:
        figures["rows"] = await count_one(first.storage, "SELECT count(*) FROM checkins", ())
        steps = await start_up(first.services, clock, content)
        figures["startup_ms"] = steps
        log(f"[{backend}] open {opened:.2f} s; start-up queries {steps}")
        samples = []
        for _ in range(TICKS):
            t0 = time.perf_counter()
            report = await first.services.dispatcher.tick()
            samples.append((time.perf_counter() - t0) * 1000)
            assert not report.ran, "something was due at the quiet hour"
        figures["tick_median_ms"] = statistics.median(samples)
        figures["tick_p95_ms"] = statistics.quantiles(samples, n=20)[-1]
        figures["has_work_raw_ms"] = await raw_has_work(first.storage, location, clock, content)
        figures["rss_after_ticks_mb"] = peak_rss_mb()
        log(
            f"[{backend}] empty tick median {figures['tick_median_ms']:.3f} ms;"
            f" peak RSS {figures['rss_after_ticks_mb']:.0f} MB"
        )
        runs = []
        for dispatchers, slot in RUNS:
            run = await claim_and_send(
                location, first, clock, content, telegram, dispatchers, slot
            )
            log(f"[{backend}] {json.dumps(run)}")
            runs.append(run)
        figures["runs"] = runs
    finally:
        await first.close()
        figures["fake_server_rss_mb"] = await telegram.stop()
    figures["rss_end_mb"] = peak_rss_mb()
    return figures


# --- the parent: build, copy, run both children, print ----------------------------------------


async def admin(url: URL, sql: str) -> list[Any]:
    """Run one statement on the admin database (autocommit: CREATE/DROP DATABASE)."""
    engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(sql))
            return list(result.fetchall()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def server_facts(url: URL) -> dict[str, str]:
    """The server's version and the settings that decide what its figures mean."""
    names = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "autovacuum")
    rows = await admin(
        url,
        "SELECT name, setting, unit FROM pg_settings WHERE name IN ("
        + ", ".join(f"'{name}'" for name in names)
        + ")",
    )
    facts = {str(r[0]): f"{r[1]}{'' if r[2] in (None, '') else ' x ' + str(r[2])}" for r in rows}
    facts["version"] = str((await admin(url, "SHOW server_version"))[0][0])
    return facts


async def table_stats(url: URL) -> str:
    rows = await admin(
        url,
        "SELECT relname, n_live_tup, last_analyze, last_autoanalyze FROM pg_stat_user_tables"
        " WHERE relname IN ('checkins', 'patients') ORDER BY relname",
    )
    return "; ".join(
        f"{r[0]}: ~{r[1]:,} live rows, analyzed {r[2] or r[3] or 'never'}" for r in rows
    )


def run_child(backend: str, location: str, patients: int) -> dict[str, Any]:
    """Measure one backend in a fresh process; return its figures."""
    began = time.perf_counter()
    done = subprocess_run(
        [sys.executable, __file__, "--child", backend, location, "--patients", str(patients)]
    )
    figures: dict[str, Any] = json.loads(done.splitlines()[-1])
    figures["child_s"] = time.perf_counter() - began
    return figures


def subprocess_run(command: list[str]) -> str:
    done = subprocess.run(command, stdout=subprocess.PIPE, check=True, timeout=3600)
    return done.stdout.decode()


def ms(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def table(results: list[dict[str, Any]]) -> list[str]:
    """The Markdown table: one row per figure, one column per backend."""
    rows: list[tuple[str, list[str]]] = [
        ("check-in rows", [f"{r['rows']:,}" for r in results]),
        ("empty tick, median ms", [ms(r["tick_median_ms"]) for r in results]),
        (f"empty tick, p95 ms ({TICKS} ticks)", [ms(r["tick_p95_ms"]) for r in results]),
        (
            "  its has_work statement alone, held connection, median ms",
            [ms(r["has_work_raw_ms"]) for r in results],
        ),
    ]
    for n, (dispatchers, _slot) in enumerate(RUNS):
        cells = []
        for r in results:
            run = r["runs"][n]
            cells.append(
                f"{run['sent'] / run['seconds']:,.0f} ({run['sent']:,} in {run['seconds']:.1f} s)"
            )
        rows.append((f"claim+send, {dispatchers} dispatcher(s), sends/s", cells))
    for n, (dispatchers, _slot) in enumerate(RUNS):
        rows.append(
            (
                f"  sends per dispatcher ({dispatchers})",
                [" / ".join(f"{x:,}" for x in r["runs"][n]["per_dispatcher"]) for r in results],
            )
        )
    rows.append(("Storage.open() s", [f"{r['open_s']:.3f}" for r in results]))
    steps = list(results[0]["startup_ms"])
    for step in steps:
        rows.append((f"  {step} ms", [ms(r["startup_ms"][step]) for r in results]))
    rows.append(
        (
            "start-up total (open + queries) ms",
            [ms(r["open_s"] * 1000 + sum(r["startup_ms"].values())) for r in results],
        )
    )
    rows.append(
        ("peak RSS after open + ticks MB", [f"{r['rss_after_ticks_mb']:.0f}" for r in results])
    )
    rows.append(
        ("peak RSS at end (after 4 instances) MB", [f"{r['rss_end_mb']:.0f}" for r in results])
    )
    lines = [
        "| measure | " + " | ".join(r["label"] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    return lines


def verification(results: list[dict[str, Any]]) -> list[str]:
    """Say, per run, whether every due check-in was sent exactly once."""
    lines = []
    for r in results:
        for run in r["runs"]:
            server = run["server"]
            complete = (
                run["sent"] == run["due"] == server["prompts"] == server["chats"]
                and run["confirmed_rows"] == run["due"]
                and run["uncertain"] == run["retry_later"] == run["failed"] == 0
                and not run["errors"]
            )
            if server["max_per_chat"] > 1:
                verdict = "DUPLICATES"
            elif not complete:
                verdict = "INCOMPLETE (but none twice)"
            else:
                verdict = "OK: each sent exactly once"

            lines.append(
                f"- {r['label']}, {run['dispatchers']} dispatcher(s): due {run['due']:,},"
                f" sent {run['sent']:,}, rows confirmed {run['confirmed_rows']:,};"
                f" server got {server['prompts']:,} prompts in {server['chats']:,} chats,"
                f" at most {server['max_per_chat']} per chat, {server['chats_twice']} chats"
                f" twice ({server['messages']:,} messages in all); uncertain"
                f" {run['uncertain']}, retry {run['retry_later']}, failed {run['failed']}"
                + (
                    f", dispatcher errors: {'; '.join(run['errors'])[:300]}"
                    if run["errors"]
                    else ""
                )
                + f" -> {verdict}"
            )
    return lines


@dataclass
class Target:
    """One column of the table: a backend, where its data is, and how it was made."""

    label: str
    backend: str
    location: str = ""
    database: str | None = None
    phases: dict[str, Any] | None = None


async def built_file(patients: int, keep: Path) -> tuple[Path, float | None]:
    """Return the cached SQLite file, building it first if absent (and the build's s)."""
    built = keep / f"postgres-bench-{patients}.db"
    if built.exists():
        log(f"reusing {built}")
        return built, None
    log(f"building {patients:,} patients into {built} ...")
    partial = keep / f"postgres-bench-{patients}.db.building"
    remove(partial)
    began = time.perf_counter()
    await build(partial, patients)
    took = time.perf_counter() - began
    partial.rename(built)
    remove(partial)  # its -wal and -shm, if any are left
    return built, took


async def copy_into(base: URL, target: Target, built: Path, settle: bool) -> None:
    """Create the target's database, copy the file into it, settle it."""
    assert target.database is not None
    name = target.database
    await admin(base, f'CREATE DATABASE "{name}"')
    target.location = base.set(database=name).render_as_string(hide_password=False)
    log(f"copying into PostgreSQL database {name} ...")
    phases: dict[str, Any] = {}
    began = time.perf_counter()
    report = await copy_to_postgres(built, target.location)
    phases["copy_s"] = time.perf_counter() - began
    phases["copy_rows"] = report.rows
    phases["stats_after_copy"] = await table_stats(base.set(database=name))
    if settle:
        # What autovacuum would do within a minute or two of the copy, done now so that it
        # does not run (on the same cores) in the middle of the measurements.
        began = time.perf_counter()
        await admin(base.set(database=name), "VACUUM (ANALYZE)")
        phases["vacuum_analyze_s"] = time.perf_counter() - began
    target.phases = phases


def header(facts: dict[str, str], patients: int) -> list[str]:
    durable = facts.get("fsync") == "on" and facts.get("synchronous_commit") == "on"
    lines = [
        "# Afterglow: SQLite and PostgreSQL on the same data",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()}"
        f" {platform.release()}; Python {platform.python_version()}",
        f"- SQLite {sqlite3.sqlite_version} (synchronous = FULL, WAL, as shipped)",
        f"- PostgreSQL server {facts['version']} on 127.0.0.1: fsync={facts.get('fsync')},"
        f" synchronous_commit={facts.get('synchronous_commit')},"
        f" full_page_writes={facts.get('full_page_writes')},"
        f" shared_buffers={facts.get('shared_buffers')}, autovacuum={facts.get('autovacuum')}",
        f"- data: {patients:,} patients, one infusion each with its full plan",
    ]
    if not durable:
        lines.append(
            "- NOTE: this PostgreSQL cluster does not flush commits to disk (fsync or"
            " synchronous_commit off), SQLite does: write figures are relative, not what a"
            " durable server gives"
        )
    return lines


async def main(patients: int, keep: Path, keep_db: bool, settle: bool) -> None:
    raw = os.environ.get(URL_ENV)
    if not raw:
        sys.exit(f"set {URL_ENV} to an admin URL, e.g. postgresql://postgres@127.0.0.1/postgres")
    base = postgres_url(raw)
    if base.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"{URL_ENV} must point at 127.0.0.1: this benchmark stays local")
    facts = await server_facts(base)
    began = time.perf_counter()
    built, build_s = await built_file(patients, keep)
    measured = keep / f"postgres-bench-{patients}.measured.db"
    run = secrets.token_hex(4)
    targets = [
        Target("SQLite", "sqlite", str(measured)),
        Target("PostgreSQL", "postgresql", database=f"bench_{run}"),
    ]
    created: list[str] = []
    results = []
    try:
        remove(measured)
        shutil.copyfile(built, measured)
        for target in targets:
            if target.database is not None:
                created.append(target.database)
                await copy_into(base, target, built, settle)
        for target in targets:
            log(f"measuring {target.label} in a child process ...")
            figures = await asyncio.to_thread(run_child, target.backend, target.location, patients)
            figures["label"] = target.label
            results.append(figures)
        for target in targets:
            if target.database is not None and target.phases is not None:
                target.phases["stats_at_end"] = await table_stats(
                    base.set(database=target.database)
                )
    finally:
        remove(measured)
        if not keep_db:
            for name in created:
                await admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print("\n".join(header(facts, patients)))
    print()
    print("\n".join(table(results)))
    print()
    print("Verification (messages per chat counted on the fake server):")
    print("\n".join(verification(results)))
    print()
    print("Phases:")
    print(
        "- build through the services: "
        + (f"{build_s:.0f} s" if build_s is not None else "reused from --keep")
        + f" ({built.stat().st_size / 1e6:,.0f} MB file)"
    )
    for target in targets:
        if target.phases is None:
            continue
        phases = target.phases
        print(
            f"- copy_to_postgres into {target.database}: {phases['copy_s']:.1f} s for"
            f" {phases['copy_rows']:,} rows ({phases['copy_rows'] / phases['copy_s']:,.0f}"
            " rows/s)"
            + (
                f"; then VACUUM (ANALYZE) {phases['vacuum_analyze_s']:.1f} s"
                if "vacuum_analyze_s" in phases
                else "; measured as copied (no VACUUM/ANALYZE)"
            )
        )
        print(f"  statistics right after the copy: {phases['stats_after_copy']}")
        print(f"  statistics at the end: {phases['stats_at_end']}")
    for r in results:
        print(f"- {r['label']} child process: {r['child_s']:.0f} s in all")
    print(f"- whole run: {time.perf_counter() - began:.0f} s")
    print(
        f"- PostgreSQL databases {', '.join(created)}: "
        + ("kept (--keep-db)" if keep_db else "dropped")
    )
    print()
    print(
        "Each dispatcher is a separate instance: its own Storage (SQLite connections or a"
        " PostgreSQL pool), Bot and services, all in one Python process and event loop, so"
        " they share one core; the fake server runs in a process of its own and the"
        " PostgreSQL server in its own processes, on the same machine. With SQLite the"
        " instances share one file: a real deployment runs one instance per file (the"
        " instance lock refuses a second), so SQLite's 2 and 4 are a stress test of the file"
        " lock (busy_timeout), not a supported set-up."
    )


def child(backend: str, location: str, patients: int) -> None:
    where: Path | str = Path(location) if backend == "sqlite" else location
    figures = asyncio.run(measure(backend, where, patients))
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument(
        "--keep", type=Path, default=None, help="folder to keep the SQLite file in"
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="do not drop the PostgreSQL database"
    )
    parser.add_argument(
        "--as-copied",
        action="store_true",
        help="measure PostgreSQL without the VACUUM (ANALYZE) after the copy",
    )
    parser.add_argument("--telegram-side", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--child", nargs=2, metavar=("BACKEND", "LOCATION"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.telegram_side:
        asyncio.run(telegram_side(args.patients))
    elif args.child:
        child(args.child[0], args.child[1], args.patients)
    elif args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        asyncio.run(main(args.patients, args.keep, args.keep_db, not args.as_copied))
    else:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(
                main(
                    args.patients,
                    Path(folder),
                    args.keep_db,
                    not args.as_copied,
                )
            )
    sys.exit(0)
