"""Conversion between aware datetimes and the integer seconds stored in the database."""

from __future__ import annotations

from datetime import UTC, datetime


def to_ts(moment: datetime) -> int:
    """Return whole seconds since the epoch for an aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime given to storage; every time must carry a zone")
    return int(moment.timestamp())


def from_ts(seconds: int) -> datetime:
    """Return the aware UTC datetime for stored seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def opt_from_ts(seconds: int | None) -> datetime | None:
    """Return the aware UTC datetime for stored seconds, or None."""
    return None if seconds is None else from_ts(seconds)
