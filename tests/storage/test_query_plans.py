"""The hot-path queries stay off full scans of the tables that grow with history.

Each hot path is run through the real repositories on a migrated database with a little of
everything in it; every statement it sends to SQLite is recorded with its parameters (so
the SQL is the repositories' own, never a copy) and its `EXPLAIN QUERY PLAN` is checked.
The plans are the production ones: Afterglow never runs ANALYZE, so SQLite plans from the
schema alone, whatever the row counts. Parameters are bound as the repository binds them,
since SQLite may compile a statement again for the values bound.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiosqlite
import pytest

from bot.domain.codes import AlertKind, PatientStatus, PushKind, QuestionReason, Urgency
from bot.domain.entities import NewAlert, Patient
from storage._claims import CLAIM_LEASE, QUEUED_LEASE
from tests.conftest import STAFF_ID, Domain


@pytest.fixture
def backend() -> str:
    """SQLite's query plans: these run on SQLite only."""
    return "sqlite"


# The tables whose size grows with the patients and their history.
BIG = {"checkins", "patients", "alerts", "questionnaire_responses", "inbox", "infusions"}
# A SCAN is allowed only of these (the whole plan line after "SCAN "), each bounded whatever
# the history, and why:
ALLOWED_SCANS = (
    # The constant row of a SELECT without FROM (the EXISTS pair of has_work).
    re.compile(r"^CONSTANT ROW$"),
    # plan_candidates: the VALUES list of the planned instruments (two by default) ...
    re.compile(r"^\d+ CONSTANT ROWS$"),
    # ... and its CTE over that list, one row per planned instrument.
    re.compile(r"^w$"),
    # recover_unconfirmed: the partial index holds only sent check-ins (at most one open per
    # patient, closed within the answer window), and the statement must look at all of them.
    re.compile(r"^checkins USING INDEX checkins_open$"),
    # recover_unconfirmed's look at whose claims are still unconfirmed (each pass at most
    # once a minute): the partial index holds only the sends in flight, which Telegram
    # answers within seconds, and those a dead instance left until they are flagged.
    re.compile(r"^checkins USING INDEX checkins_unconfirmed$"),
    # The urgent outbox: the partial index holds only unsent messages, which are retried
    # until delivered (a handful at most); sent ones leave it, and the table, within a day.
    re.compile(r"^urgent_outbox USING INDEX urgent_outbox_due$"),
    # The direct questions not yet sent, soonest to escalate first: the partial index holds
    # only open questions, each answered or escalated within an hour of the patient's
    # daytime, so a handful at most; the claim must look at all of them.
    re.compile(r"^safety_questions USING INDEX safety_questions_open$"),
    # The inbox at start-up: the partial index holds only updates not yet handled (what a
    # stop or crash left); handled ones leave it at once. All of them are wanted, in order.
    re.compile(r"^inbox USING INDEX inbox_pending$"),
)


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    params: tuple[object, ...]


class Recorder:
    """Every statement the repositories send to SQLite, through either connection."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    def take(self) -> list[Statement]:
        taken, self.statements = self.statements, []
        return [
            statement
            for statement in taken
            if not re.match(r"^\s*(BEGIN|COMMIT|ROLLBACK|PRAGMA)\b", statement.sql, re.I)
        ]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder()
    execute = aiosqlite.Connection.execute
    execute_fetchall = aiosqlite.Connection.execute_fetchall

    def recorded_execute(
        self: aiosqlite.Connection, sql: str, parameters: Sequence[Any] | None = None
    ) -> Any:
        recording.statements.append(Statement(sql, tuple(parameters or ())))
        return execute(self, sql, parameters)

    def recorded_fetchall(
        self: aiosqlite.Connection, sql: str, parameters: Sequence[Any] | None = None
    ) -> Any:
        recording.statements.append(Statement(sql, tuple(parameters or ())))
        return execute_fetchall(self, sql, parameters)

    monkeypatch.setattr(aiosqlite.Connection, "execute", recorded_execute)
    monkeypatch.setattr(aiosqlite.Connection, "execute_fetchall", recorded_fetchall)
    return recording


def plan_of(domain: Domain, statement: Statement) -> list[str]:
    """Return the plan's lines for a statement, as bound by the repository."""
    with closing(sqlite3.connect(domain.storage.database.path)) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {statement.sql}", statement.params)
        return [str(row[3]) for row in rows]


def full_scans(plan: Sequence[str]) -> list[str]:
    """Return the plan lines that scan a table or index rather than search it."""
    scans = []
    for line in plan:
        match = re.match(r"^SCAN (.+)$", line)
        if match and not any(allowed.match(match.group(1)) for allowed in ALLOWED_SCANS):
            scans.append(line)
    return scans


async def run_path(
    domain: Domain, recorder: Recorder, work: Callable[[], Awaitable[object]]
) -> list[tuple[Statement, list[str]]]:
    """Run one hot path; return each statement it sent with its plan."""
    recorder.take()
    await work()
    statements = recorder.take()
    assert statements, "the hot path sent no statement"
    return [(statement, plan_of(domain, statement)) for statement in statements]


def assert_bounded(plans: list[tuple[Statement, list[str]]]) -> None:
    for statement, plan in plans:
        scans = full_scans(plan)
        assert not scans, f"full scan {scans} in\n{statement.sql}\nplan: {plan}"
        for line in plan:
            # Every table that grows is reached by an index (or its primary key).
            match = re.match(r"^(SEARCH|SCAN) (\w+)", line)
            if match and match.group(2) in BIG:
                assert "USING" in line, f"{line} in\n{statement.sql}"


def uses(plans: list[tuple[Statement, list[str]]], fragment: str, index: str) -> list[str]:
    """Return the plan of the one statement containing `fragment`; it must use `index`."""
    chosen = [plan for statement, plan in plans if fragment in statement.sql]
    assert len(chosen) == 1, f"{len(chosen)} statements contain {fragment!r}"
    assert any(f"INDEX {index} " in f"{line} " for line in chosen[0]), chosen[0]
    return chosen[0]


@pytest.fixture
async def busy(domain: Domain) -> list[Patient]:
    """Patients with plans, one paused, one with an open check-in, one that missed one."""
    patients = [await domain.enrol(100 + n, time="09:00") for n in range(4)]
    for patient in patients:
        await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    await domain.send_next(patients[0].id)
    await domain.send_next(patients[1].id)
    # A day on: patient 1's check-in went unanswered; patient 0's next one is open.
    domain.clock.advance(timedelta(days=1, hours=1))
    await domain.storage.checkins.housekeeping(
        domain.clock.now(),
        send_window=domain.protocol.send_window,
        answer_window=domain.protocol.answer_window,
    )
    await domain.send_next(patients[0].id)
    await domain.storage.patients.set_status(
        patients[3].id,
        PatientStatus.PAUSED,
        now=domain.clock.now(),
        only_from={PatientStatus.ACTIVE},
    )
    domain.clock.advance(timedelta(days=1))
    return patients


async def test_the_dispatcher_pass_is_bounded(
    domain: Domain, recorder: Recorder, busy: list[Patient]
) -> None:
    checkins = domain.storage.checkins
    now = domain.clock.now()
    window = domain.protocol

    plans = await run_path(domain, recorder, lambda: checkins.has_work(now, window.answer_window))
    assert_bounded(plans)
    assert sum("checkins_pending_due" in line for line in plans[0][1]) == 1
    assert sum("checkins_open_due" in line for line in plans[0][1]) == 1

    plans = await run_path(
        domain,
        recorder,
        lambda: checkins.housekeeping(
            now, send_window=window.send_window, answer_window=window.answer_window
        ),
    )
    assert len(plans) == 4
    assert_bounded(plans)
    uses(plans, "RETURNING patient_id", "checkins_open_due")
    # The cancel statement starts from the due check-ins, never from the patients.
    cancel = uses(plans, "'patient_' ||", "checkins_pending_due")
    assert not any(line.startswith(("SCAN", "LIST SUBQUERY")) for line in cancel), cancel
    superseded = uses(plans, "newer", "checkins_pending_due")
    assert any("checkins_pending_patient" in line for line in superseded), superseded

    claimed: list[object] = []

    async def claim() -> None:
        claimed.extend(await checkins.claim_due(domain.clock.now(), limit=50))

    plans = await run_path(domain, recorder, claim)
    assert claimed, "nothing was due to claim, so part of the claim went unchecked"
    assert_bounded(plans)
    claim = uses(plans, "JOIN patients p", "checkins_pending_due")
    # Oldest first straight from the index: no sorting of everything that is due.
    assert not any("TEMP B-TREE" in line for line in claim), claim
    uses(plans, "close_reason = CASE", "checkins_open")

    plans = await run_path(domain, recorder, checkins.recover_unconfirmed)
    # All the sent check-ins (at most about one per patient), by their partial index.
    assert_bounded(plans)


async def test_the_open_check_in_lookup_uses_its_partial_index(
    domain: Domain, recorder: Recorder, busy: list[Patient]
) -> None:
    open_one = await domain.storage.checkins.open_for_patient(busy[0].id)
    assert open_one is not None
    plans = await run_path(
        domain, recorder, lambda: domain.storage.checkins.open_for_patient(busy[0].id)
    )
    assert_bounded(plans)
    plan = uses(plans, "c.state = 'sent'", "checkins_open")
    # Patient and state both searched: one entry per open check-in, no sorting.
    assert plan == ["SEARCH c USING INDEX checkins_open (patient_id=? AND state=?)"], plan


async def test_the_start_up_review_of_misses_reads_only_recent_misses(
    domain: Domain, recorder: Recorder, busy: list[Patient]
) -> None:
    since = domain.clock.now() - domain.protocol.answer_window * 2
    missed = await domain.storage.answers.patients_with_misses(since)
    assert busy[1].id in missed
    assert missed == sorted(set(missed))
    plans = await run_path(
        domain, recorder, lambda: domain.storage.answers.patients_with_misses(since)
    )
    assert_bounded(plans)
    plan = uses(plans, "DISTINCT patient_id", "checkins_missed")
    assert plan[0] == (
        "SEARCH checkins USING COVERING INDEX checkins_missed (state=? AND closed_at>?)"
    ), plan


async def test_the_questionnaire_planner_visits_only_plannable_patients(
    domain: Domain, recorder: Recorder, busy: list[Patient]
) -> None:
    plan_config = domain.protocol.questionnaires
    repo = domain.storage.questionnaires
    now = domain.clock.now()

    plans = await run_path(
        domain,
        recorder,
        lambda: repo.plan_candidates(
            now,
            instruments=plan_config.planned,
            every=plan_config.every,
            after_infusion=plan_config.after_infusion,
        ),
    )
    assert_bounded(plans)
    plan = plans[0][1]
    # The one SEARCH that is not a probe by patient: the active patients, covered by their
    # partial index (paused, stopped and deleted ones are not in it). This is the cost
    # that grows with the clinic, not with its history: one probe per patient and
    # instrument when nothing is due.
    assert "SEARCH p USING COVERING INDEX patients_plannable (status=?)" in plan, plan
    assert any("checkins_open (patient_id=? AND state=?)" in line for line in plan), plan
    assert any("checkins_pending_patient" in line for line in plan), plan
    assert any("infusions_given (given_at>? AND given_at<?)" in line for line in plan), plan

    plans = await run_path(domain, recorder, lambda: repo.expire_due(now))
    assert_bounded(plans)
    uses(plans, "expires_at <= ?", "questionnaire_expiry")


@dataclass(frozen=True, slots=True)
class Queued:
    """One row due in each delivery queue, so that every claim both reads and moves one."""

    pending_alert: int


@pytest.fixture
async def queued(domain: Domain, busy: list[Patient]) -> Queued:
    """An alert to send, one sent with its reminder and escalation due, an urgent message,
    a waiting explainer and a question whose asker's claim ran out: all due now."""
    storage = domain.storage
    now = domain.clock.now()
    patient = busy[0]
    repeating = NewAlert(
        kind=AlertKind.CRISIS, text="URGENT", urgent=True, remind_after=60, escalate_after=60
    )
    sent = await storage.alerts.add(patient_id=patient.id, alert=repeating, now=now)
    assert sent is not None
    await storage.alerts.mark_sent(sent.id, chat_id=-1, message_id=1, photo=False, now=now)
    pending = await storage.alerts.add(
        patient_id=patient.id, alert=NewAlert(kind=AlertKind.REVIEW, text="review"), now=now
    )
    assert pending is not None
    await storage.outbox.add(
        chat_id=None, text="staff", urgency=Urgency.CRISIS_REPLY, now=now, retry_at=now
    )
    await storage.explainers.claim_push(
        patient_id=patient.id,
        explainer_id="why-it-fades",
        how=PushKind.SCHEDULED,
        now=now,
        retry_at=now,
    )
    await storage.questions.ask(
        patient_id=patient.id,
        chat_id=patient.id,
        reason=QuestionReason.WORDS,
        now=now,
        escalate_at=now + timedelta(hours=1),
        update_id=None,
    )
    domain.clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    return Queued(pending_alert=pending.id)


async def claimed_one(
    domain: Domain, recorder: Recorder, claim: Callable[[], Awaitable[Sequence[object]]]
) -> list[tuple[Statement, list[str]]]:
    """Run a claim that must find something; return its statements' plans.

    A claim is a plain read (is anything due?), then, in the write transaction, the same
    read again and the update that moves the claimed rows: those two are returned.
    """
    found: list[object] = []

    async def work() -> None:
        found.extend(await claim())

    plans = await run_path(domain, recorder, work)
    assert found, "nothing was due to claim, so the claim's update went unchecked"
    assert len(plans) == 3, [statement.sql for statement, _ in plans]
    assert plans[0][0].sql == plans[1][0].sql
    assert_bounded(plans)
    # The claimed rows are moved by primary key.
    moved = plans[2][1]
    assert all("PRIMARY KEY" in line for line in moved if line.startswith("SEARCH")), moved
    return plans[1:]


async def test_the_delivery_queues_are_claimed_by_index(
    domain: Domain, recorder: Recorder, queued: Queued
) -> None:
    storage = domain.storage
    now = domain.clock.now()

    plans = await claimed_one(domain, recorder, lambda: storage.alerts.claim_due(now, limit=5))
    uses(plans, "a.state = 'pending'", "alerts_pending")

    plans = await claimed_one(
        domain, recorder, lambda: storage.alerts.claim_reminders(now, limit=5)
    )
    uses(plans, "a.remind_at <= ?", "alerts_remind")

    plans = await claimed_one(
        domain, recorder, lambda: storage.escalations.claim_due(now, limit=5)
    )
    uses(plans, "a.escalate_at <= ?", "alerts_escalate")

    plans = await claimed_one(domain, recorder, lambda: storage.outbox.claim_due(now, limit=5))
    uses(plans, "FROM urgent_outbox", "urgent_outbox_due")

    plans = await claimed_one(
        domain, recorder, lambda: storage.explainers.claim_waiting(now, limit=5)
    )
    uses(plans, "FROM explainer_deliveries", "explainer_deliveries_waiting")

    plans = await claimed_one(
        domain, recorder, lambda: storage.questions.claim_unsent(now, limit=5)
    )
    uses(plans, "FROM safety_questions", "safety_questions_open")

    async def claim_one_alert() -> list[object]:
        # send_now's claim, of the pending alert once the claim above has run out.
        alert = await storage.alerts.claim(queued.pending_alert, now=now + QUEUED_LEASE)
        return [] if alert is None else [alert]

    plans = await claimed_one(domain, recorder, claim_one_alert)
    assert any("PRIMARY KEY" in line for line in plans[0][1]), plans[0][1]

    plans = await run_path(domain, recorder, storage.inbox.pending)
    assert_bounded(plans)
    uses(plans, "FROM inbox", "inbox_pending")

    # Each pass's look for what a dead instance left (nothing, here: one read, no write).
    plans = await run_path(domain, recorder, lambda: storage.inbox.adopt(by=1, alive={1, 2}))
    assert_bounded(plans)
    uses(plans, "FROM inbox", "inbox_pending")


def test_a_full_scan_is_noticed() -> None:
    """The check itself: a scan of a big table is caught, a bounded one is not."""
    assert full_scans(["SCAN checkins"]) == ["SCAN checkins"]
    assert full_scans(["SCAN c USING INDEX checkins_patient"]) == [
        "SCAN c USING INDEX checkins_patient"
    ]
    assert full_scans(["SCAN p USING COVERING INDEX patients_plannable"]) == [
        "SCAN p USING COVERING INDEX patients_plannable"
    ]
    assert full_scans(["SCAN checkins USING INDEX checkins_patient"]) == [
        "SCAN checkins USING INDEX checkins_patient"
    ]
    assert full_scans(["SCAN CONSTANT ROW", "SCAN 2 CONSTANT ROWS", "SCAN w"]) == []
    assert full_scans(["SEARCH c USING INDEX checkins_open (patient_id=? AND state=?)"]) == []
