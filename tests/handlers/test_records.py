"""/mydata and /export: the files, who may have them, where, and the audit entry."""

from __future__ import annotations

import csv
import io
import json

from fhir.resources.R4B.bundle import Bundle

from bot.domain.codes import AuditAction
from bot.telegram import record_texts, staff_texts
from tests.handlers.conftest import InProcessBot, due_prompt
from tests.handlers.offline import Sent
from tests.handlers.updates import TgUser


def documents(sent: list[Sent]) -> list[tuple[str, bytes]]:
    return [entry.document for entry in sent if entry.document is not None]


async def answered_patient(
    bot: InProcessBot, note: str = "slept badly, = maybe"
) -> tuple[TgUser, str]:
    pat = bot.user("Pat")
    code = await bot.enrol_and_infuse(pat)
    prompt, _checkin = await due_prompt(bot, pat)
    await bot.press(pat, prompt, prompt.buttons()[6][1])
    await bot.send(pat, note)
    return pat, code


async def test_mydata_sends_the_patient_a_csv_of_their_data(bot: InProcessBot) -> None:
    pat, _code = await answered_patient(bot)
    reply = await bot.send(pat, "/mydata")
    files = documents(reply.sent)
    assert len(files) == 1
    name, data = files[0]
    assert name.startswith("afterglow-my-data-")
    assert name.endswith(".csv")
    assert reply.sent[0].text == record_texts.MYDATA_CAPTION
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    kinds = {row["kind"] for row in rows}
    assert {"patient", "infusion", "checkin"} <= kinds
    assert any(row["value"] == "6" for row in rows if row["kind"] == "checkin")
    assert any("slept badly" in row["note"] for row in rows)
    # Nothing about the Telegram account goes into the file.
    assert str(pat.id) not in data.decode("utf-8-sig")


async def test_mydata_for_someone_with_no_record(bot: InProcessBot) -> None:
    stranger = bot.user("Sam")
    reply = await bot.send(stranger, "/mydata")
    assert reply.reply.text == record_texts.MYDATA_NONE
    assert documents(reply.sent) == []


async def test_export_gives_staff_a_csv_and_a_valid_fhir_bundle(bot: InProcessBot) -> None:
    _pat, code = await answered_patient(bot)
    reply = await bot.send(bot.staff, f"/export {code}")
    files = documents(reply.sent)
    assert [name.rsplit(".", 1)[-1] for name, _ in files] == ["csv", "json"]
    assert all(name.startswith(code) for name, _ in files)
    bundle = json.loads(files[1][1])
    Bundle.model_validate(bundle)
    patients = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert len(patients) == 1
    assert patients[0]["identifier"][0]["value"] == code
    assert "name" not in patients[0]
    assert "telecom" not in patients[0]
    moods = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert [m["valueInteger"] for m in moods] == [6]
    entries = await bot.svc.storage.clinic.audit_log()
    assert entries[0].action is AuditAction.EXPORT
    assert entries[0].actor == bot.staff.id
    assert entries[0].patient_code == code


async def test_export_includes_a_completed_phq9(bot: InProcessBot) -> None:
    pat, code = await answered_patient(bot)
    step = await bot.svc.questionnaires.request(user_id=pat.id, instrument="phq9", update_id=None)
    for _ in range(9):
        assert step.response is not None
        step = await bot.svc.questionnaires.answer(
            user_id=pat.id,
            response_id=step.response.id,
            index=len(step.response.answers),
            value=1,
        )
    assert step.response is not None
    await bot.svc.questionnaires.skip(user_id=pat.id, response_id=step.response.id, index=9)
    files = documents((await bot.send(bot.staff, f"/export {code}")).sent)
    bundle = json.loads(files[1][1])
    Bundle.model_validate(bundle)
    responses = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    assert len(responses) == 1
    assert responses[0]["status"] == "completed"
    assert responses[0]["questionnaire"].endswith("44249-1")
    total = [item for item in responses[0]["item"] if item["linkId"] == "44261-6"]
    assert total[0]["answer"][0]["valueInteger"] == 9


async def test_export_only_in_a_private_chat(bot: InProcessBot) -> None:
    _pat, code = await answered_patient(bot)
    reply = await bot.send(bot.staff, f"/export {code}", chat=bot.staff_group)
    assert reply.reply.text == record_texts.EXPORT_PRIVATE_ONLY
    assert documents(reply.sent) == []
    assert all(
        e.action is not AuditAction.EXPORT for e in await bot.svc.storage.clinic.audit_log()
    )


async def test_non_staff_cannot_export(bot: InProcessBot) -> None:
    pat, code = await answered_patient(bot)
    for who in (pat, bot.user("Mallory")):
        reply = await bot.send(who, f"/export {code}")
        assert reply.reply.text == staff_texts.NOT_AUTHORISED
        assert documents(reply.sent) == []
    assert all(
        e.action is not AuditAction.EXPORT for e in await bot.svc.storage.clinic.audit_log()
    )


async def test_export_with_a_bad_argument(bot: InProcessBot) -> None:
    for text in ("/export", "/export P-ZZZZ", "/export a b", "/export ' OR 1=1"):
        reply = await bot.send(bot.staff, text)
        assert len(reply.reply.text) < 200, text
        assert documents(reply.sent) == [], text
    assert all(
        e.action is not AuditAction.EXPORT for e in await bot.svc.storage.clinic.audit_log()
    )


async def test_history_sends_a_chart_and_the_latest_entries(bot: InProcessBot) -> None:
    pat, _code = await answered_patient(bot, note="better after the walk")
    reply = await bot.send(pat, "/history")
    photos = [entry for entry in reply.sent if entry.photo is not None]
    assert len(photos) == 1
    assert photos[0].photo is not None
    assert photos[0].photo.startswith(b"\x89PNG")
    assert photos[0].text == record_texts.HISTORY_CAPTION
    words = reply.sent[-1].text
    assert "1 mood answers" in words
    assert "1 infusions" in words
    assert "mood 6 of 10" in words
    assert "better after the walk" in words


async def test_history_before_any_answer(bot: InProcessBot) -> None:
    pat = bot.user("Pat")
    await bot.enrol(pat)
    reply = await bot.send(pat, "/history")
    assert reply.reply.text == record_texts.HISTORY_EMPTY
    assert all(entry.photo is None for entry in reply.sent)


async def test_history_for_a_stranger(bot: InProcessBot) -> None:
    reply = await bot.send(bot.user("Sam"), "/history")
    assert reply.reply.text == record_texts.HISTORY_NONE
