"""Enrolment, infusions, time changes and answers through the domain services."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.codes import AnswerOutcome, CheckinKind, CheckinState, CloseReason, PatientStatus
from bot.domain.errors import InputError, InputProblem
from bot.services.checkins import TextOutcome
from tests.conftest import CLINIC_TZ, STAFF_ID, Domain, no_ack


async def send_next(domain: Domain, patient_id: int) -> int:
    """Claim and confirm the next pending check-in as the dispatcher would; return its id."""
    rows = await domain.storage.checkins.for_patient(patient_id)
    nxt = next(c for c in rows if c.state is CheckinState.PENDING)
    domain.clock.set(max(domain.clock.now(), nxt.due_at))
    claimed = await domain.storage.checkins.claim_due(domain.clock.now(), limit=100)
    ids = [item.checkin.id for item in claimed]
    assert nxt.id in ids
    await domain.storage.checkins.confirm_sent(nxt.id, message_id=1)
    return nxt.id


async def test_invite_creates_a_pseudonymous_code(domain: Domain) -> None:
    invitation = await domain.enrolment.invite(staff_id=STAFF_ID, label="  Mrs  X ", update_id=3)
    assert invitation is not None
    assert invitation.patient.code.startswith("P-")
    assert invitation.patient.label == "Mrs X"
    assert invitation.expires_at == domain.clock.now() + timedelta(days=7)
    with pytest.raises(InputError):
        await domain.enrolment.invite(staff_id=STAFF_ID, label="x" * 65, update_id=4)


async def test_consent_activates_with_the_default_time(domain: Domain) -> None:
    patient = await domain.enrol(11)
    assert patient.status is PatientStatus.ACTIVE
    assert patient.consent_at == domain.clock.now()
    assert patient.checkin_time == "18:00"
    assert patient.timezone == "Europe/Berlin"
    again, new = await domain.enrolment.consent(user_id=11)
    assert not new
    assert again is not None


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


async def test_button_answer_is_stored_once(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await send_next(domain, patient.id)
    first = await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=checkin_id, score=7, update_id=500
    )
    assert first.outcome is AnswerOutcome.STORED
    redelivered = await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=checkin_id, score=7, update_id=500
    )
    assert redelivered.outcome is AnswerOutcome.DUPLICATE
    second_press = await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=checkin_id, score=2, update_id=501
    )
    assert second_press.outcome is AnswerOutcome.ALREADY_ANSWERED
    stored = await domain.storage.checkins.get(checkin_id)
    assert stored is not None
    assert stored.score == 7
    assert stored.answered_at == domain.clock.now()


async def test_forged_button_for_another_patient_is_refused(domain: Domain) -> None:
    alice = await domain.enrol(1)
    await domain.enrol(2)
    await domain.care.record_infusion(args=[alice.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await send_next(domain, alice.id)
    forged = await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=2, checkin_id=checkin_id, score=0, update_id=None
    )
    assert forged.outcome is AnswerOutcome.NOT_FOUND
    stranger = await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=999, checkin_id=checkin_id, score=0, update_id=None
    )
    assert stranger.outcome is AnswerOutcome.NOT_FOUND
    stored = await domain.storage.checkins.get(checkin_id)
    assert stored is not None
    assert stored.state is CheckinState.SENT


async def test_pending_checkin_cannot_be_answered_early(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    rows = await domain.storage.checkins.for_patient(patient.id)
    result = await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=rows[5].id, score=5, update_id=None
    )
    assert result.outcome is AnswerOutcome.CLOSED


async def test_typed_answers_notes_and_reprompts(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)

    nothing_open = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="7", update_id=1
    )
    assert nothing_open.outcome is TextOutcome.NO_OPEN_CHECKIN
    gibberish = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="hello", update_id=2
    )
    assert gibberish.outcome is TextOutcome.UNRECOGNISED

    checkin_id = await send_next(domain, patient.id)
    reprompt = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="eleven", update_id=3
    )
    assert reprompt.outcome is TextOutcome.REPROMPT
    out_of_range = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="11", update_id=4
    )
    assert out_of_range.outcome is TextOutcome.REPROMPT
    answered = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text=" 7/10 ", update_id=5
    )
    assert answered.outcome is TextOutcome.ANSWER_STORED
    assert answered.checkin is not None
    assert answered.checkin.id == checkin_id
    assert answered.checkin.score == 7
    redelivered = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text=" 7/10 ", update_id=5
    )
    assert redelivered.outcome is TextOutcome.DUPLICATE

    note = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="slept badly", update_id=6
    )
    assert note.outcome is TextOutcome.NOTE_STORED
    again = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="slept badly", update_id=6
    )
    assert again.outcome is not TextOutcome.NOTE_STORED
    notes = await domain.storage.answers.notes_for_patient(patient.id)
    assert [text for _, text in notes] == ["slept badly"]
    after = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="more text", update_id=7
    )
    assert after.outcome is TextOutcome.UNRECOGNISED


async def test_an_extra_check_in_takes_over_from_the_note_offer(domain: Domain) -> None:
    """After /checkin, typed words answer the new check-in; they are not a note on the old."""
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await send_next(domain, patient.id)
    await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=checkin_id, score=4, update_id=20
    )
    extra = await domain.storage.checkins.create_extra(
        patient.id, now=domain.clock.now(), update_id=21
    )
    assert extra is not None

    words = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="feeling meh", update_id=22
    )
    number = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="5", update_id=23
    )

    assert words.outcome is TextOutcome.REPROMPT
    assert await domain.storage.answers.notes_for_patient(patient.id) == []
    assert number.outcome is TextOutcome.ANSWER_STORED
    assert number.checkin is not None
    assert number.checkin.id == extra.id


async def test_skip_clears_the_note_request(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await send_next(domain, patient.id)
    await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=checkin_id, score=4, update_id=9
    )
    assert await domain.checkins.skip_note(user_id=1)
    assert not await domain.checkins.skip_note(user_id=1)
    after = await domain.checkins.handle_text(
        acknowledge=no_ack, user_id=1, text="a note?", update_id=10
    )
    assert after.outcome is TextOutcome.UNRECOGNISED


async def test_extra_checkin_is_created_once_per_update(domain: Domain) -> None:
    patient = await domain.enrol(1)
    first = await domain.storage.checkins.create_extra(
        patient.id, now=domain.clock.now(), update_id=80
    )
    again = await domain.storage.checkins.create_extra(
        patient.id, now=domain.clock.now(), update_id=80
    )
    assert first is not None
    assert again is None
    assert first.kind is CheckinKind.EXTRA
    assert first.state is CheckinState.SENT


async def test_no_extra_check_in_while_another_is_open(domain: Domain) -> None:
    """The dispatcher may send a planned one between /checkin's look and its insert."""
    patient = await domain.enrol(1)
    first = await domain.storage.checkins.create_extra(
        patient.id, now=domain.clock.now(), update_id=81
    )
    assert first is not None

    assert (
        await domain.storage.checkins.create_extra(
            patient.id, now=domain.clock.now(), update_id=82
        )
        is None
    )
    await domain.checkins.answer_button(
        acknowledge=no_ack, user_id=1, checkin_id=first.id, score=5, update_id=83
    )
    assert (
        await domain.storage.checkins.create_extra(
            patient.id, now=domain.clock.now(), update_id=84
        )
        is not None
    )


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
    checkin_id = await send_next(domain, patient.id)
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
