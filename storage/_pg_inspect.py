"""`afterglow check` on PostgreSQL: a read-only look at the database and its instances."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from ._clinic import HEARTBEAT_KEY
from ._database import latest_schema_version
from ._maintenance import DatabaseReport
from ._postgres import HELD_INSTANCE_LOCKS, postgres_url
from ._time import from_ts


async def inspect_postgres(url: str, *, host: str = "") -> DatabaseReport:
    """Look at a PostgreSQL database without changing it, as `inspect_database` does a file.

    PostgreSQL keeps its own pages sound (checksums, WAL): "integrity" here says the server
    answered a read of the schema, not that a page scan was made. `host` names the machine
    whose running instance's last sign of work is wanted.
    """
    latest = latest_schema_version()
    engine = create_async_engine(postgres_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            known = await conn.execute(text("SELECT to_regclass('schema_migrations')"))
            if known.scalar_one() is None:
                return DatabaseReport(True, 0, latest, "ok", 0)
            version = int(
                (
                    await conn.execute(
                        text("SELECT coalesce(max(version), 0) FROM schema_migrations")
                    )
                ).scalar_one()
            )
            patients = int(
                (await conn.execute(text("SELECT count(*) FROM patients"))).scalar_one()
            )
            beat = await conn.execute(
                text("SELECT value FROM clinic_values WHERE key = :k"), {"k": HEARTBEAT_KEY}
            )
            value = beat.scalar_one_or_none()
            running = await conn.execute(text("SELECT count(*)" + HELD_INSTANCE_LOCKS))
            instances = int(running.scalar_one())
            seen_here = await _seen_on(conn, host)
    except (OSError, SQLAlchemyError) as err:
        return DatabaseReport(True, 0, latest, f"unreachable ({type(err).__name__})", 0)
    finally:
        await engine.dispose()
    heartbeat = from_ts(int(value)) if value is not None and str(value).isdigit() else None
    return DatabaseReport(True, version, latest, "ok", patients, heartbeat, instances, seen_here)


async def _seen_on(conn: AsyncConnection, host: str) -> datetime | None:
    """When the newest instance on `host` was seen working, if it holds its liveness lock."""
    known = await conn.execute(text("SELECT to_regclass('instances')"))
    if known.scalar_one() is None:
        return None
    found = await conn.execute(
        text("SELECT id, seen_at FROM instances WHERE host = :h ORDER BY id DESC LIMIT 1"),
        {"h": host},
    )
    row = found.first()
    if row is None or row[1] is None:
        return None
    held = await conn.execute(
        text("SELECT count(*)" + HELD_INSTANCE_LOCKS + " AND objid::bigint = :i"),
        {"i": int(row[0])},
    )
    return from_ts(int(row[1])) if held.scalar_one() else None
