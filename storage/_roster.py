"""The staff roster: members added by a one-time link, on call or not, removed or not."""

from __future__ import annotations

from datetime import datetime

from bot.domain.entities import StaffMember
from bot.domain.errors import AfterglowError

from ._database import Database, Row
from ._time import from_ts, opt_from_ts, to_ts

_COLUMNS = "id, name, telegram_user_id, on_call, expires_at, joined_at, removed_at"


def _member(row: Row) -> StaffMember:
    return StaffMember(
        id=row["id"],
        name=row["name"],
        telegram_user_id=row["telegram_user_id"],
        on_call=bool(row["on_call"]),
        expires_at=from_ts(row["expires_at"]),
        joined_at=opt_from_ts(row["joined_at"]),
        removed_at=opt_from_ts(row["removed_at"]),
    )


class NameTakenError(AfterglowError):
    """Another current member has this name."""


class RosterRepository:
    """Members are identified to staff by name; only their Telegram id authorises them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        name: str,
        token_hash: str,
        expires_at: datetime,
        added_by: int,
        now: datetime,
        update_id: int | None,
    ) -> StaffMember | None:
        """Add a member waiting to open their link; None if this update added one already."""
        async with self._db.write() as conn:
            taken = list(
                await conn.fetch_all(
                    "SELECT created_update_id = ? AS same FROM staff_members"
                    " WHERE (lower(name) = lower(?) AND removed_at IS NULL)"
                    " OR (created_update_id IS NOT NULL AND created_update_id = ?)",
                    (update_id, name, update_id),
                )
            )
            if any(row["same"] for row in taken):
                return None
            if taken:
                raise NameTakenError(name)
            rows = list(
                await conn.fetch_all(
                    "INSERT INTO staff_members (name, token_hash, expires_at, added_by, added_at,"
                    f" created_update_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                    (name, token_hash, to_ts(expires_at), added_by, to_ts(now), update_id),
                )
            )
        return _member(rows[0])

    async def join(self, *, token_hash: str, user_id: int, now: datetime) -> StaffMember | None:
        """Bind the link's member to a Telegram user; None if unknown, used or expired."""
        rows = await self._db.write_one(
            "UPDATE staff_members SET telegram_user_id = ?, joined_at = ?"
            " WHERE token_hash = ? AND joined_at IS NULL AND removed_at IS NULL"
            " AND expires_at > ? AND NOT EXISTS (SELECT 1 FROM staff_members other"
            "   WHERE other.telegram_user_id = ? AND other.removed_at IS NULL)"
            f" RETURNING {_COLUMNS}",
            (user_id, to_ts(now), token_hash, to_ts(now), user_id),
        )
        return _member(rows[0]) if rows else None

    async def holds_token(self, token_hash: str) -> bool:
        """Tell whether a link token is a staff link (open, used or withdrawn), not a patient's."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM staff_members WHERE token_hash = ?", (token_hash,)
        )
        return row is not None

    async def current(self) -> list[StaffMember]:
        """Return the members not removed, by name."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM staff_members WHERE removed_at IS NULL ORDER BY lower(name)"
        )
        return [_member(row) for row in rows]

    async def by_name(self, name: str) -> StaffMember | None:
        """Return the current member with this name (any case)."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM staff_members WHERE lower(name) = lower(?)"
            " AND removed_at IS NULL",
            (name,),
        )
        return None if row is None else _member(row)

    async def set_on_call(self, member_id: int, *, on_call: bool) -> None:
        """Put a member on call, or off."""
        await self._db.write_one(
            "UPDATE staff_members SET on_call = ? WHERE id = ?", (int(on_call), member_id)
        )

    async def remove(self, member_id: int, *, now: datetime) -> None:
        """Remove a member: their link and their Telegram id stop working at once.

        The id is let go so that the same account can be added again later; the audit log
        keeps who joined and who removed them.
        """
        await self._db.write_one(
            "UPDATE staff_members SET removed_at = ?, on_call = 0, telegram_user_id = NULL"
            " WHERE id = ? AND removed_at IS NULL",
            (to_ts(now), member_id),
        )
