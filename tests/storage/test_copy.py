"""`copy_to_postgres`: a SQLite database copied whole into an empty PostgreSQL one.

The source is filled through the services and repositories (every table gets rows, one
patient is left awaiting a note); the target is a PostgreSQL database of the test's own
(not the shared one: a copy is a whole database's worth of rows, compared whole).
"""

from __future__ import annotations

import hashlib
import importlib
import re
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.domain.codes import (
    AlertKind,
    AuditAction,
    EpisodeKind,
    QuestionnaireOrigin,
    QuestionReason,
    Urgency,
)
from bot.domain.entities import NewAlert, Received
from bot.domain.errors import AfterglowError
from bot.services.enrolment import EnrolmentService
from storage import (
    CopyError,
    CopyReport,
    PostgresDatabase,
    Storage,
    copy_to_postgres,
    latest_schema_version,
)
from storage._copy_source import ForeignKey, SourceTable, copy_order
from storage._database import migrations
from tests.conftest import CLINIC_TZ, STAFF_ID, Domain, no_ack
from tests.postgres import fresh_database

# Patient words that must never reach an error message.
NOTE = "slept badly, thought about my sister all night"
SECRET_NOTE = "private words about the worst night"
# asyncpg ships no type information.
asyncpg: Any = importlib.import_module("asyncpg")


@pytest.fixture
def backend() -> str:
    """The source is a SQLite file; each test opens its PostgreSQL target itself."""
    return "sqlite"


async def populate(domain: Domain) -> None:
    """Give every table rows the way the bot would (the tests check that none is empty)."""
    s, clock = domain.storage, domain.clock
    first = await domain.enrol(111)
    second = await domain.enrol(222)
    await domain.enrolment.invite(staff_id=STAFF_ID, label="not joined yet", update_id=7001)
    for patient in (first, second):
        await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    # The second patient wrote a note before answering: inserting notes after patients
    # would clear its awaiting_note_checkin_id if the copy let the note trigger run.
    await s.answers.add_note(
        patient_id=second.id, checkin_id=None, text="earlier note", now=clock.now(), update_id=1
    )
    answered = await domain.send_next(first.id)
    await domain.checkins.answer_button(
        user_id=111, checkin_id=answered, score=3, update_id=2, acknowledge=no_ack
    )
    await s.answers.add_note(
        patient_id=first.id, checkin_id=answered, text=NOTE, now=clock.now(), update_id=3
    )
    awaiting = await domain.send_next(second.id)
    await domain.checkins.answer_button(
        user_id=222, checkin_id=awaiting, score=8, update_id=4, acknowledge=no_ack
    )
    now = clock.now()
    opened = await s.alerts.open_episode(
        patient_id=first.id,
        kind=EpisodeKind.LOW_MOOD,
        since=now - timedelta(days=1),
        explanation="two low answers",
        now=now,
        alert=NewAlert(AlertKind.LOW_MOOD, "low mood", remind_after=600, escalate_after=900),
    )
    assert opened is not None
    await s.alerts.mark_sent(opened.id, chat_id=-100, message_id=55, photo=False, now=now)
    await s.escalations.record_copy(opened.id, chat_id=9002, message_id=56)
    await s.alerts.add(
        patient_id=second.id, alert=NewAlert(AlertKind.CONTACT_REQUEST, "call me"), now=now
    )
    await s.clinic.set_value("staff_chat", "-100")
    await s.clinic.audit(
        actor=STAFF_ID, action=AuditAction.INFUSION, now=now, patient_id=first.id, detail="x"
    )
    await s.explainers.record_request(patient_id=first.id, explainer_id="afterglow", now=now)
    instance = await s.instances.register(now=now, pid=4242)
    await s.inbox.store(
        [Received(900001, 111, '{"update_id": 900001}', urgent=False)], now=now, by=instance
    )
    await s.outbox.add(
        chat_id=111, text="call 988", urgency=Urgency.CRISIS_REPLY, now=now, retry_at=now
    )
    await s.questions.ask(
        patient_id=first.id,
        chat_id=111,
        reason=QuestionReason.LOW_SCORE,
        now=now,
        escalate_at=now + timedelta(minutes=30),
        update_id=5,
    )
    await s.roster.add(
        name="Anna",
        token_hash="a" * 64,
        expires_at=now + timedelta(days=1),
        added_by=STAFF_ID,
        now=now,
        update_id=6,
    )
    await s.questionnaires.start(
        patient_id=second.id,
        chat_id=222,
        instrument="phq9",
        origin=QuestionnaireOrigin.REQUESTED,
        now=now,
        expire_after=timedelta(days=1),
        update_id=8,
    )


@pytest.fixture
async def source(domain: Domain, tmp_path: Path) -> Path:
    """A SQLite file with rows in every table, closed as a stopped bot leaves it."""
    await populate(domain)
    await domain.storage.close()
    return tmp_path / "afterglow.db"


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def source_layout(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each table's columns and primary key, from the SQLite file."""
    with closing(read_only(path)) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite%' AND name != 'schema_migrations'"
            )
        ]
        layout = {}
        for name in names:
            info = conn.execute(f"PRAGMA table_info({name})").fetchall()
            key = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]]
            layout[name] = ([row[1] for row in info], key)
    return layout


def source_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    layout = source_layout(path)
    with closing(read_only(path)) as conn:
        return {
            name: conn.execute(
                f"SELECT {', '.join(columns)} FROM {name} ORDER BY {', '.join(key)}"
            ).fetchall()
            for name, (columns, key) in layout.items()
        }


async def target_rows(
    url: str, layout: dict[str, tuple[list[str], list[str]]]
) -> dict[str, list[tuple[object, ...]]]:
    db = PostgresDatabase(url)
    await db.open()
    try:
        found = {}
        for name, (columns, key) in layout.items():
            rows = await db.fetch_all(
                f"SELECT {', '.join(columns)} FROM {name} ORDER BY {', '.join(key)}"
            )
            found[name] = [tuple(row[i] for i in range(len(columns))) for row in rows]
        return found
    finally:
        await db.close()


async def target_counts(url: str) -> dict[str, int]:
    """Rows per table of the target (every table but schema_migrations)."""
    db = PostgresDatabase(url)
    await db.open()
    try:
        names = await db.fetch_all(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename != 'schema_migrations' ORDER BY tablename"
        )
        counts = {}
        for (name,) in [(row[0],) for row in names]:
            found = await db.fetch_one(f"SELECT count(*) FROM {name}")
            assert found is not None
            counts[str(name)] = int(found[0])
        return counts
    finally:
        await db.close()


async def migrate(url: str) -> None:
    """Give a new database the latest schema (as a bot started on it would), no rows."""
    db = PostgresDatabase(url)
    await db.open()
    await db.close()


def fingerprint(folder: Path) -> str:
    """A hash of the database file's bytes."""
    return hashlib.sha256((folder / "afterglow.db").read_bytes()).hexdigest()


@pytest.mark.postgres
@pytest.mark.parametrize("migrated", [False, True], ids=["new-database", "migrated-empty"])
async def test_the_copy_equals_the_source_row_for_row(source: Path, migrated: bool) -> None:
    expected = source_rows(source)
    assert all(expected.values()), [name for name, rows in expected.items() if not rows]
    with closing(read_only(source)) as conn:
        awaiting = conn.execute(
            "SELECT count(*) FROM patients WHERE awaiting_note_checkin_id IS NOT NULL"
        ).fetchone()[0]
    assert awaiting == 1
    before = fingerprint(source.parent)
    heard: list[tuple[str, int]] = []

    async with fresh_database(migrated=False) as url:
        if migrated:
            await migrate(url)
        report = await copy_to_postgres(
            source, url, batch=2, progress=lambda table, rows: heard.append((table, rows))
        )

        assert isinstance(report, CopyReport)
        assert dict(report.tables) == {name: len(rows) for name, rows in expected.items()}
        assert heard == list(report.tables)
        assert report.rows == sum(len(rows) for rows in expected.values())
        order = [name for name, _ in report.tables]
        assert order.index("patients") < order.index("checkins") < order.index("notes")
        assert await target_counts(url) == dict(report.tables)
        assert await target_rows(url, source_layout(source)) == expected
    assert fingerprint(source.parent) == before


@pytest.mark.postgres
async def test_the_next_inserts_follow_the_copied_ids(source: Path, domain: Domain) -> None:
    expected = source_rows(source)
    at = source_layout(source)["patients"][0].index("awaiting_note_checkin_id")
    (awaiting_patient,) = [row[0] for row in expected["patients"] if row[at] is not None]
    async with fresh_database(migrated=False) as url:
        await copy_to_postgres(source, url)
        target = await Storage.open(url)
        try:
            # The note trigger is back on: a note stops the wait for one.
            await target.answers.add_note(
                patient_id=awaiting_patient,
                checkin_id=None,
                text="later",
                now=domain.clock.now(),
                update_id=None,
            )
            after_note = await target.patients.get(awaiting_patient)
            triggers = await target.database.fetch_all(
                "SELECT tgname, tgenabled = 'O' FROM pg_trigger WHERE NOT tgisinternal"
                " ORDER BY tgname"
            )
            enrolment = EnrolmentService(
                target, domain.clock, timezone=CLINIC_TZ, default_time="18:00"
            )
            invitation = await enrolment.invite(staff_id=STAFF_ID, label=None, update_id=None)
            message = await target.outbox.add(
                chat_id=1,
                text="x",
                urgency=Urgency.CRISIS_REPLY,
                now=domain.clock.now(),
                retry_at=domain.clock.now(),
            )
        finally:
            await target.close()
    assert [(row[0], row[1]) for row in triggers] == [
        ("checkin_answered_awaits_note", True),
        ("note_added_stops_awaiting", True),
    ]
    assert after_note is not None
    assert after_note.awaiting_note_checkin_id is None
    assert invitation is not None
    assert invitation.patient.id == max(row[0] for row in expected["patients"]) + 1
    assert message == max(row[0] for row in expected["urgent_outbox"]) + 1


@pytest.mark.postgres
async def test_rows_written_during_the_copy_are_not_copied(source: Path) -> None:
    """The source is read in one snapshot: a bot still writing does not tear the copy."""
    expected = source_rows(source)

    def write_meanwhile(table: str, rows: int) -> None:
        if table == "patients":
            with closing(sqlite3.connect(source)) as conn:
                conn.execute("INSERT INTO audit_log (at, actor, action) VALUES (1, 2, 'invite')")
                conn.execute("UPDATE clinic_values SET value = 'changed'")
                conn.commit()

    async with fresh_database(migrated=False) as url:
        report = await copy_to_postgres(source, url, progress=write_meanwhile)
        assert await target_rows(url, source_layout(source)) == expected
    assert dict(report.tables)["audit_log"] == len(expected["audit_log"])
    assert len(source_rows(source)["audit_log"]) == len(expected["audit_log"]) + 1


@pytest.mark.postgres
async def test_a_target_with_rows_is_refused_and_left_as_it_was(source: Path) -> None:
    async with fresh_database(migrated=False) as url:
        target = await Storage.open(url)
        await target.clinic.set_value("staff_chat", "-5")
        await target.close()
        before = await target_counts(url)

        with pytest.raises(CopyError, match=r"not empty \(rows in clinic_values\)"):
            await copy_to_postgres(source, url)

        assert await target_counts(url) == before
        assert sum(before.values()) == 1


def old_source(path: Path, version: int) -> None:
    """A SQLite database migrated only to `version`, as an older Afterglow left it."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
        )
        for step in migrations()[:version]:
            conn.executescript(
                f"BEGIN;\n{step.sql}\nINSERT INTO schema_migrations (version, name)"
                f" VALUES ({step.version}, '{step.name}');\nCOMMIT;"
            )


async def has_schema(url: str) -> bool:
    """Whether the target has been migrated at all (looked at without migrating it)."""
    conn = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        return bool(await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"))
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_an_older_source_is_refused_and_not_migrated(tmp_path: Path) -> None:
    older = latest_schema_version() - 1
    old_source(tmp_path / "afterglow.db", older)
    before = fingerprint(tmp_path)

    async with fresh_database(migrated=False) as url:
        with pytest.raises(CopyError) as caught:
            await copy_to_postgres(tmp_path / "afterglow.db", url)
        # Refused before the target was touched at all.
        assert not await has_schema(url)

    message = str(caught.value)
    assert f"schema version {older}, not {latest_schema_version()}" in message
    assert "afterglow run" in message
    assert fingerprint(tmp_path) == before
    with closing(read_only(tmp_path / "afterglow.db")) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == older


@pytest.mark.postgres
async def test_a_source_whose_schema_differs_is_refused(source: Path) -> None:
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("ALTER TABLE notes ADD COLUMN mood TEXT")
        conn.execute("CREATE TABLE extras (id INTEGER PRIMARY KEY)")
        conn.commit()
    async with fresh_database(migrated=False) as url:
        with pytest.raises(CopyError) as caught:
            await copy_to_postgres(source, url)
        counts = await target_counts(url)
    assert str(caught.value) == (
        "the schemas differ: table extras only in the SQLite file;"
        " column notes.mood only in the SQLite file"
    )
    assert set(counts.values()) == {0}


def spoil(path: Path, sql: str) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(sql)
        conn.commit()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        # PostgreSQL's text cannot hold NUL; SQLite's can. notes is copied after patients,
        # checkins and the rest, so the failure comes mid-copy.
        (
            f"UPDATE notes SET text = '{SECRET_NOTE}' || char(0) WHERE text = '{NOTE}'",
            "cannot copy table notes: a value does not fit its column",
        ),
        # A row whose patient is gone (written with foreign keys off).
        (
            f"INSERT INTO notes (patient_id, text, created_at) VALUES (999, '{SECRET_NOTE}', 1)",
            "cannot copy table notes: rows refer to rows that are not there"
            " (foreign key notes_patient_id_fkey;",
        ),
    ],
    ids=["nul-in-text", "orphan-row"],
)
async def test_a_failure_mid_copy_leaves_the_target_empty(
    source: Path, sql: str, reason: str
) -> None:
    spoil(source, sql)
    heard: list[str] = []
    async with fresh_database(migrated=False) as url:
        with pytest.raises(CopyError) as caught:
            await copy_to_postgres(source, url, progress=lambda table, rows: heard.append(table))
        counts = await target_counts(url)
        db = PostgresDatabase(url)
        await db.open()
        try:
            disabled = await db.fetch_all("SELECT tgname FROM pg_trigger WHERE tgenabled = 'D'")
        finally:
            await db.close()
    assert str(caught.value).startswith(reason)
    assert SECRET_NOTE not in str(caught.value)
    assert NOTE not in str(caught.value)
    assert "patients" in heard  # rows had gone in before the failure
    assert set(counts.values()) == {0}
    assert disabled == []


@pytest.mark.postgres
async def test_a_value_of_another_type_is_refused_before_copying(source: Path) -> None:
    spoil(source, "UPDATE infusions SET given_at = given_at + 0.5")
    async with fresh_database(migrated=False) as url:
        with pytest.raises(CopyError, match=r"^infusions\.given_at hold values of another type"):
            await copy_to_postgres(source, url)
        assert set((await target_counts(url)).values()) == {0}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no SQLite database at"),
        (b"this is not SQLite " * 300, "is not an SQLite database"),
        (b"", "is not an Afterglow database (it has no schema_migrations)"),
    ],
    ids=["missing", "not-sqlite", "not-afterglow"],
)
async def test_a_source_that_is_not_an_afterglow_database_is_refused(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "afterglow.db"
    if content is not None:
        path.write_bytes(content)
    # The source is checked first: the target URL is never dialled.
    with pytest.raises(CopyError, match=re.escape(message)):
        await copy_to_postgres(path, "postgresql://nobody:pw@127.0.0.1:1/none")
    if content is None:
        assert not path.exists()
    else:
        assert path.read_bytes() == content


@pytest.mark.parametrize("url", ["sqlite:///x.db", "not a url", "postgresql://host"])
async def test_a_target_that_is_not_a_postgres_url_is_refused(source: Path, url: str) -> None:
    with pytest.raises(CopyError, match=r"^the target URL "):
        await copy_to_postgres(source, url)


def table(name: str, *references: tuple[str, str, bool]) -> SourceTable:
    keys = tuple(ForeignKey(other, (column,), nullable) for other, column, nullable in references)
    return SourceTable(name, ("id", *(key.columns[0] for key in keys)), ("id",), keys)


def test_the_order_follows_the_keys_and_defers_one_side_of_a_cycle() -> None:
    steps = copy_order(
        [
            table("patients", ("checkins", "awaiting", True)),
            table("checkins", ("patients", "patient_id", False)),
            table("notes", ("patients", "patient_id", False), ("checkins", "checkin_id", True)),
            table("clinic"),
            table("tree", ("tree", "parent", True)),
        ]
    )
    assert [(step.table.name, step.deferred) for step in steps] == [
        ("patients", ("awaiting",)),
        ("checkins", ()),
        ("notes", ()),
        ("clinic", ()),
        ("tree", ("parent",)),
    ]


def test_a_cycle_of_required_keys_cannot_be_ordered() -> None:
    with pytest.raises(CopyError, match="tables a, b refer to each other"):
        copy_order([table("a", ("b", "b_id", False)), table("b", ("a", "a_id", False))])


def test_the_error_is_afterglows_own() -> None:
    assert issubclass(CopyError, AfterglowError)
