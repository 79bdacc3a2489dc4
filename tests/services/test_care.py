"""Infusions, the check-in plan, time changes and stopping, through the care service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.codes import CheckinState, CloseReason, PatientStatus
from bot.domain.errors import InputError, InputProblem
from bot.services.checkins import TextOutcome
from tests.conftest import CLINIC_TZ, STAFF_ID, Domain, no_ack


async def test_infusion_plans_35_checkins_at_local_time(domain: Domain) -> None:
    patient = await domain.enrol(1, time="09:00")
    recorded = await domain.care.record_infusion(
        args=[patient.code.lower()], staff_id=STAFF_ID, update_id=50
    )
    assert recorded is not None
    assert recorded.planned == 35
    rows = await domain.storage.checkins.for_patient(patient.id)
    assert [c.day for c in rows] == list(domain.protocol.days)
    for row in rows:
        local = row.due_at.astimezone(CLINIC_TZ)
        assert (local.hour, local.minute) == (9, 0)
    # 2026-03-29 is the switch to summer time in Berlin: UTC hour changes, local does not.
    utc_hours = {row.due_at.astimezone(UTC).hour for row in rows}
    assert utc_hours == {7, 8}
    duplicate = await domain.care.record_infusion(
        args=[patient.code], staff_id=STAFF_ID, update_id=50
    )
    assert duplicate is None
    assert len(await domain.storage.checkins.for_patient(patient.id)) == 35


async def test_new_infusion_cancels_the_previous_plan(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    domain.clock.advance(timedelta(days=3, hours=12))
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    rows = await domain.storage.checkins.for_patient(patient.id)
    cancelled = [c for c in rows if c.state is CheckinState.CANCELLED]
    pending = [c for c in rows if c.state is CheckinState.PENDING]
    assert len(pending) == 35
    # Nothing was dispatched in between, so the whole first plan is replaced.
    assert len(cancelled) == 35
    assert all(c.close_reason is CloseReason.REPLACED_BY_NEW_PLAN for c in cancelled)


async def test_backdated_infusion_plans_only_future_checkins(domain: Domain) -> None:
    patient = await domain.enrol(1, time="09:00")
    ten_days_ago = (domain.clock.now() - timedelta(days=10)).astimezone(CLINIC_TZ)
    recorded = await domain.care.record_infusion(
        args=[patient.code, ten_days_ago.strftime("%Y-%m-%d"), "10:00"],
        staff_id=STAFF_ID,
        update_id=None,
    )
    assert recorded is not None
    rows = await domain.storage.checkins.for_patient(patient.id)
    assert rows[0].day == 10
    assert all(c.due_at > domain.clock.now() for c in rows)


async def test_an_earlier_infusion_recorded_late_keeps_the_newer_plan(domain: Domain) -> None:
    patient = await domain.enrol(1, time="09:00")
    latest = await domain.care.record_infusion(
        args=[patient.code], staff_id=STAFF_ID, update_id=None
    )
    assert latest is not None
    before = await domain.storage.checkins.for_patient(patient.id)
    six_days_ago = (domain.clock.now() - timedelta(days=6)).astimezone(CLINIC_TZ)

    forgotten = await domain.care.record_infusion(
        args=[patient.code, six_days_ago.strftime("%Y-%m-%d"), "10:00"],
        staff_id=STAFF_ID,
        update_id=None,
    )

    assert forgotten is not None
    assert forgotten.newer == latest.infusion
    assert forgotten.planned == 0
    assert await domain.storage.checkins.for_patient(patient.id) == before
    recent = await domain.storage.infusions.recent(patient.id, limit=2)
    assert [infusion.id for infusion in recent] == [forgotten.infusion.id, latest.infusion.id]


async def test_two_infusions_recorded_at_once_keep_the_later_plan(domain: Domain) -> None:
    """Two staff members entering infusions together: the later infusion's plan wins."""
    patient = await domain.enrol(1, time="09:00")
    today = domain.clock.now().astimezone(CLINIC_TZ).date().isoformat()

    later, earlier = await asyncio.gather(
        domain.care.record_infusion(
            args=[patient.code, today, "07:30"], staff_id=STAFF_ID, update_id=1
        ),
        domain.care.record_infusion(
            args=[patient.code, today, "07:00"], staff_id=STAFF_ID, update_id=2
        ),
    )

    assert later is not None
    assert earlier is not None
    rows = await domain.storage.checkins.for_patient(patient.id)
    pending = {c.infusion_id for c in rows if c.state is CheckinState.PENDING}
    assert pending == {later.infusion.id}


async def test_unknown_patient_and_bad_arguments(domain: Domain) -> None:
    with pytest.raises(InputError) as info:
        await domain.care.record_infusion(args=["P-ZZZZ"], staff_id=STAFF_ID, update_id=None)
    assert info.value.problem is InputProblem.NO_SUCH_PATIENT
    with pytest.raises(InputError):
        await domain.care.record_infusion(args=[], staff_id=STAFF_ID, update_id=None)


async def test_change_time_moves_pending_checkins(domain: Domain) -> None:
    patient = await domain.enrol(1, time="09:00")
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    refreshed = await domain.storage.patients.get(patient.id)
    assert refreshed is not None
    hhmm, moved = await domain.care.change_time(refreshed, "20:30")
    assert (hhmm, moved) == ("20:30", 35)
    rows = await domain.storage.checkins.for_patient(patient.id)
    assert {c.due_at.astimezone(CLINIC_TZ).strftime("%H:%M") for c in rows} == {"20:30"}
    with pytest.raises(InputError):
        await domain.care.change_time(refreshed, "8pm")


async def test_patient_in_another_zone_keeps_their_local_time(domain: Domain) -> None:
    patient = await domain.enrol(1)
    async with domain.storage.database.write() as conn:
        await conn.execute(
            "UPDATE patients SET timezone = 'America/New_York', checkin_time = '08:00'"
            " WHERE id = ?",
            (patient.id,),
        )
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    rows = await domain.storage.checkins.for_patient(patient.id)
    ny = ZoneInfo("America/New_York")
    assert {c.due_at.astimezone(ny).strftime("%H:%M") for c in rows} == {"08:00"}


async def test_stop_cancels_everything_pending(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    assert await domain.care.stop(patient) is not None
    rows = await domain.storage.checkins.for_patient(patient.id)
    assert {c.state for c in rows} == {CheckinState.CANCELLED}
    assert await domain.care.stop(patient) is None
    stopped_text = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="5", update_id=None
    )
    assert stopped_text.outcome is TextOutcome.STOPPED


async def test_patient_overview_shows_last_score_and_infusion(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    infused_at = domain.clock.now()
    checkin_id = await domain.send_next(patient.id)
    await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=checkin_id, score=3, update_id=None
    )
    [row] = await domain.care.overview()
    assert row.code == patient.code
    assert row.last_score == 3
    assert row.last_score_at == domain.clock.now()
    assert row.last_infusion_at == infused_at.replace(microsecond=0)
    assert row.status is PatientStatus.ACTIVE
    assert isinstance(row.last_infusion_at, datetime)
