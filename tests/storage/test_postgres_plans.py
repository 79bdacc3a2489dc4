"""The hot-path queries stay off full scans of the tables that grow with history, on PostgreSQL.

The hot paths of test_query_plans (there on SQLite) run here through the real repositories
on PostgreSQL. Every statement they send is recorded with its parameters as the repository
passed them, to `_run` or to a write transaction's `execute` / `fetch_all`, so the SQL is the
repositories' own (with PostgreSQL's `skip_locked`), never a copy. Each is then explained
with the same parameters, bound by the same conversion (`_binds`), with `enable_seqscan` off.

PostgreSQL plans by statistics, which autovacuum gathers when it likes, so which index it
picks on a small test database says little about production and is not asserted. What is
asserted holds whatever the statistics: with sequential scans priced out, PostgreSQL still
picks one only where no index can serve that table in that statement at all, so a plan with
no Seq Scan shows that every table the statement reads can be reached by an index.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import storage._postgres as _postgres
from bot.domain.entities import Patient
from storage import PostgresDatabase
from storage._claims import QUEUED_LEASE
from storage._database import Row
from tests.conftest import Domain
from tests.storage.test_query_plans import BIG, Queued, Statement, busy, queued

# The fixtures of test_query_plans: the same patients, history and queued rows here.
__all__ = ["busy", "queued"]

pytestmark = pytest.mark.postgres

T = TypeVar("T")


@pytest.fixture
def backend() -> str:
    """PostgreSQL's query plans: these run on PostgreSQL only."""
    return "postgresql"


# No table may be read by a Seq Scan, neither the ones in BIG (which grow with history) nor
# the others (the urgent outbox, which test_query_plans holds to its index too). A table
# whose size is fixed whatever the history could be allowed here, by name, saying why.
ALLOWED_SEQ_SCANS: frozenset[str] = frozenset()
# How a plan may reach a table's rows: through an index, or (ModifyTable) by the rows its
# input found, which is checked node by node.
INDEXED_READS = frozenset({"Index Scan", "Index Only Scan", "Bitmap Heap Scan", "ModifyTable"})
# Scan nodes that read no table, each bounded whatever the history, and why:
BOUNDED_NODES = frozenset(
    {
        # The index half of a Bitmap Heap Scan, which is the node naming the table.
        "Bitmap Index Scan",
        # plan_candidates: the VALUES list of the planned instruments (two by default).
        "Values Scan",
        # A CTE or subquery read back (plan_candidates' `wanted` over that VALUES list):
        # its own plan is among the nodes checked.
        "CTE Scan",
        "Subquery Scan",
    }
)

# The write lock every write transaction takes first: not the repositories' SQL.
_ADVISORY_LOCK = re.compile(r"^\s*SELECT\s+pg_advisory_", re.I)
_DML = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|VALUES)\b", re.I)

# Set while a recorded call runs, so the `_run` that a transaction's `fetch_all` makes is not
# recorded a second time (a context variable: concurrent tasks each have their own).
_recording: ContextVar[bool] = ContextVar("_recording", default=False)


class Recorder:
    """Every statement the repositories send to PostgreSQL, read or written."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    async def record(self, sql: str, params: Sequence[object], call: Awaitable[T]) -> T:
        """Record one statement (unless inside another recorded call), then await it."""
        if not _recording.get():
            self.statements.append(Statement(sql, tuple(params)))
        token = _recording.set(True)
        try:
            return await call
        finally:
            _recording.reset(token)

    def take(self) -> list[Statement]:
        """Return the statements recorded since the last take that have a plan to check."""
        taken, self.statements = self.statements, []
        return [
            statement
            for statement in taken
            if _DML.match(statement.sql) and not _ADVISORY_LOCK.match(statement.sql)
        ]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder()
    run = _postgres._run
    execute = _postgres._PgTransaction.execute
    fetch_all = _postgres._PgTransaction.fetch_all

    async def recorded_run(conn: AsyncConnection, sql: str, params: Sequence[object]) -> list[Row]:
        return await recording.record(sql, params, run(conn, sql, params))

    async def recorded_execute(
        self: _postgres._PgTransaction, sql: str, params: Sequence[object] = ()
    ) -> int:
        return await recording.record(sql, params, execute(self, sql, params))

    async def recorded_fetch_all(
        self: _postgres._PgTransaction, sql: str, params: Sequence[object] = ()
    ) -> list[Row]:
        return await recording.record(sql, params, fetch_all(self, sql, params))

    monkeypatch.setattr(_postgres, "_run", recorded_run)
    monkeypatch.setattr(_postgres._PgTransaction, "execute", recorded_execute)
    monkeypatch.setattr(_postgres._PgTransaction, "fetch_all", recorded_fetch_all)
    return recording


@pytest.fixture
async def explainer(domain: Domain) -> AsyncIterator[AsyncEngine]:
    """An engine of its own on the test's database, for the EXPLAINs."""
    database = domain.storage.database
    assert isinstance(database, PostgresDatabase)
    engine = create_async_engine(database.url, poolclass=NullPool)
    try:
        yield engine
    finally:
        await engine.dispose()


@dataclass(frozen=True, slots=True)
class Plan:
    statement: Statement
    root: Mapping[str, Any]

    def nodes(self) -> Iterator[Mapping[str, Any]]:
        """Every node of the plan, the root first (init plans and subplans included)."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.get("Plans", [])))

    def __str__(self) -> str:
        return "\n".join(describe(node) for node in self.nodes())


def describe(node: Mapping[str, Any]) -> str:
    """One line for a plan node: its type, table, index and conditions."""
    parts = [str(node["Node Type"])]
    for key in ("Relation Name", "Alias", "Index Name", "Index Cond", "Filter"):
        if key in node:
            parts.append(f"{key}={node[key]}")
    return " ".join(parts)


async def plan_of(engine: AsyncEngine, statement: Statement) -> Plan:
    """Return the plan of a statement, bound as the repository binds it."""
    clause, binds = _postgres._binds(f"EXPLAIN (FORMAT JSON) {statement.sql}", statement.params)
    async with engine.connect() as conn:
        # In a transaction rolled back, though EXPLAIN without ANALYZE runs nothing.
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        raw = (await conn.execute(clause, binds)).scalar_one()
        await conn.rollback()
    document = json.loads(raw) if isinstance(raw, str) else raw
    return Plan(statement, document[0]["Plan"])


def full_scans(plan: Plan) -> list[str]:
    """Return the plan's nodes that read a table other than through an index."""
    scans = []
    for node in plan.nodes():
        kind = str(node["Node Type"])
        if "Relation Name" in node:
            table = str(node["Relation Name"])
            if kind == "Seq Scan" and table not in BIG and table in ALLOWED_SEQ_SCANS:
                continue
            if kind not in INDEXED_READS:
                scans.append(describe(node))
        elif kind.endswith("Scan") and kind not in BOUNDED_NODES:
            # A scan of something else (a function's result, a recursive CTE's work table).
            scans.append(describe(node))
    return scans


async def run_path(
    recorder: Recorder, explainer: AsyncEngine, work: Callable[[], Awaitable[object]]
) -> list[Plan]:
    """Run one hot path; return the plan of each statement it sent."""
    recorder.take()
    await work()
    statements = recorder.take()
    assert statements, "the hot path sent no statement"
    return [await plan_of(explainer, statement) for statement in statements]


def assert_bounded(plans: list[Plan]) -> None:
    for plan in plans:
        scans = full_scans(plan)
        assert not scans, f"full scan {scans} in\n{plan.statement.sql}\nplan:\n{plan}"


def only(plans: list[Plan], fragment: str) -> Plan:
    """Return the plan of the one statement containing `fragment`."""
    chosen = [plan for plan in plans if fragment in plan.statement.sql]
    assert len(chosen) == 1, f"{len(chosen)} statements contain {fragment!r}"
    return chosen[0]


async def test_the_dispatcher_pass_is_bounded(
    domain: Domain, recorder: Recorder, explainer: AsyncEngine, busy: list[Patient]
) -> None:
    checkins = domain.storage.checkins
    now = domain.clock.now()
    window = domain.protocol

    plans = await run_path(
        recorder, explainer, lambda: checkins.has_work(now, window.answer_window)
    )
    assert_bounded(plans)

    plans = await run_path(
        recorder,
        explainer,
        lambda: checkins.housekeeping(
            now, send_window=window.send_window, answer_window=window.answer_window
        ),
    )
    assert len(plans) == 4
    assert_bounded(plans)
    only(plans, "RETURNING patient_id")
    only(plans, "'patient_' ||")
    only(plans, "newer")

    claimed: list[object] = []

    async def claim() -> None:
        claimed.extend(await checkins.claim_due(domain.clock.now(), limit=50))

    plans = await run_path(recorder, explainer, claim)
    assert claimed, "nothing was due to claim, so part of the claim went unchecked"
    assert_bounded(plans)
    # The claim as PostgreSQL runs it, its rows locked and skipped by other instances.
    assert "FOR UPDATE OF c SKIP LOCKED" in only(plans, "JOIN patients p").statement.sql
    only(plans, "close_reason = CASE")

    plans = await run_path(recorder, explainer, checkins.recover_unconfirmed)
    assert_bounded(plans)


async def test_the_open_check_in_lookup_is_bounded(
    domain: Domain, recorder: Recorder, explainer: AsyncEngine, busy: list[Patient]
) -> None:
    open_one = await domain.storage.checkins.open_for_patient(busy[0].id)
    assert open_one is not None
    plans = await run_path(
        recorder, explainer, lambda: domain.storage.checkins.open_for_patient(busy[0].id)
    )
    assert_bounded(plans)
    only(plans, "c.state = 'sent'")


async def test_the_start_up_review_of_misses_is_bounded(
    domain: Domain, recorder: Recorder, explainer: AsyncEngine, busy: list[Patient]
) -> None:
    since = domain.clock.now() - domain.protocol.answer_window * 2
    missed = await domain.storage.answers.patients_with_misses(since)
    assert busy[1].id in missed
    plans = await run_path(
        recorder, explainer, lambda: domain.storage.answers.patients_with_misses(since)
    )
    assert_bounded(plans)
    only(plans, "DISTINCT patient_id")


async def test_the_questionnaire_planner_is_bounded(
    domain: Domain, recorder: Recorder, explainer: AsyncEngine, busy: list[Patient]
) -> None:
    plan_config = domain.protocol.questionnaires
    repo = domain.storage.questionnaires
    now = domain.clock.now()

    plans = await run_path(
        recorder,
        explainer,
        lambda: repo.plan_candidates(
            now,
            instruments=plan_config.planned,
            every=plan_config.every,
            after_infusion=plan_config.after_infusion,
        ),
    )
    assert_bounded(plans)
    assert any(node["Node Type"] == "Values Scan" for node in plans[0].nodes()), plans[0]

    plans = await run_path(recorder, explainer, lambda: repo.expire_due(now))
    assert_bounded(plans)
    only(plans, "expires_at <= ?")


async def claimed_one(
    recorder: Recorder,
    explainer: AsyncEngine,
    claim: Callable[[], Awaitable[Sequence[object]]],
    *,
    locks: str,
) -> list[Plan]:
    """Run a claim that must find something; return its statements' plans.

    First a plain read (is anything due?); then, in the write transaction, the same read
    taking the rows of `locks` and skipping those another instance has taken, and the update:
    those two are returned.
    """
    found: list[object] = []

    async def work() -> None:
        found.extend(await claim())

    plans = await run_path(recorder, explainer, work)
    assert found, "nothing was due to claim, so the claim's update went unchecked"
    assert len(plans) == 3, [plan.statement.sql for plan in plans]
    assert_bounded(plans)
    clause = f" FOR UPDATE OF {locks} SKIP LOCKED"
    assert plans[1].statement.sql == plans[0].statement.sql + clause, plans[1]
    assert plans[2].statement.sql.startswith("UPDATE "), plans[2]
    return plans[1:]


async def test_the_delivery_queues_are_bounded(
    domain: Domain, recorder: Recorder, explainer: AsyncEngine, queued: Queued
) -> None:
    storage = domain.storage
    now = domain.clock.now()

    plans = await claimed_one(
        recorder, explainer, lambda: storage.alerts.claim_due(now, limit=5), locks="a"
    )
    only(plans, "a.state = 'pending'")

    plans = await claimed_one(
        recorder, explainer, lambda: storage.alerts.claim_reminders(now, limit=5), locks="a"
    )
    only(plans, "a.remind_at <= ?")

    plans = await claimed_one(
        recorder, explainer, lambda: storage.escalations.claim_due(now, limit=5), locks="a"
    )
    only(plans, "a.escalate_at <= ?")

    plans = await claimed_one(
        recorder,
        explainer,
        lambda: storage.outbox.claim_due(now, limit=5),
        locks="urgent_outbox",
    )
    only(plans, "FROM urgent_outbox")

    plans = await claimed_one(
        recorder, explainer, lambda: storage.explainers.claim_waiting(now, limit=5), locks="d"
    )
    only(plans, "FROM explainer_deliveries")

    plans = await claimed_one(
        recorder,
        explainer,
        lambda: storage.questions.claim_unsent(now, limit=5),
        locks="safety_questions",
    )
    only(plans, "FROM safety_questions")

    async def claim_one_alert() -> list[object]:
        # send_now's claim, of the pending alert once the claim above has run out.
        alert = await storage.alerts.claim(queued.pending_alert, now=now + QUEUED_LEASE)
        return [] if alert is None else [alert]

    await claimed_one(recorder, explainer, claim_one_alert, locks="a")

    plans = await run_path(recorder, explainer, storage.inbox.pending)
    assert_bounded(plans)
    only(plans, "FROM inbox")

    plans = await run_path(recorder, explainer, lambda: storage.inbox.adopt(by=1, alive={1, 2}))
    assert_bounded(plans)
    only(plans, "FROM inbox")


async def test_a_full_scan_is_noticed(
    domain: Domain, recorder: Recorder, explainer: AsyncEngine, busy: list[Patient]
) -> None:
    """The check itself: an unindexed query is caught, an indexed one is not."""
    database = domain.storage.database
    unindexed = "SELECT id FROM checkins WHERE last_error = ?"

    # Through a write transaction's fetch_all (recorded once, though it calls `_run`; the
    # write lock taken first is not recorded) ...
    plans = await run_path(recorder, explainer, lambda: database.write_one(unindexed, ("x",)))
    assert [plan.statement for plan in plans] == [Statement(unindexed, ("x",))]
    assert "checkins" in BIG
    assert full_scans(plans[0]) == [
        "Seq Scan Relation Name=checkins Alias=checkins Filter=(last_error = 'x'::text)"
    ], plans[0]
    with pytest.raises(AssertionError, match="full scan"):
        assert_bounded(plans)

    # ... and a read: the same check passes a query an index serves.
    indexed = "SELECT id FROM checkins WHERE patient_id = ?"
    plans = await run_path(recorder, explainer, lambda: database.fetch_all(indexed, (1,)))
    assert [plan.statement for plan in plans] == [Statement(indexed, (1,))]
    assert full_scans(plans[0]) == [], plans[0]
