"""PHQ-9 through button presses, its safety item, /mydata and /export, over real HTTP."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle

from bot.domain.codes import QuestionnaireOrigin, QuestionnaireStatus
from bot.domain.entities import Patient, QuestionnaireResponse
from bot.fake_telegram import FakeUser, Fault, SentMessage
from bot.telegram import record_texts
from tests.integration.conftest import Harness

OPTIONS = ("Not at all", "Several days", "More than half the days", "Nearly every day")
SCORED = 9  # the nine counted items; the functional question follows, uncounted
FUNCTIONAL = "one more question"
# Bounded waits for what the urgent worker retries: a kept message is due again after its
# backoff on the manual clock (5 s first, 30 s at most for alerts), so each round moves the
# clock past that and wakes the worker (which otherwise polls every second). Ten rounds stay
# well inside the 15 minutes after which an URGENT alert is repeated.
RETRY_ROUNDS = 10
RETRY_STEP = timedelta(seconds=31)
ROUND_SECONDS = 0.5


async def patient_of(h: Harness, code: str) -> Patient:
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    return patient


def at_item(message: SentMessage, number: int) -> SentMessage | None:
    """Return the message once it shows item `number` (1-based; 10: the functional one)."""
    words = FUNCTIONAL if number > SCORED else f"question {number} of {SCORED}"
    return message if words in (message.text or "") else None


async def shows(h: Harness, message: SentMessage, words: str) -> SentMessage:
    """Wait until the bot has edited the questionnaire message to contain some words."""
    return await h.server.wait_for(lambda: message if words in (message.text or "") else None)


async def start_phq9(h: Harness, user: FakeUser) -> SentMessage:
    message = await h.say(user, "/phq9")
    assert at_item(message, 1), message.text
    assert [label for label, _ in message.buttons()] == list(OPTIONS)
    return message


async def answer_item(
    h: Harness, user: FakeUser, message: SentMessage, number: int, label: str
) -> None:
    """Press an option of item `number`; for items 1-8 wait until the next one shows."""
    assert at_item(message, number), message.text
    data = message.button(label)
    assert data.startswith("qa:")
    assert data.split(":")[2] == str(number - 1)
    await h.press(user, message, data)
    if number < SCORED:
        await h.server.wait_for(lambda: at_item(message, number + 1))


def urgent(h: Harness, code: str) -> list[SentMessage]:
    return [
        m
        for m in h.server.messages(h.staff_group.id)
        if "URGENT" in (m.text or "") and code in (m.text or "")
    ]


def crisis_replies(h: Harness, user: FakeUser) -> list[SentMessage]:
    return [m for m in h.server.messages(user) if "Thank you for telling me" in (m.text or "")]


async def completed(h: Harness, patient: Patient) -> list[QuestionnaireResponse]:
    return await h.svc.storage.questionnaires.completed(patient.id, "phq9")


async def test_a_patient_completes_a_phq9_with_the_buttons(harness: Harness) -> None:
    h = harness
    ada = h.server.add_user(first_name="Ada")
    code = await h.enrol(ada)
    patient = await patient_of(h, code)
    message = await start_phq9(h, ada)
    assert "Here is the PHQ-9." in (message.text or "")
    assert "Spitzer" in (message.text or "")  # the attribution notice
    scores = [1, 2, 0, 3, 1, 0, 2, 1, 0]

    await answer_item(h, ada, message, 1, OPTIONS[scores[0]])
    # Back undoes the answer to item 1 and shows it again; a different answer then counts.
    assert ("\u2190 Back", message.button("Back")) in message.buttons()
    await h.press(ada, message, message.button("Back"))
    await h.server.wait_for(lambda: at_item(message, 1))
    assert "Back" not in [label for label, _ in message.buttons()]
    await answer_item(h, ada, message, 1, OPTIONS[3])
    await h.press(ada, message, message.button("Back"))
    await h.server.wait_for(lambda: at_item(message, 1))
    for number, score in enumerate(scores, start=1):
        await answer_item(h, ada, message, number, OPTIONS[score])

    # The functional question: its own options, and it may be skipped.
    await h.server.wait_for(lambda: at_item(message, SCORED + 1))
    assert "how difficult" in (message.text or "")
    labels = [label for label, _ in message.buttons()]
    assert labels[:4] == [
        "Not difficult at all",
        "Somewhat difficult",
        "Very difficult",
        "Extremely difficult",
    ]
    assert "Skip this one" in labels
    await answer_item(h, ada, message, SCORED + 1, "Somewhat difficult")
    done = await shows(h, message, "Thank you.")
    assert "Your PHQ-9 total is 10 of 27: moderate symptoms." in (done.text or "")
    assert done.buttons() == []
    assert done.edited
    assert crisis_replies(h, ada) == []
    assert urgent(h, code) == []
    # Only the one message: every item was an edit in place.
    assert [m.message_id for m in h.server.messages(ada) if "PHQ-9" in (m.text or "")] == [
        message.message_id
    ]

    rows = await completed(h, patient)
    assert len(rows) == 1
    row = rows[0]
    assert row.instrument == "phq9"
    assert row.origin is QuestionnaireOrigin.REQUESTED
    assert row.status is QuestionnaireStatus.COMPLETED
    assert row.answers == (1, 2, 0, 3, 1, 0, 2, 1, 0, 1)
    assert row.total == 10
    assert row.band == "moderate"
    assert row.completed_at == h.clock.now()
    assert row.chat_id == ada.id
    assert not row.safety_alerted

    # A press on the finished questionnaire changes nothing.
    answer = await h.press(ada, message, f"qa:{row.id}:0:3")
    assert "already finished" in answer
    assert await completed(h, patient) == rows


async def test_all_zero_answers_skip_the_functional_question(harness: Harness) -> None:
    h = harness
    bo = h.server.add_user(first_name="Bo")
    code = await h.enrol(bo)
    message = await start_phq9(h, bo)
    for number in range(1, SCORED + 1):
        await answer_item(h, bo, message, number, OPTIONS[0])
    done = await shows(h, message, "Thank you.")
    assert "total is 0 of 27: minimal or no symptoms" in (done.text or "")
    [row] = await completed(h, await patient_of(h, code))
    assert row.answers == (0,) * 9 + (None,)
    assert row.total == 0


async def wait_urgent_delivery(
    h: Harness, user: FakeUser, code: str, step: timedelta = RETRY_STEP
) -> None:
    """Wait (bounded) for the crisis reply and the URGENT alert, moving the clock for retries."""
    for _ in range(RETRY_ROUNDS):
        try:
            await h.server.wait_for(
                lambda: (crisis_replies(h, user) and urgent(h, code)) or None,
                timeout=ROUND_SECONDS,
            )
            return
        except TimeoutError:
            h.clock.advance(step)
            h.svc.urgent.wake()
    raise AssertionError(
        f"crisis reply {len(crisis_replies(h, user))}, URGENT {len(urgent(h, code))} "
        f"after {RETRY_ROUNDS} rounds; last calls {[c.method for c in h.server.calls[-10:]]}"
    )


@pytest.mark.parametrize(
    ("target", "status"),
    [
        (None, None),
        ("patient", 429),
        ("patient", 502),
        ("staff", 429),
        ("staff", 502),
    ],
    ids=["no-fault", "patient-429", "patient-5xx", "staff-429", "staff-5xx"],
)
async def test_the_safety_item_takes_the_urgent_path_at_once(
    harness: Harness, target: str | None, status: int | None
) -> None:
    h = harness
    cy = h.server.add_user(first_name="Cy", username="cy_private")
    code = await h.enrol(cy)
    patient = await patient_of(h, code)
    message = await start_phq9(h, cy)
    for number in range(1, 9):
        await answer_item(h, cy, message, number, OPTIONS[0])
    assert "better off dead" in (message.text or "")

    fault: Fault | None = None
    if target is not None and status is not None:
        patient_side = target == "patient"
        fault = h.server.inject_fault(
            Fault(
                # The crisis reply is the patient's first message after the press; the alert
                # is the staff chat's (by photo or text).
                method="sendMessage" if patient_side else None,
                chat_id=cy.id if patient_side else h.staff_group.id,
                status=status,
                retry_after=1 if status == 429 else None,
                times=1,
            )
        )
    calls_before = len(h.server.calls)
    pressed_at = h.clock.now()
    await answer_item(h, cy, message, 9, "Several days")
    # A 429's retry_after is one second: the clock moves by that, to show it is honoured.
    await wait_urgent_delivery(h, cy, code, timedelta(seconds=1) if status == 429 else RETRY_STEP)
    if fault is None or (target == "patient" and status == 429):
        # At once: the crisis reply waits out a 429 within the same send.
        assert h.clock.now() == pressed_at
    elif status == 429:
        # The alert is retried by the urgent worker once retry_after has passed.
        assert h.clock.now() - pressed_at <= timedelta(seconds=RETRY_ROUNDS)
    if fault is not None:
        assert h.server.faults == [], "the injected fault never fired"
        sends = [
            call
            for call in h.server.calls[calls_before:]
            if call.params.get("chat_id") == fault.chat_id and call.method.startswith("send")
        ]
        marker = "Thank you for telling me" if target == "patient" else "URGENT"
        # The refused send and the one that went through, the same words both times.
        assert len(sends) == 2, [call.method for call in sends]
        assert all(marker in str(call.params.get("text") or "") for call in sends)

    # No dispatcher pass was needed; a pass and a little time now send nothing more.
    h.clock.advance(timedelta(seconds=5))
    await h.tick()
    await h.svc.urgent.deliver_due()
    await h.svc.alerts.deliver_urgent()
    assert len(crisis_replies(h, cy)) == 1
    reply = crisis_replies(h, cy)[0].text or ""
    assert "care team know" in reply
    [alert] = urgent(h, code)
    text = alert.text or ""
    assert "PHQ-9 item 9 answered \u201cSeveral days\u201d" in text
    assert "better off dead" in text
    assert "cy_private" not in text
    assert str(cy.id) not in text
    assert [label for label, _ in alert.buttons()] == ["Acknowledge", "Resolve"]

    # The questionnaire goes on: the functional question, then the result.
    await h.server.wait_for(lambda: at_item(message, SCORED + 1))
    await answer_item(h, cy, message, SCORED + 1, "Very difficult")
    await shows(h, message, "total is 1 of 27")
    [row] = await completed(h, patient)
    assert row.answers == (0,) * 8 + (1, 2)
    assert row.safety_alerted
    alerts = await h.svc.storage.alerts.for_patient(patient.id)
    assert len(alerts) == 1
    assert alerts[0].urgent
    assert alerts[0].sent
    assert len(urgent(h, code)) == 1


async def checkin_answered(h: Harness, user: FakeUser, code: str, score: int) -> None:
    await h.say(h.staff, f"/infusion {code}")
    patient = await patient_of(h, code)
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    h.clock.set(rows[0].due_at + timedelta(minutes=1))
    waiting = h.expect(user.id, lambda m: len(m.buttons()) == 11)
    await h.tick()
    prompt = await waiting
    answer = await h.press(user, prompt, prompt.button(str(score)))
    assert f"{score}/10" in answer
    await shows(h, prompt, f"Recorded: {score}/10")


def documents(h: Harness, chat_id: int) -> list[SentMessage]:
    return [m for m in h.server.messages(chat_id) if m.method == "sendDocument"]


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the byte-order mark spreadsheets need
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_mydata_sends_a_csv_with_the_checkin(harness: Harness) -> None:
    h = harness
    dee = h.server.add_user(first_name="Dee")
    code = await h.enrol(dee)
    await checkin_answered(h, dee, code, 7)

    waiting = h.expect(dee.id, lambda m: m.method == "sendDocument")
    h.server.send_message(dee, "/mydata")
    sent = await waiting
    assert sent.caption == record_texts.MYDATA_CAPTION
    document = sent.raw["document"]
    local = h.clock.now().astimezone(h.settings.timezone)
    assert document["file_name"] == f"afterglow-my-data-{local:%Y-%m-%d}.csv"
    assert document["mime_type"] == "text/csv"
    assert sent.document is not None
    assert document["file_size"] == len(sent.document)
    rows = csv_rows(sent.document)
    assert list(rows[0]) == ["kind", "ref", "time", "value", "detail", "note"]
    checkins = [row for row in rows if row["kind"] == "checkin" and row["value"]]
    assert len(checkins) == 1
    assert checkins[0]["value"] == "7"
    assert "state: answered" in checkins[0]["detail"]
    assert [row["kind"] for row in rows].count("infusion") == 1
    assert "Dee" not in sent.document.decode("utf-8-sig")

    stranger = h.server.add_user(first_name="Eve")
    reply = await h.say(stranger, "/mydata")
    assert reply.text == record_texts.MYDATA_NONE
    assert documents(h, stranger.id) == []


async def test_export_sends_csv_and_a_valid_fhir_bundle_in_private_only(
    harness: Harness,
) -> None:
    h = harness
    fay = h.server.add_user(first_name="Fay")
    code = await h.enrol(fay)
    await checkin_answered(h, fay, code, 4)
    message = await start_phq9(h, fay)
    for number, score in enumerate([1, 1, 1, 1, 1, 0, 0, 0, 0], start=1):
        await answer_item(h, fay, message, number, OPTIONS[score])
    await h.server.wait_for(lambda: at_item(message, SCORED + 1))
    await answer_item(h, fay, message, SCORED + 1, "Not difficult at all")
    await shows(h, message, "total is 5 of 27")

    before = len(documents(h, h.staff.id))
    h.server.send_message(h.staff, f"/export {code}")
    sent = await h.server.wait_for(
        lambda: (
            documents(h, h.staff.id)[before:]
            if len(documents(h, h.staff.id)) >= before + 2
            else None
        )
    )
    table, bundle = sent
    assert table.document is not None
    assert bundle.document is not None
    assert table.raw["document"]["file_name"].endswith(".csv")
    assert table.raw["document"]["mime_type"] == "text/csv"
    assert bundle.raw["document"]["file_name"].endswith(".fhir.json")
    assert bundle.raw["document"]["mime_type"] == "application/json"
    assert code in (table.caption or "")
    assert "FHIR" in (bundle.caption or "")

    rows = csv_rows(table.document)
    assert [row["value"] for row in rows if row["kind"] == "checkin" and row["value"]] == ["4"]
    parsed = Bundle.model_validate(json.loads(bundle.document))
    assert parsed.type == "collection"
    kinds = [
        entry.resource.get_resource_type()
        for entry in parsed.entry or []
        if entry.resource is not None
    ]
    assert len(kinds) == len(parsed.entry or [])
    assert "Patient" in kinds
    assert "QuestionnaireResponse" in kinds
    assert "Observation" in kinds
    text = bundle.document.decode("utf-8")
    assert code in text
    assert "Fay" not in text
    assert "44261-6" in text  # the PHQ-9 total's LOINC code

    # In the staff group /export refuses and sends no document.
    calls_before = len(h.server.calls_to("sendDocument"))
    reply = await h.say(h.staff, f"/export {code}", chat=h.staff_group)
    assert reply.text == record_texts.EXPORT_PRIVATE_ONLY
    assert documents(h, h.staff_group.id) == []
    assert len(h.server.calls_to("sendDocument")) == calls_before
    # A patient cannot export anyone.
    before_fay = len(documents(h, fay.id))
    h.server.send_message(fay, f"/export {code}")
    await h.server.wait_for(lambda: not h.server.pending_updates or None)
    await h.tick()
    assert len(documents(h, fay.id)) == before_fay


async def test_a_planned_baseline_phq9_arrives_at_the_checkin_time(harness: Harness) -> None:
    h = harness
    gus = h.server.add_user(first_name="Gus")
    code = await h.enrol(gus, "10:30")
    patient = await patient_of(h, code)
    # Enrolled on Monday at 08:00 in Berlin: the baseline is due at 10:30 the same day.
    moment = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert h.clock.now() < moment
    before = len(h.server.messages(gus))
    h.clock.set(moment - timedelta(minutes=1))
    await h.tick()
    assert len(h.server.messages(gus)) == before
    assert await h.svc.storage.questionnaires.in_progress(patient.id) is None

    h.clock.set(moment)
    waiting = h.expect(gus.id, lambda m: bool(m.buttons()))
    await h.tick()
    message = await waiting
    assert "your starting point" in (message.text or "")
    assert at_item(message, 1), message.text
    assert [label for label, _ in message.buttons()] == list(OPTIONS)
    started = await h.svc.storage.questionnaires.in_progress(patient.id)
    assert started is not None
    assert started.instrument == "phq9"
    assert started.origin is QuestionnaireOrigin.BASELINE
    # One at a time: the GAD-7 baseline waits while the PHQ-9 is open.
    h.clock.advance(timedelta(minutes=5))
    await h.tick()
    assert len(h.server.messages(gus)) == before + 1
    # And the planned one is answered with the same buttons.
    await answer_item(h, gus, message, 1, OPTIONS[2])
    assert at_item(message, 2)


async def test_a_double_press_on_the_safety_item_alerts_once(harness: Harness) -> None:
    h = harness
    hal = h.server.add_user(first_name="Hal")
    code = await h.enrol(hal)
    patient = await patient_of(h, code)
    message = await start_phq9(h, hal)
    for number in range(1, SCORED):
        await answer_item(h, hal, message, number, OPTIONS[0])
    data = message.button("Nearly every day")
    # Both presses are queued before the bot has seen either (the second on the same item).
    h.server.press_button(hal, message, data)
    h.server.press_button(hal, message, data)
    await h.server.wait_for(lambda: len(h.server.callback_answers) >= 2 or None)
    await wait_urgent_delivery(h, hal, code)
    await h.server.wait_for(lambda: at_item(message, SCORED + 1))
    # Back to item 9 and the same answer again: the care team was already told.
    await h.press(hal, message, message.button("Back"))
    await h.server.wait_for(lambda: at_item(message, SCORED))
    await answer_item(h, hal, message, SCORED, "Several days")
    await h.server.wait_for(lambda: at_item(message, SCORED + 1))
    await h.tick()
    assert len(crisis_replies(h, hal)) == 1
    assert len(urgent(h, code)) == 1
    assert "\u201cNearly every day\u201d" in (urgent(h, code)[0].text or "")
    assert len(await h.svc.storage.alerts.for_patient(patient.id)) == 1
