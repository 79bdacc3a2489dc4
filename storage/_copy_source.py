"""The SQLite side of `copy_to_postgres`: a read-only snapshot, its tables, the copy order.

The source is read through a read-only connection inside ONE read transaction: in WAL mode
that is a consistent snapshot of the whole file, taken without copying it first (a backup
to a temporary file would need as much free disk again) and without stopping a bot that is
still writing (its later writes are simply not copied; the WAL only grows meanwhile).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.domain.errors import AfterglowError

from ._database import latest_schema_version

OWN_TABLE = "schema_migrations"
# What SQLite's typeof() may say of a value each PostgreSQL column type takes unchanged
# (asyncpg would turn a REAL into a BIGINT by truncating it).
_TYPEOF = {"bigint": ("integer", "null"), "text": ("text", "null")}


class CopyError(AfterglowError):
    """The copy was refused or failed; the target holds no copied row."""


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key: the table it refers to, its columns here, and whether all are nullable."""

    table: str
    columns: tuple[str, ...]
    nullable: bool


@dataclass(frozen=True, slots=True)
class SourceTable:
    """A source table: its columns, primary key and foreign keys."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    references: tuple[ForeignKey, ...]


@dataclass(frozen=True, slots=True)
class CopyStep:
    """A table in copy order, with the columns copied NULL and set once all tables are in."""

    table: SourceTable
    deferred: tuple[str, ...]


def quote(name: str) -> str:
    """Quote an identifier (the same way for SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


@asynccontextmanager
async def snapshot(source: Path) -> AsyncIterator[aiosqlite.Connection]:
    """Open the source read-only inside one read transaction, checked to be current."""
    uri = _read_only_uri(source)
    try:
        conn = await aiosqlite.connect(uri, uri=True, isolation_level=None, timeout=30)
    except sqlite3.Error as err:
        raise CopyError(f"cannot open {source}: {err}") from None
    try:
        await conn.execute("BEGIN")
        await _check_version(conn, source)
        yield conn
    except sqlite3.Error as err:
        raise CopyError(f"cannot read {source}: {err}") from None
    finally:
        await conn.close()


def _read_only_uri(source: Path) -> str:
    if not source.is_file():
        raise CopyError(f"no SQLite database at {source}")
    return f"{source.resolve().as_uri()}?mode=ro"


async def _check_version(conn: aiosqlite.Connection, source: Path) -> None:
    try:
        found = await conn.execute_fetchall(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (OWN_TABLE,)
        )
    except sqlite3.DatabaseError:
        raise CopyError(f"{source} is not an SQLite database") from None
    if not list(found):
        raise CopyError(f"{source} is not an Afterglow database (it has no {OWN_TABLE})")
    rows = list(await conn.execute_fetchall(f"SELECT coalesce(max(version), 0) FROM {OWN_TABLE}"))
    version, latest = int(rows[0][0]), latest_schema_version()
    if version > latest:
        raise CopyError(
            f"{source} is at schema version {version}, newer than this Afterglow ({latest});"
            " upgrade Afterglow"
        )
    if version < latest:
        raise CopyError(
            f"{source} is at schema version {version}, not {latest}: start this Afterglow once"
            " on it (afterglow run, without AFTERGLOW_DATABASE_URL) so it is migrated, then"
            " copy again (`afterglow check` shows its version)"
        )


async def source_tables(conn: aiosqlite.Connection, source: Path) -> list[SourceTable]:
    """Read the tables, columns, keys and foreign keys (PRAGMAs), in creation order."""
    names = await conn.execute_fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%'"
        " ESCAPE '\\' AND name != ? ORDER BY rowid",
        (OWN_TABLE,),
    )
    tables = [await _table(conn, str(name)) for (name,) in names]
    if not tables:
        raise CopyError(f"{source} has no tables to copy")
    return tables


async def _table(conn: aiosqlite.Connection, name: str) -> SourceTable:
    info = list(
        await conn.execute_fetchall(
            'SELECT name, "notnull", pk FROM pragma_table_info(?) ORDER BY cid', (name,)
        )
    )
    nullable = {str(column): not notnull for column, notnull, _ in info}
    key = tuple(str(column) for column, _, pk in sorted(info, key=lambda row: row[2]) if pk)
    keys: dict[int, tuple[str, list[str]]] = {}
    for ident, other, column in await conn.execute_fetchall(
        'SELECT id, "table", "from" FROM pragma_foreign_key_list(?) ORDER BY id, seq', (name,)
    ):
        keys.setdefault(int(ident), (str(other), []))[1].append(str(column))
    references = tuple(
        ForeignKey(other, tuple(columns), all(nullable.get(c, False) for c in columns))
        for other, columns in keys.values()
    )
    return SourceTable(name, tuple(nullable), key, references)


async def odd_values(
    conn: aiosqlite.Connection, table: SourceTable, types: Mapping[str, str]
) -> list[str]:
    """Return the columns holding a value their PostgreSQL type would refuse or change."""
    checked = [(c, _TYPEOF[types[c]]) for c in table.columns if types.get(c) in _TYPEOF]
    if not checked:
        return []
    sums = ", ".join(
        f"coalesce(sum(typeof({quote(c)}) NOT IN ({', '.join(repr(k) for k in kinds)})), 0)"
        for c, kinds in checked
    )
    rows = list(await conn.execute_fetchall(f"SELECT {sums} FROM {quote(table.name)}"))
    return [f"{table.name}.{c}" for (c, _), odd in zip(checked, rows[0], strict=True) if odd]


def copy_order(tables: Sequence[SourceTable]) -> list[CopyStep]:
    """Put each table after the tables it refers to; break cycles at nullable keys.

    Tables keep their creation order where the keys allow. Once the keys a cycle needs are
    deferred the order is worked out again, so a table is not put late for having been on
    a cycle (patients goes first, not after every table that is not on one).
    """
    known = {table.name for table in tables}
    waiting = {t.name: {r for r in t.references if r.table in known} for t in tables}
    deferred: dict[str, list[str]] = {table.name: [] for table in tables}
    while len(placed := _placeable(tables, waiting)) < len(tables):
        name, reference = _cycle_edge(tables, waiting, placed)
        waiting[name].discard(reference)
        deferred[name] += [c for c in reference.columns if c not in deferred[name]]
    by_name = {table.name: table for table in tables}
    return [CopyStep(by_name[name], tuple(deferred[name])) for name in placed]


def _placeable(tables: Sequence[SourceTable], waiting: dict[str, set[ForeignKey]]) -> list[str]:
    """Return the tables that can go in, in order, until only those on cycles are left."""
    placed: list[str] = []
    while ready := [
        t.name
        for t in tables
        if t.name not in placed and all(r.table in placed for r in waiting[t.name])
    ]:
        placed.append(ready[0])
    return placed


def _cycle_edge(
    tables: Sequence[SourceTable], waiting: dict[str, set[ForeignKey]], placed: list[str]
) -> tuple[str, ForeignKey]:
    """Return a nullable foreign key on a cycle among the tables not yet placed."""

    def reaches(start: str, goal: str) -> bool:
        seen: set[str] = set()
        todo = [start]
        while todo:
            here = todo.pop()
            if here == goal:
                return True
            if here not in seen and here not in placed:
                seen.add(here)
                todo += [reference.table for reference in waiting[here]]
        return False

    for table in tables:
        if table.name in placed:
            continue
        for reference in sorted(waiting[table.name], key=lambda r: (r.table, r.columns)):
            if reference.nullable and reaches(reference.table, table.name):
                return table.name, reference
    stuck = sorted(set(waiting) - set(placed))
    raise CopyError(f"tables {', '.join(stuck)} refer to each other through NOT NULL keys")
