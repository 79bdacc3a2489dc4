"""Answers, notes and extra check-ins, through the check-in service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.codes import (
    AnswerOutcome,
    CheckinKind,
    CheckinState,
    CloseReason,
    Delivery,
    DeliveryProblem,
)
from bot.domain.delivery import NotDelivered, RateLimited, SendOutcome, Undeliverable, Unknown
from bot.domain.entities import Checkin
from bot.services.checkins import ExtraOutcome, TextOutcome
from tests.conftest import STAFF_ID, Domain, no_ack


async def test_button_answer_is_stored_once(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await domain.send_next(patient.id)
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
    checkin_id = await domain.send_next(alice.id)
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

    checkin_id = await domain.send_next(patient.id)
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
    checkin_id = await domain.send_next(patient.id)
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
    checkin_id = await domain.send_next(patient.id)
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


async def test_an_extra_check_in_is_sent_and_confirmed(domain: Domain) -> None:
    patient = await domain.enrol(1)

    result = await domain.checkins.request_extra(patient, update_id=90)

    assert result.outcome is ExtraOutcome.SENT
    assert result.checkin is not None
    assert domain.sender.sent == [(1, result.checkin.id)]
    stored = await domain.storage.checkins.get(result.checkin.id)
    assert stored is not None
    assert stored.delivery is Delivery.CONFIRMED
    assert stored.message_id == 1001


async def test_an_extra_check_in_redelivered_is_sent_once(domain: Domain) -> None:
    patient = await domain.enrol(1)
    first = await domain.checkins.request_extra(patient, update_id=91)

    again = await domain.checkins.request_extra(patient, update_id=91)

    assert first.outcome is ExtraOutcome.SENT
    assert again.outcome is ExtraOutcome.REDELIVERED
    assert len(domain.sender.sent) == 1


async def test_an_open_check_in_is_shown_instead_of_a_second(domain: Domain) -> None:
    patient = await domain.enrol(1)
    first = await domain.checkins.request_extra(patient, update_id=92)

    second = await domain.checkins.request_extra(patient, update_id=93)

    assert second.outcome is ExtraOutcome.OPEN_EXISTS
    assert second.checkin is not None
    assert first.checkin is not None
    assert second.checkin.id == first.checkin.id
    assert len(domain.sender.sent) == 1


async def test_an_extra_whose_send_may_have_arrived_stays_answerable(domain: Domain) -> None:
    """The dispatcher's rule: an unknown outcome is never resent, and can be answered."""
    patient = await domain.enrol(1)
    domain.sender.script.append(Unknown(DeliveryProblem.READ_TIMEOUT))

    result = await domain.checkins.request_extra(patient, update_id=94)

    assert result.outcome is ExtraOutcome.NOT_SENT
    assert result.checkin is not None
    stored = await domain.storage.checkins.get(result.checkin.id)
    assert stored is not None
    assert stored.state is CheckinState.SENT
    assert stored.delivery is Delivery.UNCERTAIN
    answer = await domain.checkins.answer_button(
        user_id=1, checkin_id=stored.id, score=6, update_id=95, acknowledge=no_ack
    )
    assert answer.outcome is AnswerOutcome.STORED


@pytest.mark.parametrize(
    "outcome",
    [
        NotDelivered(DeliveryProblem.CONNECT_FAILED),
        RateLimited(retry_after=timedelta(seconds=3)),
        Undeliverable(DeliveryProblem.BAD_REQUEST),
    ],
)
async def test_an_extra_that_certainly_failed_is_not_retried_later(
    domain: Domain, outcome: SendOutcome
) -> None:
    """Asked for now, so stale later: it fails with the problem, and the patient may ask again."""
    patient = await domain.enrol(1)
    domain.sender.script.append(outcome)

    result = await domain.checkins.request_extra(patient, update_id=96)

    assert result.outcome is ExtraOutcome.NOT_SENT
    assert result.checkin is not None
    stored = await domain.storage.checkins.get(result.checkin.id)
    assert stored is not None
    assert stored.state is CheckinState.FAILED
    assert stored.close_reason is CloseReason.SEND_FAILED
    assert stored.last_error is not None
    assert (await domain.checkins.request_extra(patient, update_id=97)).outcome is (
        ExtraOutcome.SENT
    )


async def test_a_sender_that_raises_leaves_the_prompt_uncertain(domain: Domain) -> None:
    patient = await domain.enrol(1)

    async def broken(chat_id: int, checkin_id: int, *, prepaid: bool = False) -> SendOutcome:
        raise RuntimeError("bug")

    domain.sender.send_checkin = broken  # type: ignore[method-assign]

    result = await domain.checkins.request_extra(patient, update_id=98)

    assert result.checkin is not None
    stored = await domain.storage.checkins.get(result.checkin.id)
    assert stored is not None
    assert stored.delivery is Delivery.UNCERTAIN
    assert stored.last_error is DeliveryProblem.SENDER_ERROR


async def test_a_stored_answer_is_acknowledged_then_reviewed(domain: Domain) -> None:
    """The detector runs after the patient's confirmation, so its messages follow it."""
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await domain.send_next(patient.id)
    order: list[str] = []

    async def acknowledge(checkin: Checkin) -> None:
        assert domain.reviewer.reviewed == []
        order.append(f"ack {checkin.score}")

    await domain.checkins.answer_button(
        user_id=1, checkin_id=checkin_id, score=4, update_id=1, acknowledge=acknowledge
    )

    assert order == ["ack 4"]
    assert domain.reviewer.reviewed == [patient.id]


async def test_a_failed_acknowledgement_still_reviews_the_answer(domain: Domain) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await domain.send_next(patient.id)

    async def acknowledge(checkin: Checkin) -> None:
        raise RuntimeError("Telegram is down")

    with pytest.raises(RuntimeError):
        await domain.checkins.handle_text(
            user_id=1, text="3", update_id=2, acknowledge=acknowledge
        )

    assert domain.reviewer.reviewed == [patient.id]
    stored = await domain.storage.checkins.get(checkin_id)
    assert stored is not None
    assert stored.score == 3


async def test_what_is_not_a_stored_answer_is_neither_acknowledged_nor_reviewed(
    domain: Domain,
) -> None:
    patient = await domain.enrol(1)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await domain.send_next(patient.id)
    acknowledged: list[int] = []

    async def acknowledge(checkin: Checkin) -> None:
        acknowledged.append(checkin.id)

    await domain.checkins.answer_button(
        user_id=1, checkin_id=checkin_id, score=4, update_id=3, acknowledge=acknowledge
    )
    await domain.checkins.answer_button(
        user_id=1, checkin_id=checkin_id, score=5, update_id=3, acknowledge=acknowledge
    )
    await domain.checkins.handle_text(
        user_id=1, text="hello", update_id=4, acknowledge=acknowledge
    )

    assert acknowledged == [checkin_id]
    assert domain.reviewer.reviewed == [patient.id]
