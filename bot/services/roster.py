"""The staff roster: who may use the staff commands, and who is on call.

The clinic's owners (AFTERGLOW_ADMIN_IDS) add staff with a one-time link (the same token
scheme as patient invitations), list them, mark who is on call and remove them, without a
restart; every change is audited. A joined member may use every staff command and button,
as an owner may; adding, removing and the on-call rota are for owners.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.clock import Clock
from bot.domain.codes import AuditAction, StaffJoinOutcome
from bot.domain.entities import StaffMember
from bot.domain.errors import InputError, InputProblem
from bot.domain.text import clean_text
from bot.services.enrolment import TOKEN_PATTERN, hash_token, new_token
from storage import NameTakenError, Storage

log = logging.getLogger(__name__)

LINK_TTL = timedelta(days=2)
MAX_NAME = 40

UserIdsChanged = Callable[[int], None]


def clean_name(name: str) -> str:
    """Return a member's name as stored: one line, single spaces, no invisible characters.

    Names are how staff tell members apart in /oncall and /removestaff, so two names that
    look the same must be the same.
    """
    visible = "".join(c for c in clean_text(name) if unicodedata.category(c) != "Cf")
    return " ".join(visible.split())


@dataclass(frozen=True, slots=True)
class StaffInvitation:
    """A member waiting to open their one-time link."""

    member: StaffMember
    token: str
    expires_at: datetime


class RosterService:
    """Keeps the roster and answers, without a database call, who is staff."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        owners: frozenset[int],
        on_joined: UserIdsChanged,
        on_removed: UserIdsChanged,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._owners = owners
        self._on_joined = on_joined
        self._on_removed = on_removed
        self._members: set[int] = set()

    async def load(self) -> None:
        """Read the joined members (at start-up)."""
        for member in await self._storage.roster.current():
            if member.telegram_user_id is not None:
                self._members.add(member.telegram_user_id)
                self._on_joined(member.telegram_user_id)

    def is_staff(self, user_id: int | None) -> bool:
        """Tell whether a Telegram user may use the staff commands."""
        return user_id is not None and (user_id in self._owners or user_id in self._members)

    @property
    def owners(self) -> frozenset[int]:
        """Return the owners' Telegram ids."""
        return self._owners

    @property
    def owner_count(self) -> int:
        """Return how many owners are configured."""
        return len(self._owners)

    def is_member(self, user_id: int) -> bool:
        """Tell whether a Telegram user joined the roster (owners need not have)."""
        return user_id in self._members

    def is_owner(self, user_id: int | None) -> bool:
        """Tell whether a Telegram user may change the roster."""
        return user_id is not None and user_id in self._owners

    async def add(
        self, name: str | None, *, by: int, update_id: int | None
    ) -> StaffInvitation | None:
        """Add a member and make their one-time link; None if this update did already.

        Without a name the member is called "Staff N", the first number not taken.
        """
        clean = await self._free_name() if name is None else clean_name(name)
        if not clean or len(clean) > MAX_NAME:
            raise InputError(InputProblem.STAFF_NAME_BAD, str(MAX_NAME))
        token = new_token()
        now = self._clock.now()
        try:
            member = await self._storage.roster.add(
                name=clean,
                token_hash=hash_token(token),
                expires_at=now + LINK_TTL,
                added_by=by,
                now=now,
                update_id=update_id,
            )
        except NameTakenError:
            raise InputError(InputProblem.STAFF_NAME_TAKEN, clean) from None
        if member is None:
            return None
        await self._audit(by, AuditAction.ADD_STAFF, member.name)
        log.info("roster.added member=%d", member.id)
        return StaffInvitation(member=member, token=token, expires_at=now + LINK_TTL)

    async def holds(self, token: str) -> bool:
        """Tell whether a /start payload is a staff link (anything else is not, quietly)."""
        if not TOKEN_PATTERN.fullmatch(token):
            return False
        return await self._storage.roster.holds_token(hash_token(token))

    async def join(
        self, token: str, *, user_id: int
    ) -> tuple[StaffJoinOutcome, StaffMember | None]:
        """Bind a staff link to the user who opened it, unless they are a patient."""
        if user_id in self._members:
            return StaffJoinOutcome.ALREADY_MEMBER, None
        if await self._storage.patients.by_user(user_id) is not None:
            log.warning("roster.join_refused reason=patient")
            return StaffJoinOutcome.IS_PATIENT, None
        member = await self._storage.roster.join(
            token_hash=hash_token(token), user_id=user_id, now=self._clock.now()
        )
        if member is None:
            return StaffJoinOutcome.NOT_VALID, None
        self._members.add(user_id)
        self._on_joined(user_id)
        await self._audit(user_id, AuditAction.JOIN_STAFF, member.name)
        log.info("roster.joined member=%d", member.id)
        return StaffJoinOutcome.JOINED, member

    async def members(self) -> list[StaffMember]:
        """Return the current members, by name."""
        return await self._storage.roster.current()

    async def set_on_call(self, name: str, *, by: int, on_call: bool) -> StaffMember:
        """Put a member on call or off; raises InputError for an unknown name."""
        member = await self._named(name)
        await self._storage.roster.set_on_call(member.id, on_call=on_call)
        action = AuditAction.ON_CALL if on_call else AuditAction.OFF_CALL
        await self._audit(by, action, member.name)
        return await self._named(name)

    async def remove(self, name: str, *, by: int) -> StaffMember:
        """Remove a member: their commands and buttons stop working at once."""
        member = await self._named(name)
        await self._storage.roster.remove(member.id, now=self._clock.now())
        if member.telegram_user_id is not None:
            self._members.discard(member.telegram_user_id)
            if member.telegram_user_id not in self._owners:
                self._on_removed(member.telegram_user_id)
        await self._audit(by, AuditAction.REMOVE_STAFF, member.name)
        log.info("roster.removed member=%d", member.id)
        return member

    async def on_call(self) -> list[StaffMember]:
        """Return the joined members on call."""
        return [
            member
            for member in await self._storage.roster.current()
            if member.on_call and member.telegram_user_id is not None
        ]

    async def _free_name(self) -> str:
        taken = {member.name.lower() for member in await self._storage.roster.current()}
        number = len(taken) + 1
        while f"staff {number}" in taken:
            number += 1
        return f"Staff {number}"

    async def _named(self, name: str) -> StaffMember:
        member = await self._storage.roster.by_name(clean_name(name))
        if member is None:
            raise InputError(InputProblem.NO_SUCH_STAFF, name.strip()[:MAX_NAME])
        return member

    async def _audit(self, actor: int, action: AuditAction, name: str) -> None:
        await self._storage.clinic.audit(
            actor=actor, action=action, now=self._clock.now(), patient_id=None, detail=name
        )
