"""PostgreSQL's baseline is the schema the shipped SQLite migrations end at.

The tests need a PostgreSQL 15 server: AFTERGLOW_TEST_POSTGRES_URL is an admin URL (one that
may create databases), such as postgresql://postgres@127.0.0.1:55432/postgres. Without it they
are skipped, unless AFTERGLOW_REQUIRE_POSTGRES=1, when they fail. Each test works in a
database of its own, dropped afterwards.
"""

from __future__ import annotations

import importlib
import os
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import storage

# asyncpg ships no type information: it is Any here, and what it returns is read through
# str(), int() and tuple().
asyncpg: Any = importlib.import_module("asyncpg")

MIGRATIONS = Path(storage.__file__).parent / "migrations"
BASELINE = MIGRATIONS / "postgresql" / "0016_baseline.sql"
_STEP_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

# One set of facts per aspect of a schema; each fact is a tuple naming its table first.
Facts = dict[str, set[tuple[object, ...]]]
ASPECTS = (
    "tables",
    "views",
    "columns",
    "defaults",
    "primary keys",
    "unique constraints",
    "check constraints",
    "indexes",
    "foreign keys",
    "triggers",
    "trigger functions",
)

# SQLite's declared type -> PostgreSQL's type (text compares byte-wise in both: BINARY, "C").
_PG_TYPES = {
    "INTEGER": "bigint",
    "TEXT": "text COLLATE C",
    "REAL": "double precision",
    "BLOB": "bytea",
}
_PG_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}
_TRIGGER = re.compile(
    r"CREATE\s+TRIGGER\s+(\w+)\s+(?:(BEFORE|AFTER|INSTEAD\s+OF)\s+)?"
    r"(DELETE|INSERT|UPDATE(?:\s+OF\s+\w+(?:\s*,\s*\w+)*)?)\s+ON\s+(?:\w+\.)?(\w+)",
    re.IGNORECASE,
)


def _normalized(sql: str) -> str:
    """Reduce an index predicate or expression to a form both dialects' texts share.

    PostgreSQL prints `state = ANY (ARRAY['a'::text, 'b'::text])` for SQLite's
    `state IN ('a', 'b')`, `<>` for `!=`, and adds casts and parentheses.
    """
    text = re.sub(r"::\w+", "", sql.lower())
    text = re.sub(r"= any \(array\[(.*?)\]\)", r"in (\1)", text)
    text = text.replace("!=", "<>").replace("(", " ").replace(")", " ")
    return " ".join(text.split())


def _sqlite_index_keys(sql: str) -> list[str]:
    """Split the key list of a CREATE INDEX into its items."""
    opening = re.search(r"\bON\s+\"?\w+\"?\s*\(", sql, re.IGNORECASE)
    assert opening is not None, sql
    items: list[str] = []
    item, depth = "", 1
    for char in sql[opening.end() :]:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                break
        elif char == "," and depth == 1:
            items.append(item)
            item = ""
            continue
        item += char
    items.append(item)
    return [re.sub(r"\s+(ASC|DESC)\s*$", "", key.strip(), flags=re.IGNORECASE) for key in items]


def _admin_url() -> str:
    """Return the admin URL, or skip (fail, when PostgreSQL is required) without one."""
    url = os.environ.get("AFTERGLOW_TEST_POSTGRES_URL", "")
    if url:
        return url
    reason = "AFTERGLOW_TEST_POSTGRES_URL (an admin URL of a PostgreSQL 15 server) is not set"
    if os.environ.get("AFTERGLOW_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"AFTERGLOW_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


def _postgres_steps() -> list[str]:
    """Return the baseline, then each later version: PostgreSQL's own file, else the shared."""

    def numbered(folder: Path) -> dict[int, Path]:
        found: dict[int, Path] = {}
        for path in folder.iterdir():
            match = _STEP_NAME.match(path.name)
            if match is not None:
                found[int(match.group(1))] = path
        return found

    shared = numbered(MIGRATIONS)
    own = numbered(BASELINE.parent)
    baseline_version = int(BASELINE.name[:4])
    later = [own.get(version, shared[version]) for version in sorted(shared)]
    return [BASELINE.read_text(encoding="utf-8")] + [
        path.read_text(encoding="utf-8") for path in later if int(path.name[:4]) > baseline_version
    ]


@pytest.fixture
async def sqlite_path(tmp_path: Path) -> Path:
    """Return a SQLite file the shipped migrations were applied to, by the application."""
    path = tmp_path / "x.db"
    # storage.Database before the PostgreSQL backend, storage.SqliteDatabase with it.
    backend: Any = getattr(storage, "SqliteDatabase", storage.Database)
    db = backend(path)
    await db.open()
    await db.close()
    return path


@asynccontextmanager
async def _postgres_database() -> AsyncIterator[Any]:
    """Yield a connection to a new database holding the PostgreSQL schema; drop it after.

    Used in the test's body, not as a fixture, so a missing URL fails (or skips) the test itself.
    """
    url = _admin_url()
    name = f"afterglow_schema_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            conn = await asyncpg.connect(url, database=name)
            try:
                assert await conn.fetchval("SELECT current_database()") == name
                async with conn.transaction():
                    for sql in _postgres_steps():
                        await conn.execute(sql)
                yield conn
            finally:
                await conn.close()
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _no_facts() -> Facts:
    return {aspect: set() for aspect in ASPECTS}


def _sqlite_key_column(row: tuple[Any, ...], sql: str | None) -> str:
    """Name one key column of an index_xinfo row: its column, or its expression; DESC marked."""
    seqno, _, name, desc, _, _ = row
    if name is None:
        assert sql is not None, "an expression in an index without SQL"
        key = _normalized(_sqlite_index_keys(sql)[int(seqno)])
    else:
        key = str(name)
    return key + (" DESC" if desc else "")


def _trigger_fact(table: str, name: str, sql: str) -> tuple[object, ...]:
    """Read a trigger's timing, event, row level and WHEN from its CREATE TRIGGER text."""
    match = _TRIGGER.search(sql)
    assert match is not None, f"cannot read trigger {name}: {sql}"
    timing = " ".join((match.group(2) or "BEFORE").upper().split())
    event = re.sub(r"\s*,\s*", ", ", " ".join(match.group(3).split()))
    event = re.sub(r"^(\w+)( OF)?", lambda m: m.group(0).upper(), event, flags=re.IGNORECASE)
    rest = sql[match.end() :]
    # SQLite has row triggers only.
    statement_level = re.search(r"\bFOR\s+EACH\s+STATEMENT\b", rest, re.IGNORECASE)
    level = "STATEMENT" if statement_level else "ROW"
    head = re.split(r"\bBEGIN\b|\bEXECUTE\s+(?:FUNCTION|PROCEDURE)\b", rest, flags=re.I)[0]
    has_when = re.search(r"\bWHEN\b", head, re.IGNORECASE) is not None
    return (table, name, timing, event, level, has_when)


def _sqlite_schema(path: Path) -> Facts:
    facts = _no_facts()
    with closing(sqlite3.connect(path)) as conn:
        tables = [
            str(name)
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_migrations'"
            )
        ]
        primary_keys: dict[str, tuple[str, ...]] = {}
        for table in tables:
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            key = tuple(str(row[1]) for row in sorted(info, key=lambda row: row[5]) if row[5])
            primary_keys[table] = key
        table_sql = dict(conn.execute("SELECT name, sql FROM sqlite_master").fetchall())
        for table in tables:
            facts["tables"].add((table,))
            # Every CHECK is a constraint of its own (column ones too), as in PostgreSQL.
            definition = re.sub(r"--[^\n]*", "", str(table_sql[table]))
            checks = len(re.findall(r"\bCHECK\s*\(", definition, re.IGNORECASE))
            facts["check constraints"].add((table, checks))
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            key = primary_keys[table]
            if key:
                facts["primary keys"].add((table, key))
            for position, (_, name, declared, notnull, default, pk) in enumerate(info):
                # A rowid alias (INTEGER PRIMARY KEY) numbers itself: an identity column.
                rowid_alias = len(key) == 1 and bool(pk) and str(declared).upper() == "INTEGER"
                # A primary key column is never NULL in PostgreSQL; in SQLite a rowid never
                # is, and NULL in a TEXT key is a quirk the baseline does not keep.
                not_null = bool(notnull) or bool(pk)
                column_type = _PG_TYPES[str(declared).upper()]
                facts["columns"].add((table, position, name, column_type, not_null, rowid_alias))
                if default is not None:
                    facts["defaults"].add((table, name, str(default)))
            for _, index, unique, origin, partial in conn.execute(
                f'PRAGMA index_list("{table}")'
            ).fetchall():
                sql = table_sql.get(index)
                columns = tuple(
                    _sqlite_key_column(tuple(row), sql)
                    for row in conn.execute(f'PRAGMA index_xinfo("{index}")').fetchall()
                    if row[5]
                )
                if origin == "pk":
                    continue  # the primary key, compared above
                if origin == "u":
                    facts["unique constraints"].add((table, columns))
                    continue
                predicate = None
                if partial:
                    predicate = _normalized(
                        re.split(r"\bWHERE\b", str(sql), maxsplit=1, flags=re.I)[1]
                    )
                facts["indexes"].add((table, index, bool(unique), columns, predicate))
            groups: dict[int, list[tuple[Any, ...]]] = {}
            for row in conn.execute(f'PRAGMA foreign_key_list("{table}")').fetchall():
                groups.setdefault(int(row[0]), []).append(tuple(row))
            for rows in groups.values():
                rows.sort(key=lambda row: int(row[1]))
                target = str(rows[0][2])
                referenced = tuple(str(row[4]) for row in rows if row[4] is not None)
                if not referenced:
                    referenced = primary_keys[target]  # REFERENCES t: t's primary key
                columns = tuple(str(row[3]) for row in rows)
                facts["foreign keys"].add(
                    (table, columns, target, referenced, str(rows[0][5]), str(rows[0][6]))
                )
        for name, table, sql in conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall():
            facts["triggers"].add(_trigger_fact(str(table), str(name), str(sql)))
            facts["trigger functions"].add((str(table), str(name), str(name)))
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'"):
            facts["views"].add((str(name),))
    return facts


_PG_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type, c.collation_name, c.is_nullable,
       c.column_default, c.is_identity
FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
  AND c.table_name <> 'schema_migrations'
ORDER BY c.table_name, c.ordinal_position
"""

_PG_CONSTRAINTS = """
SELECT t.relname AS table_name, con.contype::text AS contype,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k (attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       r.relname AS target,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k (attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS referenced,
       con.confupdtype::text AS confupdtype, con.confdeltype::text AS confdeltype
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_class r ON r.oid = con.confrelid
WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f', 'c')
  AND t.relname <> 'schema_migrations'
"""

# Every index that does not back a primary key or UNIQUE constraint: the named ones.
_PG_INDEXES = """
SELECT t.relname AS table_name, i.relname AS index_name, x.indisunique,
       pg_get_expr(x.indpred, x.indrelid) AS predicate,
       ARRAY(SELECT CASE WHEN x.indkey[k] = 0 THEN pg_get_indexdef(x.indexrelid, k + 1, true)
                         ELSE (SELECT a.attname::text FROM pg_attribute a
                               WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[k])
                    END
                    || CASE WHEN (x.indoption[k] & 1) = 1 THEN ' DESC' ELSE '' END
             FROM generate_series(0, x.indnkeyatts - 1) AS k
             ORDER BY k) AS columns
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND t.relname <> 'schema_migrations'
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                  WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                    AND c.contype IN ('p', 'u', 'x'))
"""

_PG_TRIGGERS = """
SELECT c.relname AS table_name, t.tgname, pg_get_triggerdef(t.oid) AS definition,
       p.proname AS function_name
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE n.nspname = 'public' AND NOT t.tgisinternal
"""


def _postgres_key_column(column: str) -> str:
    """Name one key column as _sqlite_key_column does: a column, or a normalized expression."""
    base, desc = (column[: -len(" DESC")], " DESC") if column.endswith(" DESC") else (column, "")
    return (base if re.fullmatch(r"\w+", base) else _normalized(base)) + desc


async def _postgres_schema(conn: Any) -> Facts:
    facts = _no_facts()
    for row in await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        " AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'"
    ):
        facts["tables"].add((str(row["table_name"]),))
    for row in await conn.fetch(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'"
    ):
        facts["views"].add((str(row["table_name"]),))
    positions: dict[str, int] = {}
    for row in await conn.fetch(_PG_COLUMNS):
        table, name = str(row["table_name"]), str(row["column_name"])
        position = positions.get(table, 0)  # counted, so a dropped column leaves no gap
        positions[table] = position + 1
        column_type = str(row["data_type"])
        if row["collation_name"] is not None:
            column_type += f" COLLATE {row['collation_name']}"
        facts["columns"].add(
            (
                table,
                position,
                name,
                column_type,
                row["is_nullable"] == "NO",
                row["is_identity"] == "YES",
            )
        )
        if row["column_default"] is not None:
            default = re.sub(r"::[a-z ]+$", "", str(row["column_default"]))
            facts["defaults"].add((table, name, default))
    checks = {str(fact[0]): 0 for fact in facts["tables"]}
    for row in await conn.fetch(_PG_CONSTRAINTS):
        table, columns = str(row["table_name"]), tuple(str(c) for c in row["columns"])
        if row["contype"] == "c":
            checks[table] += 1
        elif row["contype"] == "p":
            facts["primary keys"].add((table, columns))
        elif row["contype"] == "u":
            facts["unique constraints"].add((table, columns))
        else:
            facts["foreign keys"].add(
                (
                    table,
                    columns,
                    str(row["target"]),
                    tuple(str(c) for c in row["referenced"]),
                    _PG_ACTIONS[str(row["confupdtype"])],
                    _PG_ACTIONS[str(row["confdeltype"])],
                )
            )
    facts["check constraints"] = {(table, count) for table, count in checks.items()}
    for row in await conn.fetch(_PG_INDEXES):
        columns = tuple(_postgres_key_column(str(column)) for column in row["columns"])
        predicate = row["predicate"]
        facts["indexes"].add(
            (
                str(row["table_name"]),
                str(row["index_name"]),
                bool(row["indisunique"]),
                columns,
                None if predicate is None else _normalized(str(predicate)),
            )
        )
    for row in await conn.fetch(_PG_TRIGGERS):
        table, name = str(row["table_name"]), str(row["tgname"])
        facts["triggers"].add(_trigger_fact(table, name, str(row["definition"])))
        facts["trigger functions"].add((table, name, str(row["function_name"])))
    return facts


def _differences(sqlite: Facts, postgres: Facts) -> list[str]:
    lines: list[str] = []
    for aspect in ASPECTS:
        for fact in sorted(sqlite[aspect] - postgres[aspect], key=repr):
            lines.append(f"{aspect}: only in SQLite:     {fact}")
        for fact in sorted(postgres[aspect] - sqlite[aspect], key=repr):
            lines.append(f"{aspect}: only in PostgreSQL: {fact}")
    return lines


async def test_the_baseline_has_the_sqlite_schema(sqlite_path: Path) -> None:
    sqlite_facts = _sqlite_schema(sqlite_path)
    for aspect in ("tables", "columns", "indexes", "foreign keys", "triggers"):
        assert sqlite_facts[aspect], f"read no {aspect} from SQLite"
    async with _postgres_database() as postgres:
        postgres_facts = await _postgres_schema(postgres)
    differences = _differences(sqlite_facts, postgres_facts)
    message = "the PostgreSQL baseline differs from the SQLite schema:\n" + "\n".join(differences)
    assert not differences, message


# What a statement came to: OK, a violated constraint's kind, or the rows a SELECT gave.
OK = "ok"
CHECK = "check violation"
UNIQUE = "unique violation"
FOREIGN_KEY = "foreign key violation"
NOT_NULL = "not null violation"

_SQLITE_ERRORS = {
    "CHECK constraint failed": CHECK,
    "UNIQUE constraint failed": UNIQUE,
    "FOREIGN KEY constraint failed": FOREIGN_KEY,
    "NOT NULL constraint failed": NOT_NULL,
}
_PG_ERRORS = {"23514": CHECK, "23505": UNIQUE, "23503": FOREIGN_KEY, "23502": NOT_NULL}


@dataclass(frozen=True, slots=True)
class Step:
    """One statement, run alike on both backends, and what it should come to."""

    sql: str
    expect: object


T = 4_102_444_800  # 2100-01-01 00:00 UTC: epoch seconds past 32 bits
CHAT = 8_000_000_000  # Telegram ids past 32 bits
H = 3600
STAFF = 9001
LONG_NOTE = "é" * 4096  # 4,096 characters, 8,192 bytes

# Inserts that should fail give an explicit id: a failed insert takes no identity value then,
# so the ids PostgreSQL numbers later rows with stay those SQLite gives.
STEPS = (
    # Patients, with ids and times past 32 bits.
    Step(
        "INSERT INTO patients (code, label, status, telegram_user_id, chat_id, timezone,"
        " checkin_time, consent_at, created_at, created_by, created_update_id,"
        " status_changed_at, consent_version)"
        f" VALUES ('P-1', 'Ann', 'active', {CHAT + 1}, {CHAT}, 'Europe/Berlin', '09:30', {T},"
        f" {T}, {STAFF}, {CHAT + 2}, {T}, 'v1')",
        OK,
    ),
    Step(
        "SELECT id, telegram_user_id, chat_id, created_at, awaiting_note_checkin_id FROM patients",
        [(1, CHAT + 1, CHAT, T, None)],
    ),
    Step(
        "INSERT INTO patients (code, status, timezone, created_at, created_by)"
        f" VALUES ('P-2', 'invited', 'UTC', {T}, {STAFF})",
        OK,
    ),
    # NULLs are distinct under UNIQUE: a second patient without a Telegram identity.
    Step(
        "INSERT INTO patients (code, status, timezone, created_at, created_by)"
        f" VALUES ('P-3', 'invited', 'UTC', {T}, {STAFF})",
        OK,
    ),
    Step(
        "INSERT INTO patients (id, code, status, timezone, created_at, created_by)"
        f" VALUES (900, 'P-1', 'invited', 'UTC', {T}, {STAFF})",
        UNIQUE,
    ),
    Step(
        "INSERT INTO patients (id, code, status, timezone, created_at, created_by)"
        f" VALUES (901, 'P-9', 'gone', 'UTC', {T}, {STAFF})",
        CHECK,
    ),
    Step(
        "INSERT INTO patients (id, code, status, created_at, created_by)"
        f" VALUES (902, 'P-9', 'invited', {T}, {STAFF})",
        NOT_NULL,
    ),
    # checkin_time GLOB '[0-2][0-9]:[0-5][0-9]': the whole value, nothing more.
    Step("UPDATE patients SET checkin_time = '29:59' WHERE id = 2", OK),
    Step("UPDATE patients SET checkin_time = '9:30' WHERE id = 2", CHECK),
    Step("UPDATE patients SET checkin_time = '09:30:00' WHERE id = 2", CHECK),
    Step("UPDATE patients SET checkin_time = 'x09:30' WHERE id = 2", CHECK),
    Step("UPDATE patients SET checkin_time = '09:3a' WHERE id = 2", CHECK),
    Step("UPDATE patients SET checkin_time = '09:30\n' WHERE id = 2", CHECK),
    # A deleted patient keeps no identity.
    Step(f"UPDATE patients SET deleted_at = {T} WHERE id = 1", CHECK),
    Step(f"UPDATE patients SET status = 'stopped', deleted_at = {T} WHERE id = 3", OK),
    # Infusions and check-ins.
    Step(
        "INSERT INTO infusions (patient_id, given_at, recorded_at, recorded_by, update_id)"
        f" VALUES (1, {T}, {T}, {STAFF}, {CHAT + 3})",
        OK,
    ),
    Step(
        "INSERT INTO infusions (id, patient_id, given_at, recorded_at, recorded_by)"
        f" VALUES (900, 999, {T}, {T}, {STAFF})",
        FOREIGN_KEY,
    ),
    Step(
        "INSERT INTO checkins (patient_id, infusion_id, kind, day, due_at, state, sent_at,"
        f" message_id) VALUES (1, 1, 'planned', 1, {T + H}, 'sent', {T + H}, {CHAT})",
        OK,
    ),
    Step(
        "INSERT INTO checkins (patient_id, kind, due_at, state, adaptive)"
        f" VALUES (1, 'planned', {T + 2 * H}, 'pending', 1)",
        OK,
    ),
    Step(
        "INSERT INTO checkins (id, patient_id, kind, due_at, state, adaptive)"
        f" VALUES (900, 1, 'planned', {T}, 'pending', 2)",
        CHECK,
    ),
    Step(
        "INSERT INTO checkins (id, patient_id, kind, due_at, state, score)"
        f" VALUES (901, 1, 'planned', {T}, 'pending', 5)",
        CHECK,
    ),
    Step("UPDATE checkins SET state = 'answered' WHERE id = 1", CHECK),
    Step("UPDATE checkins SET state = 'answered', score = 11 WHERE id = 1", CHECK),
    Step("UPDATE checkins SET close_reason = 'bored' WHERE id = 1", CHECK),
    Step("UPDATE checkins SET last_error = 'gremlins' WHERE id = 1", CHECK),
    Step(
        "SELECT id, attempts, adaptive, delivery FROM checkins ORDER BY id",
        [(1, 0, 0, None), (2, 0, 1, None)],
    ),
    # checkin_answered_awaits_note: an answer awaits a note ...
    Step("SELECT awaiting_note_checkin_id FROM patients WHERE id = 1", [(None,)]),
    Step(
        "UPDATE checkins SET state = 'answered', score = 7,"
        f" answered_at = {T + H}, answer_update_id = {CHAT + 4} WHERE id = 1",
        OK,
    ),
    Step(
        "SELECT id, awaiting_note_checkin_id FROM patients ORDER BY id",
        [(1, 1), (2, None), (3, None)],
    ),
    # ... note_added_stops_awaiting: the note ends the wait ...
    Step(
        "INSERT INTO notes (patient_id, checkin_id, text, created_at)"
        f" VALUES (1, 1, 'slept well', {T + H})",
        OK,
    ),
    Step("SELECT awaiting_note_checkin_id FROM patients WHERE id = 1", [(None,)]),
    # ... and an answered check-in updated again (OLD.state = 'answered') awaits nothing.
    Step("UPDATE checkins SET state = 'answered', score = 8 WHERE id = 1", OK),
    Step("SELECT awaiting_note_checkin_id FROM patients WHERE id = 1", [(None,)]),
    # A note ends only its own patient's wait.
    Step("UPDATE patients SET awaiting_note_checkin_id = 1 WHERE id = 1", OK),
    Step(f"INSERT INTO notes (patient_id, text, created_at) VALUES (2, 'hello', {T})", OK),
    Step(
        "SELECT id, awaiting_note_checkin_id FROM patients ORDER BY id",
        [(1, 1), (2, None), (3, None)],
    ),
    # Note length counts characters, not bytes.
    Step(
        f"INSERT INTO notes (patient_id, text, created_at) VALUES (2, '{LONG_NOTE}', {T})",
        OK,
    ),
    Step(
        "INSERT INTO notes (id, patient_id, text, created_at)"
        f" VALUES (900, 2, '{LONG_NOTE}x', {T})",
        CHECK,
    ),
    Step(
        f"INSERT INTO notes (id, patient_id, text, created_at) VALUES (901, 2, '', {T})",
        CHECK,
    ),
    # One statement answering two patients' check-ins fires the trigger for each row.
    Step(
        "INSERT INTO checkins (patient_id, kind, due_at, state)"
        f" VALUES (2, 'extra', {T + H}, 'sent')",
        OK,
    ),
    Step("UPDATE checkins SET state = 'answered', score = 2 WHERE id IN (2, 3)", OK),
    Step(
        "SELECT id, awaiting_note_checkin_id FROM patients ORDER BY id",
        [(1, 2), (2, 3), (3, None)],
    ),
    # ON DELETE SET NULL.
    Step("DELETE FROM checkins WHERE id = 3", OK),
    Step(
        "SELECT id, awaiting_note_checkin_id FROM patients ORDER BY id",
        [(1, 2), (2, None), (3, None)],
    ),
    # One open episode per patient and kind.
    Step(
        "INSERT INTO episodes (patient_id, kind, since, detected_at, explanation)"
        f" VALUES (1, 'low_scores', {T}, {T}, 'three low answers')",
        OK,
    ),
    Step(
        "INSERT INTO episodes (id, patient_id, kind, since, detected_at, explanation)"
        f" VALUES (900, 1, 'low_scores', {T}, {T}, 'again')",
        UNIQUE,
    ),
    Step(f"UPDATE episodes SET ended_at = {T + H}, end_reason = 'recovered' WHERE id = 1", OK),
    Step(
        "INSERT INTO episodes (patient_id, kind, since, detected_at, explanation)"
        f" VALUES (1, 'low_scores', {T + 2 * H}, {T + 2 * H}, 'low again')",
        OK,
    ),
    # Alerts: defaults, one alert per event key, flags 0 or 1.
    Step(
        "INSERT INTO alerts (patient_id, episode_id, kind, text, created_at, next_attempt_at)"
        f" VALUES (1, 2, 'low_scores', 'P-1: low again', {T}, {T})",
        OK,
    ),
    Step(
        "INSERT INTO alerts (patient_id, kind, text, created_at, next_attempt_at, urgent,"
        f" event_key) VALUES (1, 'silence', 'P-1: silent', {T}, {T}, 1, 'silence-1')",
        OK,
    ),
    Step(
        "INSERT INTO alerts (id, patient_id, kind, text, created_at, next_attempt_at,"
        f" event_key) VALUES (900, 1, 'silence', 'again', {T}, {T}, 'silence-1')",
        UNIQUE,
    ),
    Step(
        "INSERT INTO alerts (id, patient_id, kind, text, created_at, next_attempt_at, urgent)"
        f" VALUES (901, 1, 'silence', 'again', {T}, {T}, 2)",
        CHECK,
    ),
    Step(
        "SELECT id, urgent, with_chart, state, attempts, photo, reminders_sent, escalations"
        " FROM alerts ORDER BY id",
        [(1, 0, 0, "pending", 0, 0, 0, 0), (2, 1, 0, "pending", 0, 0, 0, 0)],
    ),
    Step(
        f"INSERT INTO alert_messages (chat_id, message_id, alert_id) VALUES ({-CHAT - 5}, 10, 1)",
        OK,
    ),
    Step(
        f"INSERT INTO alert_messages (chat_id, message_id, alert_id) VALUES ({-CHAT - 5}, 10, 2)",
        UNIQUE,
    ),
    Step(
        "INSERT INTO alert_messages (chat_id, message_id, alert_id)"
        f" VALUES ({-CHAT - 5}, 11, 999)",
        FOREIGN_KEY,
    ),
    # Explainers: pushed once, asked for any number of times.
    Step(
        "INSERT INTO explainer_deliveries (patient_id, explainer_id, how, at, episode_id)"
        f" VALUES (1, 'sleep', 'requested', {T}, 2)",
        OK,
    ),
    Step(
        "INSERT INTO explainer_deliveries (patient_id, explainer_id, how, at, episode_id)"
        f" VALUES (1, 'sleep', 'requested', {T + H}, 2)",
        OK,
    ),
    Step(
        "INSERT INTO explainer_deliveries (patient_id, explainer_id, how, at)"
        f" VALUES (1, 'sleep', 'scheduled', {T})",
        OK,
    ),
    Step(
        "INSERT INTO explainer_deliveries (id, patient_id, explainer_id, how, at)"
        f" VALUES (900, 1, 'sleep', 'contextual', {T})",
        UNIQUE,
    ),
    Step("SELECT id, sent FROM explainer_deliveries ORDER BY id", [(1, 1), (2, 1), (3, 1)]),
    # An episode's deletion takes its alerts (and their messages) and keeps the explainers.
    Step("DELETE FROM episodes WHERE id = 2", OK),
    Step(
        "SELECT id, episode_id FROM explainer_deliveries ORDER BY id",
        [(1, None), (2, None), (3, None)],
    ),
    Step("SELECT id FROM alerts ORDER BY id", [(2,)]),
    Step("SELECT count(*) FROM alert_messages", [(0,)]),
    # Staff names: unique among current members, ASCII letters folded as SQLite's lower().
    Step(
        "INSERT INTO staff_members (name, expires_at, added_by, added_at)"
        f" VALUES ('Anna', {T}, {STAFF}, {T})",
        OK,
    ),
    Step(
        "INSERT INTO staff_members (id, name, expires_at, added_by, added_at)"
        f" VALUES (900, 'ANNA', {T}, {STAFF}, {T})",
        UNIQUE,
    ),
    Step(
        "INSERT INTO staff_members (name, expires_at, added_by, added_at)"
        f" VALUES ('Émile', {T}, {STAFF}, {T})",
        OK,
    ),
    Step(
        "INSERT INTO staff_members (name, expires_at, added_by, added_at)"
        f" VALUES ('émile', {T}, {STAFF}, {T})",
        OK,
    ),
    Step(f"UPDATE staff_members SET removed_at = {T} WHERE id = 1", OK),
    Step(
        "INSERT INTO staff_members (name, expires_at, added_by, added_at, on_call)"
        f" VALUES ('anna', {T}, {STAFF}, {T}, 1)",
        OK,
    ),
    Step(
        "INSERT INTO staff_members (id, name, expires_at, added_by, added_at, on_call)"
        f" VALUES (901, 'Bo', {T}, {STAFF}, {T}, 2)",
        CHECK,
    ),
    Step(
        "SELECT id, name, on_call FROM staff_members ORDER BY lower(name), id",
        [(1, "Anna", 0), (4, "anna", 1), (2, "Émile", 0), (3, "émile", 0)],
    ),
    # Questionnaires: one unfinished per patient; completed means a total.
    Step(
        "INSERT INTO questionnaire_responses (patient_id, chat_id, instrument, origin,"
        f" started_at, updated_at, expires_at) VALUES (1, {CHAT}, 'phq9', 'baseline', {T},"
        f" {T}, {T + 168 * H})",
        OK,
    ),
    Step(
        "INSERT INTO questionnaire_responses (id, patient_id, chat_id, instrument, origin,"
        f" started_at, updated_at, expires_at) VALUES (900, 1, {CHAT}, 'gad7', 'requested',"
        f" {T}, {T}, {T + 168 * H})",
        UNIQUE,
    ),
    Step(
        "INSERT INTO questionnaire_responses (id, patient_id, chat_id, instrument, origin,"
        f" started_at, updated_at, expires_at) VALUES (901, 2, {CHAT}, 'gad7', 'whenever',"
        f" {T}, {T}, {T + 168 * H})",
        CHECK,
    ),
    Step("UPDATE questionnaire_responses SET status = 'completed' WHERE id = 1", CHECK),
    Step(
        "UPDATE questionnaire_responses SET status = 'completed', completed_at = "
        f"{T + H}, total = 12, band = 'moderate', answers = '[1,2,1,2,1,2,1,2,0]',"
        " safety_told = 0 WHERE id = 1",
        OK,
    ),
    Step(
        "INSERT INTO questionnaire_responses (patient_id, chat_id, instrument, origin,"
        f" started_at, updated_at, expires_at) VALUES (1, {CHAT}, 'gad7', 'requested',"
        f" {T + H}, {T + H}, {T + 169 * H})",
        OK,
    ),
    Step(
        "SELECT id, status, answers, safety_alerted, safety_told"
        " FROM questionnaire_responses ORDER BY id",
        [(1, "completed", "[1,2,1,2,1,2,1,2,0]", 0, 0), (2, "in_progress", "[]", 0, None)],
    ),
    # Safety questions, inbox, urgent outbox, invites, clinic values, audit log.
    Step(
        "INSERT INTO safety_questions (patient_id, chat_id, reason, asked_at, escalate_at,"
        f" update_id) VALUES (1, {CHAT}, 'low_score', {T}, {T + H}, {CHAT + 6})",
        OK,
    ),
    Step("UPDATE safety_questions SET answer = 'maybe' WHERE id = 1", CHECK),
    Step(
        "INSERT INTO inbox (update_id, chat_key, received_at, payload)"
        f" VALUES ({CHAT + 7}, {CHAT}, {T}, '[]')",
        OK,
    ),
    Step(
        "INSERT INTO inbox (update_id, chat_key, received_at, state)"
        f" VALUES ({CHAT + 8}, {CHAT}, {T}, 'lost')",
        CHECK,
    ),
    Step(
        "SELECT update_id, state, urgent, attempts FROM inbox",
        [(CHAT + 7, "pending", 0, 0)],
    ),
    Step(
        "INSERT INTO urgent_outbox (chat_id, text, priority, created_at, next_attempt_at)"
        f" VALUES (NULL, 'call the patient', 9, {T}, {T})",
        OK,
    ),
    Step(
        "INSERT INTO urgent_outbox (id, chat_id, text, priority, created_at, next_attempt_at)"
        f" VALUES (900, {CHAT}, 'too urgent', 10, {T}, {T})",
        CHECK,
    ),
    Step(
        "INSERT INTO invites (patient_id, token_hash, created_at, expires_at)"
        f" VALUES (2, 'hash-1', {T}, {T + 72 * H})",
        OK,
    ),
    Step(
        "INSERT INTO invites (id, patient_id, token_hash, created_at, expires_at)"
        f" VALUES (900, 3, 'hash-1', {T}, {T + 72 * H})",
        UNIQUE,
    ),
    Step("INSERT INTO clinic_values (key, value) VALUES ('staff_chat_id', '-100123')", OK),
    Step("INSERT INTO clinic_values (key, value) VALUES ('staff_chat_id', '-100456')", UNIQUE),
    Step(
        "INSERT INTO audit_log (at, actor, action, patient_id, detail)"
        f" VALUES ({T}, {STAFF}, 'view_patient', 1, NULL)",
        OK,
    ),
    # Deleting a patient takes their records (its check-in, awaited by the patient itself,
    # too) and keeps the audit entry without them.
    Step("DELETE FROM patients WHERE id = 1", OK),
    Step("SELECT id, patient_id FROM audit_log ORDER BY id", [(1, None)]),
    Step("SELECT count(*) FROM checkins", [(0,)]),
    Step("SELECT count(*) FROM questionnaire_responses", [(0,)]),
    Step("SELECT id FROM patients ORDER BY id", [(2,), (3,)]),
)


def _is_query(sql: str) -> bool:
    return sql.lstrip().upper().startswith("SELECT")


def _sqlite_outcome(conn: sqlite3.Connection, sql: str) -> object:
    try:
        rows = conn.execute(sql).fetchall()
    except sqlite3.IntegrityError as error:
        message = str(error)
        for prefix, kind in _SQLITE_ERRORS.items():
            if message.startswith(prefix):
                return kind
        return f"raised: {message}"  # RAISE(ABORT, message) in a trigger
    return [tuple(row) for row in rows] if _is_query(sql) else OK


async def _postgres_outcome(conn: Any, sql: str) -> object:
    try:
        if _is_query(sql):
            return [tuple(record) for record in await conn.fetch(sql)]
        await conn.execute(sql)
    except asyncpg.PostgresError as error:
        state = str(error.sqlstate)
        if state in _PG_ERRORS:
            return _PG_ERRORS[state]
        if state == "P0001":  # RAISE EXCEPTION in a trigger function
            return f"raised: {error.message}"
        raise
    return OK


def _sqlite_connection(path: Path) -> sqlite3.Connection:
    """Open the migrated file in autocommit, with foreign keys on as the application has."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _primary_keys(conn: sqlite3.Connection) -> dict[str, str]:
    """Return every table with its primary key columns, for an ORDER BY."""
    keys: dict[str, str] = {}
    for (table,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_migrations'"
        " ORDER BY name"
    ).fetchall():
        info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        key = [str(row[1]) for row in sorted(info, key=lambda row: row[5]) if row[5]]
        keys[str(table)] = ", ".join(key)
    return keys


async def test_rows_and_triggers_come_out_alike(sqlite_path: Path) -> None:
    async with _postgres_database() as postgres:
        with closing(_sqlite_connection(sqlite_path)) as lite:
            mismatches: list[str] = []
            for number, step in enumerate(STEPS, start=1):
                on_sqlite = _sqlite_outcome(lite, step.sql)
                on_postgres = await _postgres_outcome(postgres, step.sql)
                if not on_sqlite == on_postgres == step.expect:
                    mismatches.append(
                        f"step {number}: {step.sql[:160]}\n"
                        f"    expected:   {step.expect!r}\n"
                        f"    SQLite:     {on_sqlite!r}\n"
                        f"    PostgreSQL: {on_postgres!r}"
                    )
            assert not mismatches, "the backends disagree:\n" + "\n".join(mismatches)

            differing: list[str] = []
            for table, key in _primary_keys(lite).items():
                query = f"SELECT * FROM {table} ORDER BY {key}"
                sqlite_rows = _sqlite_outcome(lite, query)
                postgres_rows = await _postgres_outcome(postgres, query)
                if sqlite_rows != postgres_rows:
                    differing.append(
                        f"{table}:\n    SQLite:     {sqlite_rows!r}\n"
                        f"    PostgreSQL: {postgres_rows!r}"
                    )
            assert not differing, "the tables end up differing:\n" + "\n".join(differing)
