"""The staff roster: one-time links, on call, removal, the audit, and a restart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.codes import AuditAction, StaffJoinOutcome
from bot.domain.errors import InputError, InputProblem
from bot.services.roster import LINK_TTL, RosterService
from tests.conftest import Domain

OWNER = 7000


class Watch:
    def __init__(self) -> None:
        self.joined: list[int] = []
        self.removed: list[int] = []


def roster(domain: Domain, watch: Watch) -> RosterService:
    return RosterService(
        domain.storage,
        domain.clock,
        owners=frozenset({OWNER}),
        on_joined=watch.joined.append,
        on_removed=watch.removed.append,
    )


@pytest.fixture
def watch() -> Watch:
    return Watch()


async def test_a_member_joins_with_their_link_and_is_staff_at_once(
    domain: Domain, watch: Watch
) -> None:
    service = roster(domain, watch)
    invitation = await service.add("Dr Rivera", by=OWNER, update_id=1)
    assert invitation is not None
    assert await service.holds(invitation.token)
    assert not service.is_staff(501)
    outcome, member = await service.join(invitation.token, user_id=501)
    assert outcome is StaffJoinOutcome.JOINED
    assert member is not None
    assert member.name == "Dr Rivera"
    assert service.is_staff(501)
    assert not service.is_owner(501)
    assert watch.joined == [501]


async def test_a_link_works_once_and_not_after_it_expires(domain: Domain, watch: Watch) -> None:
    service = roster(domain, watch)
    first = await service.add("Rivera", by=OWNER, update_id=None)
    late = await service.add("Okafor", by=OWNER, update_id=None)
    assert first is not None
    assert late is not None
    await service.join(first.token, user_id=501)
    # The same link, opened by someone else, does nothing.
    assert (await service.join(first.token, user_id=666))[0] is StaffJoinOutcome.NOT_VALID
    assert await service.holds(first.token)
    domain.clock.advance(LINK_TTL + timedelta(seconds=1))
    assert (await service.join(late.token, user_id=502))[0] is StaffJoinOutcome.NOT_VALID
    assert not service.is_staff(666)
    assert not service.is_staff(502)


async def test_a_patient_cannot_open_a_staff_link(domain: Domain, watch: Watch) -> None:
    patient = await domain.enrol(42)
    service = roster(domain, watch)
    invitation = await service.add("Rivera", by=OWNER, update_id=None)
    assert invitation is not None
    outcome, _member = await service.join(invitation.token, user_id=42)
    assert outcome is StaffJoinOutcome.IS_PATIENT
    assert not service.is_staff(42)
    assert patient.code
    # The link is still there for the member it was meant for.
    assert (await service.join(invitation.token, user_id=501))[0] is StaffJoinOutcome.JOINED


async def test_names_are_checked_and_unique(domain: Domain, watch: Watch) -> None:
    service = roster(domain, watch)
    for bad in ("", "   ", "x" * 41, "\u200b\u200b"):
        with pytest.raises(InputError) as caught:
            await service.add(bad, by=OWNER, update_id=None)
        assert caught.value.problem is InputProblem.STAFF_NAME_BAD
    await service.add("Rivera", by=OWNER, update_id=None)
    with pytest.raises(InputError) as taken:
        await service.add("RIVERA", by=OWNER, update_id=None)
    assert taken.value.problem is InputProblem.STAFF_NAME_TAKEN
    assert [member.name for member in await service.members()] == ["Rivera"]


async def test_without_a_name_the_member_is_numbered(domain: Domain, watch: Watch) -> None:
    service = roster(domain, watch)
    first = await service.add(None, by=OWNER, update_id=None)
    second = await service.add(None, by=OWNER, update_id=None)
    assert first is not None
    assert second is not None
    assert (first.member.name, second.member.name) == ("Staff 1", "Staff 2")


async def test_a_redelivered_addstaff_adds_once(domain: Domain, watch: Watch) -> None:
    service = roster(domain, watch)
    assert await service.add("Rivera", by=OWNER, update_id=77) is not None
    assert await service.add("Rivera", by=OWNER, update_id=77) is None
    assert len(await service.members()) == 1


async def test_on_call_and_removal_are_audited_and_removal_is_immediate(
    domain: Domain, watch: Watch
) -> None:
    service = roster(domain, watch)
    invitation = await service.add("Rivera", by=OWNER, update_id=None)
    assert invitation is not None
    await service.join(invitation.token, user_id=501)
    member = await service.set_on_call("rivera", by=OWNER, on_call=True)
    assert member.on_call
    assert [m.name for m in await service.on_call()] == ["Rivera"]
    await service.set_on_call("Rivera", by=OWNER, on_call=False)
    assert await service.on_call() == []
    await service.remove("Rivera", by=OWNER)
    assert not service.is_staff(501)
    assert watch.removed == [501]
    assert await service.members() == []
    with pytest.raises(InputError) as gone:
        await service.set_on_call("Rivera", by=OWNER, on_call=True)
    assert gone.value.problem is InputProblem.NO_SUCH_STAFF
    log = await domain.storage.clinic.audit_log(patient_id=None)
    actions = [entry.action for entry in log]
    for action in (
        AuditAction.ADD_STAFF,
        AuditAction.JOIN_STAFF,
        AuditAction.ON_CALL,
        AuditAction.OFF_CALL,
        AuditAction.REMOVE_STAFF,
    ):
        assert action in actions
    assert {entry.detail for entry in log if entry.action is AuditAction.REMOVE_STAFF} == {
        "Rivera"
    }


async def test_a_removed_member_can_be_added_again(domain: Domain, watch: Watch) -> None:
    service = roster(domain, watch)
    first = await service.add("Rivera", by=OWNER, update_id=None)
    assert first is not None
    await service.join(first.token, user_id=501)
    await service.remove("Rivera", by=OWNER)
    again = await service.add("Rivera", by=OWNER, update_id=None)
    assert again is not None
    assert (await service.join(again.token, user_id=501))[0] is StaffJoinOutcome.JOINED
    assert service.is_staff(501)


async def test_the_roster_is_loaded_again_after_a_restart(domain: Domain, watch: Watch) -> None:
    service = roster(domain, watch)
    invitation = await service.add("Rivera", by=OWNER, update_id=None)
    assert invitation is not None
    await service.join(invitation.token, user_id=501)
    await service.add("Okafor", by=OWNER, update_id=None)
    restarted_watch = Watch()
    restarted = roster(domain, restarted_watch)
    assert not restarted.is_staff(501)
    await restarted.load()
    assert restarted.is_staff(501)
    assert restarted_watch.joined == [501]


async def test_a_payload_that_is_no_token_is_no_staff_link(domain: Domain, watch: Watch) -> None:
    service = roster(domain, watch)
    for payload in ("\U0001f600", "", "a" * 65, "abc def", "\x00"):
        assert not await service.holds(payload)
