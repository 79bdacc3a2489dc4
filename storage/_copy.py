"""Copy a SQLite database into an empty PostgreSQL one (`afterglow migrate-to-postgres`).

The source is read in one read transaction (see `_copy_source`). The target is migrated by
`PostgresDatabase.open()` (its schema then stays), then checked, filled and verified in
ONE transaction behind the write lock, so a failure anywhere leaves it without a row, as
it was. Rows are streamed with COPY, a batch at a time. Tables go in an order derived
from the foreign keys; a cycle (patients.awaiting_note_checkin_id -> checkins -> patients)
is broken at a nullable key, copied NULL and set once both sides are in, since the
baseline's keys are not DEFERRABLE. PostgreSQL checks every foreign key as rows arrive.
The user triggers (0002's note triggers) are disabled for the copy with `ALTER TABLE ...
DISABLE TRIGGER USER`: the copied rows are the source's, not what triggers would make of
them. The owner may do that; `session_replication_role` needs a superuser and would switch
off the foreign keys too. The ALTERs are part of the transaction: a failure undoes them.

No message quotes a value: a failure names the table, the constraint and the SQLSTATE,
and the server's own words only for connection problems; a URL only without its password.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from bot.domain.errors import AfterglowError

from ._copy_source import (
    OWN_TABLE,
    CopyError,
    CopyStep,
    SourceTable,
    copy_order,
    odd_values,
    quote,
    snapshot,
    source_tables,
)
from ._postgres import WRITE_LOCK, PostgresDatabase, postgres_url

# SQLSTATE classes whose server message names no data: connection, authorisation, no such
# database, resources, operator intervention.
_SPOKEN_CLASSES = ("08", "28", "3D", "53", "57")

Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied: each table's rows (equal on both sides), in the order copied."""

    tables: tuple[tuple[str, int], ...]

    @property
    def rows(self) -> int:
        """Rows copied in all."""
        return sum(count for _, count in self.tables)


async def copy_to_postgres(
    source: Path, url: str, *, batch: int = 5000, progress: Progress | None = None
) -> CopyReport:
    """Copy an Afterglow SQLite file at the latest schema into an empty PostgreSQL database.

    The source is only read; the target is migrated, then filled and verified (rows per
    table equal on both sides, identity sequences past the copied ids) in one transaction.
    `progress(table, rows)` hears of each table as it is copied, before the commit.
    Raises CopyError, with a one-line reason that holds no password and no row data.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    try:
        target = postgres_url(url)
    except AfterglowError as err:
        raise CopyError(f"the target URL {err}") from None
    shown = target.set(drivername="postgresql").render_as_string(hide_password=True)
    secret = target.password if isinstance(target.password, str) else None
    async with snapshot(source) as reader:
        steps = copy_order(await source_tables(reader, source))
        await _migrate_target(target, shown, secret)
        engine = create_async_engine(target, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK})
                return await _fill(conn, reader, steps, batch, progress)
        except (OSError, SQLAlchemyError) as err:
            raise CopyError(f"PostgreSQL at {shown}: {_reason(err, secret)}") from None
        finally:
            await engine.dispose()


async def _migrate_target(target: URL, shown: str, secret: str | None) -> None:
    """Connect to the target and bring its schema to the latest version."""
    database = PostgresDatabase(target)
    try:
        await database.open()
    except AfterglowError as err:
        raise CopyError(f"PostgreSQL at {shown}: {err}") from None
    except (OSError, SQLAlchemyError) as err:
        raise CopyError(
            f"cannot connect to PostgreSQL at {shown}: {_reason(err, secret)}"
        ) from None
    finally:
        await database.close()


async def _fill(
    conn: AsyncConnection,
    reader: aiosqlite.Connection,
    steps: Sequence[CopyStep],
    batch: int,
    progress: Progress | None,
) -> CopyReport:
    """Inside the target's transaction: check, copy, set the deferred keys, verify."""
    types, identities = await _check_target(conn, [step.table for step in steps])
    odd = [
        found
        for step in steps
        for found in await odd_values(reader, step.table, types[step.table.name])
    ]
    if odd:
        raise CopyError(
            f"{', '.join(odd[:3])}{' and more' if len(odd) > 3 else ''} hold values of another"
            " type than PostgreSQL's column (SQLite kept them as given); nothing was copied"
        )
    raw = (await conn.get_raw_connection()).driver_connection
    triggered = await _tables_with_triggers(conn)
    for name in triggered:
        await conn.execute(text(f"ALTER TABLE {quote(name)} DISABLE TRIGGER USER"))
    counts: list[tuple[str, int]] = []
    for step in steps:
        counts.append((step.table.name, await _copy_table(reader, raw, step, batch)))
        if progress is not None:
            progress(*counts[-1])
    for step in steps:
        if step.deferred:
            await _set_deferred(reader, raw, step, batch)
    for name in triggered:
        await conn.execute(text(f"ALTER TABLE {quote(name)} ENABLE TRIGGER USER"))
    for table, column in identities:
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:t, :c), coalesce(max({quote(column)}),"
                f" 1), max({quote(column)}) IS NOT NULL) FROM {quote(table)}"
            ),
            {"t": quote(table), "c": column},
        )
    await _verify(conn, reader, steps, dict(counts))
    return CopyReport(tuple(counts))


async def _check_target(
    conn: AsyncConnection, tables: Sequence[SourceTable]
) -> tuple[dict[str, dict[str, str]], list[tuple[str, str]]]:
    """Refuse a target whose schema differs or that has rows.

    Return each table's column types, and the identity columns.
    """
    found = await conn.execute(
        text(
            "SELECT c.table_name, c.column_name, c.data_type, c.is_identity"
            " FROM information_schema.columns c JOIN information_schema.tables t"
            " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            " AND c.table_name != :own ORDER BY c.table_name, c.ordinal_position"
        ),
        {"own": OWN_TABLE},
    )
    types: dict[str, dict[str, str]] = {}
    identities: list[tuple[str, str]] = []
    for table, column, kind, identity in found:
        types.setdefault(str(table), {})[str(column)] = str(kind)
        if identity == "YES":
            identities.append((str(table), str(column)))
    _compare({t.name: set(t.columns) for t in tables}, {t: set(c) for t, c in types.items()})
    full = []
    for name in types:
        exists = await conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {quote(name)})"))
        if exists.scalar_one():
            full.append(name)
    if full:
        raise CopyError(
            f"the target database is not empty (rows in {', '.join(full)});"
            " copy into a new, empty database"
        )
    return types, identities


def _compare(source: Mapping[str, set[str]], target: Mapping[str, set[str]]) -> None:
    """Raise unless both sides have the same tables with the same columns."""
    problems = [f"table {name} only in the SQLite file" for name in sorted(source.keys() - target)]
    problems += [f"table {name} only in PostgreSQL" for name in sorted(target.keys() - source)]
    for name in sorted(source.keys() & target.keys()):
        problems += [
            f"column {name}.{c} only in the SQLite file"
            for c in sorted(source[name] - target[name])
        ]
        problems += [
            f"column {name}.{c} only in PostgreSQL" for c in sorted(target[name] - source[name])
        ]
    if problems:
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise CopyError(f"the schemas differ: {'; '.join(problems[:3])}{more}")


async def _tables_with_triggers(conn: AsyncConnection) -> list[str]:
    found = await conn.execute(
        text(
            "SELECT DISTINCT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE NOT g.tgisinternal AND n.nspname = current_schema() ORDER BY c.relname"
        )
    )
    return [str(name) for (name,) in found]


async def _copy_table(reader: aiosqlite.Connection, raw: Any, step: CopyStep, batch: int) -> int:
    """Stream one table in batches into PostgreSQL's COPY; return the rows copied."""
    table = step.table
    nulled = [i for i, column in enumerate(table.columns) if column in step.deferred]
    columns = ", ".join(quote(column) for column in table.columns)
    copied = 0
    async with reader.execute(f"SELECT {columns} FROM {quote(table.name)}") as cursor:
        while rows := list(await cursor.fetchmany(batch)):
            records = [_without(row, nulled) for row in rows] if nulled else rows
            await _driver(
                table.name,
                raw.copy_records_to_table(
                    table.name, records=records, columns=list(table.columns)
                ),
            )
            copied += len(rows)
    return copied


def _without(row: Sequence[object], nulled: Sequence[int]) -> tuple[object, ...]:
    values = list(row)
    for index in nulled:
        values[index] = None
    return tuple(values)


async def _set_deferred(
    reader: aiosqlite.Connection, raw: Any, step: CopyStep, batch: int
) -> None:
    """Set the columns copied NULL (one side of a cycle), now that what they refer to is in."""
    table, deferred = step.table, step.deferred
    if not table.key:
        raise CopyError(f"table {table.name} has no primary key to set {', '.join(deferred)} by")
    sets = ", ".join(f"{quote(c)} = ${i}" for i, c in enumerate(deferred, 1))
    where = " AND ".join(f"{quote(c)} = ${i}" for i, c in enumerate(table.key, len(deferred) + 1))
    update = f"UPDATE {quote(table.name)} SET {sets} WHERE {where}"
    chosen = ", ".join(quote(c) for c in (*deferred, *table.key))
    present = " OR ".join(f"{quote(c)} IS NOT NULL" for c in deferred)
    query = f"SELECT {chosen} FROM {quote(table.name)} WHERE {present}"
    async with reader.execute(query) as cursor:
        while rows := list(await cursor.fetchmany(batch)):
            await _driver(table.name, raw.executemany(update, [tuple(row) for row in rows]))


async def _driver(table: str, call: Any) -> None:
    """Await one asyncpg call, naming the table (and no value) if PostgreSQL refuses."""
    try:
        await call
    except Exception as err:
        raise CopyError(f"cannot copy table {table}: {_reason(err, None)}") from None


async def _verify(
    conn: AsyncConnection,
    reader: aiosqlite.Connection,
    steps: Sequence[CopyStep],
    copied: Mapping[str, int],
) -> None:
    """Count every table (and each deferred column's values) on both sides; raise on a gap."""
    for step in steps:
        name = step.table.name
        checks = [("rows", "TRUE")]
        checks += [(f"{c} values", f"{quote(c)} IS NOT NULL") for c in step.deferred]
        for what, where in checks:
            query = f"SELECT count(*) FROM {quote(name)} WHERE {where}"
            theirs = int(next(iter(await reader.execute_fetchall(query)))[0])
            ours = int((await conn.execute(text(query))).scalar_one())
            if ours != theirs or (what == "rows" and copied[name] != theirs):
                raise CopyError(
                    f"table {name}: {ours} {what} in PostgreSQL, {theirs} in the SQLite file"
                    " after copying; nothing was copied"
                )


def _driver_error(err: BaseException) -> BaseException:
    """Return asyncpg's own exception under SQLAlchemy's wrappings (the last with a SQLSTATE)."""
    chain: list[BaseException] = [err]
    orig = getattr(err, "orig", None)
    if isinstance(orig, BaseException):
        chain.append(orig)
    while (cause := chain[-1].__cause__) is not None and cause not in chain:
        chain.append(cause)
    coded = [found for found in chain if isinstance(getattr(found, "sqlstate", None), str)]
    return coded[-1] if coded else chain[-1]


def _reason(err: BaseException, secret: str | None) -> str:
    """Say why PostgreSQL refused, in words that quote no value (and no password)."""
    found = _driver_error(err)
    state = getattr(found, "sqlstate", None)
    constraint = getattr(found, "constraint_name", None)
    said: str
    if isinstance(found, TimeoutError):
        said = "timed out"
    elif isinstance(found, OSError):
        said = found.strerror or type(found).__name__
    elif isinstance(found, TypeError | ValueError) or (
        isinstance(state, str) and state[:2] == "22"
    ):
        said = f"a value does not fit its column ({type(found).__name__})"
    elif not isinstance(state, str):
        said = type(found).__name__
    elif state == "23503":
        said = (
            f"rows refer to rows that are not there (foreign key {constraint};"
            " `PRAGMA foreign_key_check` on the SQLite file lists them)"
        )
    elif state[:2] == "23":
        said = f"a row breaks constraint {constraint} (SQLSTATE {state})"
    elif state[:2] in _SPOKEN_CLASSES:
        said = str(getattr(found, "message", "") or type(found).__name__)
    else:
        said = f"{type(found).__name__} (SQLSTATE {state})"
    return said.replace(secret, "***") if secret else said
