"""handlers/errors.py, and what the handlers do when Telegram or a service fails under them."""

from __future__ import annotations

import logging

import pytest

from bot.domain.codes import CheckinState, Delivery, PatientStatus
from bot.telegram import texts
from tests.handlers.conftest import InProcessBot, due_prompt, patient_of
from tests.handlers.offline import (
    Failure,
    bad_request,
    connection_lost,
    connection_refused,
    forbidden,
    read_timeout,
)

SECRET = "my brother took the car again and I feel awful"


async def broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("database unavailable")


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("handler.error type=")]


def product_log(caplog: pytest.LogCaptureFixture) -> str:
    """Afterglow's own log lines, with their tracebacks, as a log file would hold them.

    python-telegram-bot's DEBUG payload logging is not included: the runtime's logging set-up
    keeps it above DEBUG (tests/integration/test_logging.py holds that).
    """
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(
        formatter.format(record)
        for record in caplog.records
        if record.name.split(".")[0] in {"bot", "handlers", "storage"}
    )


async def test_a_failing_button_handler_still_answers_the_press(
    bot: InProcessBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The button does not keep spinning: the error handler answers the callback."""
    xia = bot.user("Xia")
    await bot.enrol(xia)
    prompt = await bot.checkin_prompt(xia)
    monkeypatch.setattr(bot.svc.checkins, "answer_button", broken)

    pressed = await bot.press(xia, prompt, prompt.button("6"))

    assert pressed.answer == texts.BUTTON_FAILED
    assert "went wrong" in pressed.answer
    assert pressed.texts == [texts.SOMETHING_WENT_WRONG]


async def test_a_failing_message_handler_apologises_and_logs_no_text(
    bot: InProcessBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    yul = bot.user("Yul", "yul_private")
    await bot.enrol(yul)
    monkeypatch.setattr(bot.svc.checkins, "handle_text", broken)
    caplog.set_level(logging.DEBUG)

    said = await bot.send(yul, SECRET)

    assert said.texts == [texts.SOMETHING_WENT_WRONG]
    [record] = error_records(caplog)
    assert record.getMessage() == "handler.error type=RuntimeError"
    assert record.exc_info is not None
    logged = product_log(caplog)
    assert "Traceback" in logged
    assert SECRET not in logged
    assert "yul_private" not in logged


async def test_no_apology_in_a_group(
    bot: InProcessBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(bot.svc.care, "overview", broken)

    said = await bot.send(bot.staff, "/patients", chat=bot.staff_group)

    assert said.silent
    assert len(error_records(caplog)) == 1


async def test_the_error_handler_survives_telegram_refusing_its_answers(
    bot: InProcessBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    zoe = bot.user("Zoe")
    await bot.enrol(zoe)
    prompt = await bot.checkin_prompt(zoe)
    monkeypatch.setattr(bot.svc.checkins, "answer_button", broken)
    bot.world.fail("answerCallbackQuery", read_timeout())
    bot.world.fail("sendMessage", forbidden(), chat_id=zoe.id)

    pressed = await bot.press(zoe, prompt, prompt.button("6"), check=False)

    assert [c.method for c in pressed.outgoing] == ["answerCallbackQuery", "sendMessage"]
    assert not any(call.ok for call in pressed.outgoing)
    logged = {r.getMessage() for r in caplog.records}
    assert {"handler.error_answer_failed", "handler.error_reply_failed"} <= logged


async def test_an_error_without_an_update_is_logged_only(
    bot: InProcessBot, caplog: pytest.LogCaptureFixture
) -> None:
    assert bot.app is not None
    before = len(bot.world.calls)

    await bot.app.process_error(None, RuntimeError("job failed"))

    assert bot.world.calls[before:] == []
    assert len(error_records(caplog)) == 1


# -- Telegram failing under a handler


@pytest.mark.parametrize(
    ("failure", "state", "delivery"),
    [
        (connection_refused(), CheckinState.FAILED, None),
        (read_timeout(), CheckinState.SENT, Delivery.UNCERTAIN),
        (connection_lost(), CheckinState.SENT, Delivery.UNCERTAIN),
    ],
    ids=["refused", "read-timeout", "connection-lost"],
)
async def test_an_extra_checkin_that_does_not_go_out_is_recorded_and_apologised_for(
    bot: InProcessBot, failure: Failure, state: CheckinState, delivery: Delivery | None
) -> None:
    abe = bot.user("Abe")
    await bot.enrol(abe)
    bot.world.fail("sendMessage", failure, chat_id=abe.id)

    said = await bot.send(abe, "/checkin")

    assert said.texts == [texts.SOMETHING_WENT_WRONG]
    patient = await patient_of(bot, abe)
    [row] = await bot.svc.storage.checkins.for_patient(patient.id)
    assert row.state is state
    assert row.delivery is delivery
    # Asking again: a new prompt, or the possibly delivered one shown again; never two open.
    again = (await bot.send(abe, "/checkin")).reply
    assert len(again.buttons()) == 11
    open_rows = [
        c
        for c in await bot.svc.storage.checkins.for_patient(patient.id)
        if c.state is CheckinState.SENT
    ]
    assert len(open_rows) == 1


async def test_a_checkin_apology_that_cannot_be_sent_is_only_logged(
    bot: InProcessBot, caplog: pytest.LogCaptureFixture
) -> None:
    bo = bot.user("Bo")
    await bot.enrol(bo)
    bot.world.fail("sendMessage", connection_refused(), chat_id=bo.id, times=2)

    said = await bot.send(bo, "/checkin")

    assert [c.ok for c in said.outgoing] == [False, False]
    assert error_records(caplog) == []
    assert "checkin.extra_apology_failed code=" in caplog.text


async def test_a_button_answer_that_fails_still_stores_the_score(bot: InProcessBot) -> None:
    cyd = bot.user("Cyd")
    await bot.enrol_and_infuse(cyd)
    prompt, row = await due_prompt(bot, cyd)
    bot.world.fail("answerCallbackQuery", read_timeout())

    pressed = await bot.press(cyd, prompt, prompt.button("4"), check=False)

    stored = await bot.svc.storage.checkins.get(row.id)
    assert stored is not None
    assert stored.score == 4
    assert texts.SOMETHING_WENT_WRONG not in pressed.texts


async def test_a_typed_answer_whose_prompt_cannot_be_edited_is_still_confirmed(
    bot: InProcessBot,
) -> None:
    dee = bot.user("Dee")
    await bot.enrol_and_infuse(dee)
    prompt, row = await due_prompt(bot, dee)
    bot.world.fail("editMessageText", bad_request("Bad Request: message to edit not found"))

    said = await bot.send(dee, "5")

    assert said.texts == [texts.answer_recorded_short(5)]
    assert len(prompt.buttons()) == 11
    stored = await bot.svc.storage.checkins.get(row.id)
    assert stored is not None
    assert stored.score == 5


async def test_a_typed_answer_to_a_blocked_chat_is_stored_anyway(
    bot: InProcessBot, caplog: pytest.LogCaptureFixture
) -> None:
    eli = bot.user("Eli")
    await bot.enrol_and_infuse(eli)
    _prompt, row = await due_prompt(bot, eli)
    bot.world.fail("sendMessage", forbidden(), chat_id=eli.id, times=None)

    await bot.send(eli, "8")

    stored = await bot.svc.storage.checkins.get(row.id)
    assert stored is not None
    assert stored.score == 8
    assert [r.getMessage() for r in error_records(caplog)] == ["handler.error type=Forbidden"]
    assert "handler.error_reply_failed" in product_log(caplog)


async def test_consent_is_kept_when_the_time_choice_cannot_be_sent(bot: InProcessBot) -> None:
    fin = bot.user("Fin")
    _, token = await bot.invite()
    consent = (await bot.send(fin, f"/start {token}")).reply
    bot.world.fail("sendMessage", connection_refused(), chat_id=fin.id)

    pressed = await bot.press(fin, consent, consent.button(texts.CONSENT_BUTTON))

    assert pressed.answer == texts.CONSENT_RECORDED
    assert pressed.texts == [texts.SOMETHING_WENT_WRONG]
    assert (await patient_of(bot, fin)).status is PatientStatus.ACTIVE
    # The way on is still there: /time offers the choice.
    assert (await bot.send(fin, "/time")).reply.buttons()


async def test_a_failing_crisis_escalation_is_logged_and_stops_ordinary_handling(
    bot: InProcessBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gia = bot.user("Gia")
    await bot.enrol_and_infuse(gia)
    prompt, _ = await due_prompt(bot, gia)
    await bot.press(gia, prompt, prompt.button("5"))
    monkeypatch.setattr(bot.svc.safety, "escalate", broken)
    words = "i want to kill myself"

    said = await bot.send(gia, words)

    assert texts.NOTE_SAVED not in said.texts
    logged = product_log(caplog)
    assert "crisis.respond_failed" in logged
    assert words not in logged
    notes = await bot.svc.storage.answers.notes_for_patient((await patient_of(bot, gia)).id)
    assert notes == []
