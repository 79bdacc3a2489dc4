"""Benchmark the queries whose cost must not grow with history (issue 16), on SQLite.

For each size (1,000 / 10,000 / 50,000 patients by default) a database is built through the
real services and repositories, with history behind it:

* every patient enrolled, with a first infusion whose 91-day plan (35 check-ins) has run
  out: the dispatcher's housekeeping closed it day by day (as not sent in the window: the
  same rows and indexes as answered history, and quicker to build than 35 answers each);
* one patient in ten stopped since (they keep their rows), one in fifty paused;
* PHQ-9 and GAD-7 started (and expired) a week ago for 99% of patients, 15 days ago for the
  other 1% (so a few questionnaires are due, as on an ordinary day);
* a second infusion with a fresh plan; one patient in a hundred left yesterday's check-in
  unanswered (a recent miss).

Then, on that database, it prints:

* the start-up review of recent misses: the query alone and the whole review (ms);
* a dispatcher tick with nothing due (ms) and the housekeeping of a tick with work (ms);
* the open-check-in lookup for typed text (µs), through the repository and the statement
  alone on a plain sqlite3 connection;
* plan_candidates, the questionnaire planner's query run on every pass (ms).

Databases are kept with --keep DIR and reused when present, so the figures before and after
a schema change are taken on the same rows (opening a kept database applies any newer
migration first, as start-up does).

Run: python benchmarks/bench_history_cost.py [--sizes 1000,10000,50000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.domain.clock import ManualClock
from bot.domain.codes import PatientStatus, QuestionnaireOrigin
from bot.domain.delivery import Delivered, SendOutcome
from bot.domain.entities import Alert, SafetyContacts
from bot.domain.protocol import Protocol
from bot.runtime.content import load_protocol
from bot.services.alerts import AlertService
from bot.services.care import CareService
from bot.services.dispatcher import Dispatcher
from bot.services.enrolment import EnrolmentService
from bot.services.silence import SilenceService
from bot.services.trends import TrendService
from bot.telegram.wording import TelegramWording
from storage import Storage

TZ = ZoneInfo("Europe/Berlin")
DAY0 = date(2026, 1, 5)
# One patient in ten is asked at 06:00; the rest are spread over other times of day.
TIMES = ["06:00", "07:00", "07:30", "08:00", "08:30", "10:00", "12:00", "18:00", "20:00", "21:00"]
FIRST_USER = 10_000_000
INSTRUMENTS = ("phq9", "gad7")


def local(day: int, hhmm: str) -> datetime:
    """Return the UTC moment of a local time on day `day` after DAY0."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    moment = datetime.combine(DAY0 + timedelta(days=day), clock_time(hours, minutes), TZ)
    return moment.astimezone(UTC)


class NoSender:
    """Senders that are never reached: the benchmark only runs ticks with nothing to send."""

    async def send_checkin(
        self, chat_id: int, checkin_id: int, *, prepaid: bool = False
    ) -> SendOutcome:
        raise AssertionError("nothing is sent in this benchmark")

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> SendOutcome:
        return Delivered(message_id=1)

    async def send_escalation(
        self, chat_id: int, alert: Alert, *, waited: timedelta
    ) -> SendOutcome:
        return Delivered(message_id=2)


async def no_chart(alert: Alert) -> bytes | None:
    del alert
    return None


class Recorder:
    """Remembers the last read statement the database ran, to time it without aiosqlite."""

    def __init__(self, storage: Storage) -> None:
        self.last: tuple[str, Sequence[object]] | None = None
        db = storage.database
        inner = db.fetch_all

        async def fetch_all(sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
            self.last = (sql, tuple(params))
            return await inner(sql, params)

        db.fetch_all = fetch_all  # type: ignore[method-assign]


WORDING = TelegramWording(SafetyContacts("call or text 988", "911"), TZ)


def alert_service(storage: Storage, clock: ManualClock) -> AlertService:
    """Return an alert service over a staff chat that accepts everything."""
    return AlertService(
        storage,
        clock,
        NoSender(),
        staff_chat_id=-1,
        chart=no_chart,
        on_staff_chat_moved=lambda chat_id: None,
        escalate_after=timedelta(minutes=15),
    )


def care_service(storage: Storage, clock: ManualClock, protocol: Protocol) -> CareService:
    """Return the care service as the bot wires it, over a staff chat that takes everything."""
    silence = SilenceService(
        storage,
        clock,
        alerts=alert_service(storage, clock),
        wording=WORDING,
        pause_alert_after=protocol.pause_alert_after,
    )
    return CareService(storage, clock, protocol=protocol, timezone=TZ, silence=silence)


async def fast_writes(storage: Storage, on: bool) -> None:
    """Building only: skip fsync while seeding; measurements run with the shipped pragma."""
    await storage.database.write_one(f"PRAGMA synchronous = {'OFF' if on else 'FULL'}")


async def build(path: Path, patients: int) -> None:
    """Create the database described in the module docstring."""
    clock = ManualClock(local(0, "08:00"))
    protocol = load_protocol()
    storage = await Storage.open(path)
    await fast_writes(storage, True)
    enrolment = EnrolmentService(storage, clock, timezone=TZ, default_time="18:00")
    care = care_service(storage, clock, protocol)
    try:
        await populate(storage, clock, enrolment, care, patients)
    finally:
        await storage.close()


async def populate(
    storage: Storage,
    clock: ManualClock,
    enrolment: EnrolmentService,
    care: CareService,
    patients: int,
) -> None:
    """Enrol, plan, age and stop patients (see the module docstring)."""
    protocol = load_protocol()
    checkins = storage.checkins
    began = time.perf_counter()
    codes: list[str] = []
    ids: list[int] = []
    for n in range(patients):
        user_id = FIRST_USER + n
        invitation = await enrolment.invite(staff_id=1, label=None, update_id=None)
        assert invitation is not None
        await enrolment.redeem(payload=invitation.token, user_id=user_id, chat_id=user_id)
        patient, _ = await enrolment.consent(user_id=user_id)
        assert patient is not None
        await care.change_time(patient, TIMES[n % len(TIMES)])
        await care.record_infusion(args=[patient.code], staff_id=1, update_id=None)
        codes.append(patient.code)
        ids.append(patient.id)

    async def housekeep(day: int) -> None:
        clock.set(local(day, "05:00"))
        await checkins.housekeeping(
            clock.now(), send_window=protocol.send_window, answer_window=protocol.answer_window
        )

    chat_of = {patient_id: FIRST_USER + n for n, patient_id in enumerate(ids)}
    stopped = set(ids[5::10])
    paused = set(ids[7::50])
    for day in range(1, 93):
        await housekeep(day)
        if day == 60:
            clock.set(local(day, "12:00"))
            for patient_id in sorted(stopped):
                await storage.patients.set_status(
                    patient_id,
                    PatientStatus.STOPPED,
                    now=clock.now(),
                    only_from={PatientStatus.ACTIVE},
                )
        if day in (78, 88):
            await start_questionnaires(storage, clock, day, ids, chat_of, stopped)
    clock.set(local(92, "08:00"))
    for code, patient_id in zip(codes, ids, strict=True):
        if patient_id not in stopped:
            await care.record_infusion(args=[code], staff_id=1, update_id=None)
    clock.set(local(93, "05:30"))
    for patient_id in sorted(paused):
        await storage.patients.set_status(
            patient_id, PatientStatus.PAUSED, now=clock.now(), only_from={PatientStatus.ACTIVE}
        )
    # Day 93, 06:00: one patient in a hundred gets the check-in and never answers it.
    clock.set(local(93, "06:00"))
    await claim(storage, clock.now(), patients // 100)
    # Day 94, 07:00: housekeeping records those as missed (and what was not sent as such).
    clock.set(local(94, "07:00"))
    await checkins.housekeeping(
        clock.now(), send_window=protocol.send_window, answer_window=protocol.answer_window
    )
    await fast_writes(storage, False)
    print(f"  built {patients} patients in {time.perf_counter() - began:.0f} s", flush=True)


async def start_questionnaires(
    storage: Storage,
    clock: ManualClock,
    day: int,
    ids: list[int],
    chat_of: dict[int, int],
    stopped: set[int],
) -> None:
    """Start (and let expire) each instrument: on day 78 for 1% of patients, 88 the rest."""
    chosen = [patient_id for patient_id in ids if (patient_id % 100 == 3) == (day == 78)]
    for hour, instrument in zip(("12:00", "14:00"), INSTRUMENTS, strict=True):
        clock.set(local(day, hour))
        for patient_id in chosen:
            if patient_id not in stopped:
                await storage.questionnaires.start(
                    patient_id=patient_id,
                    chat_id=chat_of[patient_id],
                    instrument=instrument,
                    origin=QuestionnaireOrigin.INTERVAL,
                    now=clock.now(),
                    expire_after=timedelta(hours=1),
                    update_id=None,
                )
        clock.set(local(day, hour) + timedelta(hours=1))
        await storage.questionnaires.expire_due(clock.now())


async def claim(storage: Storage, now: datetime, count: int) -> list[int]:
    """Claim up to `count` due check-ins as the dispatcher does, and confirm them sent."""
    patient_ids: list[int] = []
    while len(patient_ids) < count:
        due = await storage.checkins.claim_due(now, limit=min(50, count - len(patient_ids)))
        if not due:
            break
        for item in due:
            await storage.checkins.confirm_sent(item.checkin.id, message_id=item.checkin.id)
            patient_ids.append(item.checkin.patient_id)
    return patient_ids


async def median_ms(work: Callable[[], Awaitable[object]], rounds: int) -> tuple[float, float]:
    """Return the median and the largest time of `rounds` runs, in ms."""
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), max(samples)


def raw_us(path: Path, sql: str, params: Sequence[object], rounds: int) -> float:
    """Return the median µs of one statement on a plain sqlite3 connection."""
    conn = sqlite3.connect(path)
    try:
        samples = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            conn.execute(sql, params).fetchall()
            samples.append((time.perf_counter() - t0) * 1_000_000)
        return statistics.median(samples)
    finally:
        conn.close()


async def measure(path: Path, patients: int) -> dict[str, str]:
    """Measure one database (it is changed: a copy is measured when it is kept)."""
    clock = ManualClock(local(94, "08:00"))
    began = time.perf_counter()
    storage = await Storage.open(path)
    opened = time.perf_counter() - began
    figures: dict[str, str] = {"patients": str(patients), "open+migrate s": f"{opened:.2f}"}
    row = await storage.database.fetch_one("SELECT count(*) FROM checkins")
    figures["check-ins"] = f"{row[0] if row else 0:,}"
    try:
        return await measure_open(storage, clock, figures)
    finally:
        await storage.close()


async def measure_open(
    storage: Storage, clock: ManualClock, figures: dict[str, str]
) -> dict[str, str]:
    """Take the figures on an open database."""
    protocol = load_protocol()
    path = storage.database.path
    patients = int(figures["patients"])
    recorder = Recorder(storage)
    sender = NoSender()
    trends = TrendService(
        storage,
        clock,
        alerts=alert_service(storage, clock),
        wording=WORDING,
        config=protocol.detection,
        adaptive=protocol.adaptive,
        default_time=protocol.default_time,
    )
    since = clock.now() - protocol.answer_window * 2
    # The review is measured first, once per round on a fresh copy it would open alerts:
    # the query alone is timed over several rounds, the whole review once.
    missed = await storage.answers.patients_with_misses(since)
    query, _ = await median_ms(lambda: storage.answers.patients_with_misses(since), 9)
    figures["misses query ms"] = f"{query:.2f}"
    t0 = time.perf_counter()
    reviewed = await trends.review_recent_misses(since)
    figures["review ms"] = f"{(time.perf_counter() - t0) * 1000:.1f} ({len(missed)} pts)"
    del reviewed

    dispatcher = Dispatcher(storage, clock, sender, protocol=protocol, batch_size=50)
    # Day 95, 05:00: yesterday's rows are closed by one pass, then nothing is due.
    clock.set(local(95, "05:00"))
    await storage.checkins.housekeeping(
        clock.now(), send_window=protocol.send_window, answer_window=protocol.answer_window
    )
    empty, _ = await median_ms(dispatcher.tick, 200)
    figures["empty tick ms"] = f"{empty:.3f}"
    plan = protocol.questionnaires

    async def candidates() -> int:
        return len(
            await storage.questionnaires.plan_candidates(
                clock.now(),
                instruments=plan.planned,
                every=plan.every,
                after_infusion=plan.after_infusion,
            )
        )

    found = await candidates()
    planner, _ = await median_ms(candidates, 9)
    figures["plan_candidates ms"] = f"{planner:.2f} ({found} rows)"
    assert recorder.last is not None
    sql, params = recorder.last
    figures["plan_candidates raw ms"] = f"{raw_us(path, sql, params, 9) / 1000:.2f}"

    # Day 95, 06:00: one patient in ten is due (those paused are cancelled by housekeeping).
    clock.set(local(95, "06:00"))

    async def housekeeping() -> object:
        return await storage.checkins.housekeeping(
            clock.now(), send_window=protocol.send_window, answer_window=protocol.answer_window
        )

    t0 = time.perf_counter()
    first = await housekeeping()
    first_ms = (time.perf_counter() - t0) * 1000
    work, _ = await median_ms(housekeeping, 50)
    figures["housekeeping ms"] = f"{work:.3f} (first {first_ms:.2f})"
    del first

    opened_for = await claim(storage, clock.now(), max(10, patients // 100))
    assert opened_for, "no check-in was due to open"
    lookups = [opened_for[n % len(opened_for)] for n in range(2000)]
    position = iter(lookups)

    async def typed() -> object:
        found = await storage.checkins.open_for_patient(next(position))
        assert found is not None
        return found

    lookup, _ = await median_ms(typed, len(lookups))
    figures["typed lookup µs"] = f"{lookup * 1000:.0f}"
    assert recorder.last is not None
    sql, params = recorder.last
    figures["typed raw µs"] = f"{raw_us(path, sql, params, 2000):.1f}"
    return figures


def remove(path: Path) -> None:
    """Delete a database file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def main(sizes: list[int], keep: Path) -> None:
    results: dict[int, dict[str, str]] = {}
    for size in sizes:
        built = keep / f"history-{size}.db"
        if not built.exists():
            print(f"building {size} patients ...", flush=True)
            partial = keep / f"history-{size}.db.building"
            remove(partial)
            await build(partial, size)
            partial.rename(built)
        # Measure a copy: the measurement sends, closes and reviews, and migrates.
        copy = keep / f"history-{size}.measured.db"
        remove(copy)
        with sqlite3.connect(built) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        results[size] = await measure(copy, size)
        remove(copy)
        print(f"  {size}: {results[size]}", flush=True)
    keys = [key for key in next(iter(results.values())) if key != "patients"]
    width = max(len(key) for key in keys)
    print()
    print(f"{'patients':<{width}} " + " ".join(f"{size:>22,}" for size in sizes))
    for key in keys:
        print(f"{key:<{width}} " + " ".join(f"{results[size][key]:>22}" for size in sizes))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep databases in")
    args = parser.parse_args()
    chosen = [int(size) for size in args.sizes.split(",")]
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        asyncio.run(main(chosen, args.keep))
    else:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(main(chosen, Path(folder)))
    sys.exit(0)
