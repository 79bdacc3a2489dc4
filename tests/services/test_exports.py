"""The record's two files: a CSV that parses back and is safe in a spreadsheet, and a FHIR
Bundle that validates against the maintained R4B models."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from bot.domain.codes import (
    AlertKind,
    CheckinKind,
    CheckinState,
    CloseReason,
    PatientStatus,
    PushKind,
    QuestionAnswer,
    QuestionnaireOrigin,
    QuestionnaireStatus,
    QuestionReason,
)
from bot.domain.entities import (
    Alert,
    Checkin,
    Infusion,
    Patient,
    QuestionnaireResponse,
    SafetyQuestion,
)
from bot.domain.questionnaires import Questionnaire, parse_questionnaire
from bot.domain.record import ExplainerDelivery, PatientNote, PatientRecord
from bot.services.exports import (
    CSV_COLUMNS,
    MOOD_CODE,
    OBSERVATION_SYSTEM,
    PATIENT_CODE_SYSTEM,
    fhir_bundle,
    record_csv,
)

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 08:00 in Berlin (winter time)
SUMMER = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # 09:00 in Berlin (summer time)
EXPORTED = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)
FOLDER = Path(__file__).resolve().parents[2] / "bot" / "data" / "questionnaires"
TRICKY = 'tired, "flat"\nbut ok; 50% better'
KINDS = {
    "patient",
    "infusion",
    "checkin",
    "note",
    "questionnaire",
    "questionnaire_item",
    "safety_question",
    "explainer",
    "alert",
}


def load(name: str) -> Questionnaire:
    path = FOLDER / f"{name}.toml"
    return parse_questionnaire(path.read_text(encoding="utf-8"), source=path.name)


QUESTIONNAIRES = {"phq9": load("phq9"), "gad7": load("gad7")}


def patient() -> Patient:
    return Patient(
        id=7,
        code="K7QX",
        label="Anna M.",
        status=PatientStatus.ACTIVE,
        telegram_user_id=555001,
        chat_id=555001,
        timezone="Europe/Berlin",
        checkin_time="09:00",
        consent_at=T0,
        created_at=T0 - timedelta(days=1),
        awaiting_note_checkin_id=None,
        consent_version="2026-03",
    )


def checkin(checkin_id: int, due: datetime, score: int | None, **changes: Any) -> Checkin:
    answered = score is not None
    values: dict[str, Any] = {
        "id": checkin_id,
        "patient_id": 7,
        "infusion_id": 1,
        "kind": CheckinKind.PLANNED,
        "day": checkin_id,
        "due_at": due,
        "state": CheckinState.ANSWERED if answered else CheckinState.MISSED,
        "close_reason": None if answered else CloseReason.NO_ANSWER,
        "last_error": None,
        "attempts": 1,
        "next_attempt_at": None,
        "sent_at": due,
        "delivery": None,
        "message_id": 1,
        "score": score,
        "answered_at": due + timedelta(minutes=5) if answered else None,
    }
    values.update(changes)
    return Checkin(**values)


def response(
    response_id: int,
    instrument: str,
    answers: tuple[int | None, ...],
    status: QuestionnaireStatus = QuestionnaireStatus.COMPLETED,
    *,
    total: int | None = None,
    band: str | None = None,
) -> QuestionnaireResponse:
    started = T0 + timedelta(days=response_id)
    done = status is QuestionnaireStatus.COMPLETED
    return QuestionnaireResponse(
        id=response_id,
        patient_id=7,
        chat_id=555001,
        instrument=instrument,
        origin=QuestionnaireOrigin.INTERVAL,
        status=status,
        answers=answers,
        started_at=started,
        updated_at=started + timedelta(minutes=3),
        expires_at=started + timedelta(hours=24),
        completed_at=started + timedelta(minutes=3) if done else None,
        total=total,
        band=band,
        safety_alerted=False,
    )


PHQ9_SKIPPED = response(1, "phq9", (1, 2, 0, 1, 0, 0, 1, 0, 0, None), total=5, band="mild")
PHQ9_FULL = response(2, "phq9", (3, 3, 2, 2, 1, 1, 1, 0, 1, 3), total=14, band="moderate")
GAD7 = response(3, "gad7", (2, 2, 1, 1, 0, 0, 3), total=9, band="mild")
EXPIRED = response(4, "phq9", (1, 1), QuestionnaireStatus.EXPIRED)
OPEN = response(5, "gad7", (0,), QuestionnaireStatus.IN_PROGRESS)


def full_record() -> PatientRecord:
    alert = Alert(
        id=3,
        patient_id=7,
        patient_code="K7QX",
        episode_id=None,
        kind=AlertKind.REVIEW,
        urgent=True,
        text="staff wording",
        with_chart=False,
        created_at=T0 + timedelta(hours=2),
        sent=True,
        attempts=1,
        last_error=None,
        chat_id=-100,
        message_id=9,
        photo=False,
        acknowledged_at=T0 + timedelta(hours=3),
        acknowledged_by=9001,
        resolved_at=None,
        reminders_sent=0,
    )
    question = SafetyQuestion(
        id=2,
        patient_id=7,
        chat_id=555001,
        reason=QuestionReason.LOW_SCORE,
        asked_at=T0 + timedelta(hours=1),
        sent=True,
        answer=QuestionAnswer.NO,
        answered_at=T0 + timedelta(hours=1, minutes=2),
        escalate_at=T0 + timedelta(hours=2),
        escalated=False,
    )
    return PatientRecord(
        patient=patient(),
        infusions=(Infusion(1, 7, T0 - timedelta(hours=20), T0 - timedelta(hours=19), 9001),),
        checkins=(
            checkin(1, T0, 6),
            checkin(2, T0 + timedelta(days=1), None),
            checkin(3, SUMMER, 8),
        ),
        notes=(
            PatientNote(1, 1, TRICKY, T0 + timedelta(minutes=6)),
            PatientNote(2, 3, '=HYPERLINK("http://x","y")', SUMMER + timedelta(minutes=6)),
            PatientNote(3, None, "+49 call me", SUMMER + timedelta(hours=1)),
        ),
        questionnaires=(PHQ9_SKIPPED, PHQ9_FULL, GAD7, EXPIRED, OPEN),
        safety_questions=(question,),
        explainers=(ExplainerDelivery(1, "why-it-fades", PushKind.SCHEDULED, T0),),
        alerts=(alert,),
    )


def parse(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


# ---- CSV ---------------------------------------------------------------------------------


def test_the_csv_parses_back_with_every_kind_of_row() -> None:
    rows = parse(record_csv(full_record(), timezone=BERLIN, questionnaires=QUESTIONNAIRES))
    assert {row["kind"] for row in rows} == KINDS
    assert rows[0]["kind"] == "patient"
    assert rows[0]["value"] == "K7QX"
    assert "consent version: 2026-03" in rows[0]["detail"]
    items = [row for row in rows if row["kind"] == "questionnaire_item"]
    assert len(items) == sum(len(r.answers) for r in full_record().questionnaires)


def test_notes_survive_commas_quotes_and_newlines() -> None:
    rows = parse(record_csv(full_record(), timezone=BERLIN))
    first = next(row for row in rows if row["ref"] == "checkin/1")
    assert first["note"] == TRICKY
    assert first["value"] == "6"
    assert "state: answered" in first["detail"]


def test_the_csv_uses_crlf_between_records() -> None:
    text = record_csv(full_record(), timezone=BERLIN).decode("utf-8-sig")
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert text.endswith("\r\n")


@pytest.mark.parametrize(
    "note", ["=1+1", "+49 123", "-2", "@SUM(A1)", "\t=1", "\r=1", "  =cmd|' /C calc'!A0"]
)
def test_a_note_a_spreadsheet_would_run_is_neutralised(note: str) -> None:
    record = PatientRecord(
        patient=patient(), checkins=(checkin(1, T0, 5),), notes=(PatientNote(1, 1, note, T0),)
    )
    rows = parse(record_csv(record, timezone=BERLIN))
    cell = next(row for row in rows if row["kind"] == "checkin")["note"]
    assert cell == "'" + note


def test_the_shipped_record_neutralises_its_formula_notes() -> None:
    rows = parse(record_csv(full_record(), timezone=BERLIN))
    assert next(row for row in rows if row["ref"] == "checkin/3")["note"].startswith("'=")
    assert next(row for row in rows if row["kind"] == "note")["note"] == "'+49 call me"
    for row in rows:
        for value in row.values():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_times_are_in_the_clinic_zone_with_their_offset() -> None:
    rows = parse(record_csv(full_record(), timezone=BERLIN))
    by_ref = {row["ref"]: row for row in rows}
    assert by_ref["checkin/1"]["time"] == "2026-03-02T08:05:00+01:00"
    assert by_ref["checkin/3"]["time"] == "2026-07-01T09:05:00+02:00"
    assert by_ref["checkin/2"]["time"] == "2026-03-03T08:00:00+01:00"  # missed: its due time
    assert datetime.fromisoformat(by_ref["alert/3"]["time"]) == T0 + timedelta(hours=2)
    other = parse(record_csv(full_record(), timezone=ZoneInfo("America/New_York")))
    assert next(row for row in other if row["ref"] == "checkin/1")["time"].endswith("-05:00")


def test_questionnaire_rows_carry_total_questions_and_answers() -> None:
    rows = parse(record_csv(full_record(), timezone=BERLIN, questionnaires=QUESTIONNAIRES))
    by_ref = {row["ref"]: row for row in rows}
    assert by_ref["questionnaire/1"]["value"] == "5"
    assert "band: mild" in by_ref["questionnaire/1"]["detail"]
    assert "PHQ-9" in by_ref["questionnaire/1"]["detail"]
    second = by_ref["questionnaire/1/item/2"]
    assert second["value"] == "2"
    assert "Feeling down, depressed, or hopeless" in second["detail"]
    assert "answer: More than half the days" in second["detail"]
    skipped = by_ref["questionnaire/1/item/10"]
    assert (skipped["value"], skipped["detail"].endswith("skipped")) == ("", True)
    assert by_ref["questionnaire/4"]["value"] == ""
    assert "status: expired" in by_ref["questionnaire/4"]["detail"]


def test_the_csv_leaves_out_telegram_ids_staff_and_alert_wording() -> None:
    text = record_csv(full_record(), timezone=BERLIN).decode("utf-8-sig")
    for secret in ("555001", "9001", "staff wording", "Anna"):
        assert secret not in text
    alert = next(row for row in parse(text.encode("utf-8-sig")) if row["kind"] == "alert")
    assert alert["value"] == "review"
    assert "acknowledged: 2026-03-02T11:00:00+01:00" in alert["detail"]


def test_an_empty_record_exports_a_header_and_the_patient() -> None:
    rows = parse(record_csv(PatientRecord(patient=patient()), timezone=BERLIN))
    assert [row["kind"] for row in rows] == ["patient"]


# ---- FHIR --------------------------------------------------------------------------------


def bundle_of(
    record: PatientRecord, questionnaires: Mapping[str, Questionnaire] = QUESTIONNAIRES
) -> dict[str, Any]:
    data = fhir_bundle(record, questionnaires, exported_at=EXPORTED)
    plain: dict[str, Any] = json.loads(json.dumps(data))
    assert plain == data
    Bundle.model_validate(plain)
    for entry in plain["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    return plain


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_bundle_validates_as_an_r4b_collection() -> None:
    bundle = bundle_of(full_record())
    assert bundle["type"] == "collection"
    assert bundle["timestamp"] == "2026-07-02T12:00:00Z"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Patient"
    assert kinds.count("QuestionnaireResponse") == 5
    ids = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(ids)) == len(ids)


def test_the_patient_carries_only_the_pseudonymous_code() -> None:
    bundle = bundle_of(full_record())
    (person,) = resources(bundle, "Patient")
    assert set(person) == {"resourceType", "id", "identifier"}
    assert person["identifier"] == [{"system": PATIENT_CODE_SYSTEM, "value": "K7QX"}]
    text = json.dumps(bundle)
    for secret in ("555001", "9001", "Anna", "staff wording"):
        assert secret not in text


def test_a_phq9_carries_its_loinc_codes_items_and_total() -> None:
    bundle = bundle_of(full_record())
    phq9 = QUESTIONNAIRES["phq9"]
    full = next(r for r in resources(bundle, "QuestionnaireResponse") if len(r["item"]) == 11)
    assert full["questionnaire"] == "http://loinc.org/q/44249-1"
    assert full["status"] == "completed"
    items = full["item"]
    assert [item["linkId"] for item in items[:10]] == [item.loinc for item in phq9.items]
    assert items[-1]["linkId"] == "44261-6"
    assert items[-1]["answer"] == [{"valueInteger": 14}]
    codings = [item["answer"][0]["valueCoding"] for item in items[:10]]
    assert {coding["system"] for coding in codings} == {"http://loinc.org"}
    assert codings[0]["code"] == "LA6571-9"
    assert codings[0]["display"] == "Nearly every day"
    assert codings[9]["code"] == "LA6574-3"  # "Extremely difficult", the functional item
    ordinals = [coding["extension"][0]["valueDecimal"] for coding in codings]
    assert sum(ordinals[:9]) == 14
    patient_url = bundle["entry"][0]["fullUrl"]
    assert full["subject"] == {"reference": patient_url}
    assert full["authored"] == "2026-03-04T07:03:00Z"


def test_a_phq9_with_the_functional_item_skipped_validates_without_it() -> None:
    record = PatientRecord(patient=patient(), questionnaires=(PHQ9_SKIPPED,))
    (skipped,) = resources(bundle_of(record), "QuestionnaireResponse")
    link_ids = [item["linkId"] for item in skipped["item"]]
    assert "69722-7" not in link_ids
    assert len(link_ids) == 10  # nine items and the total
    assert skipped["item"][-1] == {
        "linkId": "44261-6",
        "text": "PHQ-9 total score",
        "answer": [{"valueInteger": 5}],
    }


def test_a_gad7_carries_its_own_codes() -> None:
    record = PatientRecord(patient=patient(), questionnaires=(GAD7,))
    bundle = bundle_of(record)
    (gad7,) = resources(bundle, "QuestionnaireResponse")
    assert gad7["questionnaire"] == "http://loinc.org/q/69737-5"
    assert [item["linkId"] for item in gad7["item"][:7]] == [
        item.loinc for item in QUESTIONNAIRES["gad7"].items
    ]
    assert gad7["item"][-1]["linkId"] == "70274-6"
    assert gad7["item"][-1]["answer"] == [{"valueInteger": 9}]
    (total,) = resources(bundle, "Observation")
    assert total["code"]["coding"] == [{"system": "http://loinc.org", "code": "70274-6"}]
    assert total["valueInteger"] == 9
    assert total["interpretation"] == [{"text": "mild"}]
    assert total["derivedFrom"] == [{"reference": bundle["entry"][1]["fullUrl"]}]


def test_unfinished_administrations_are_stopped_or_in_progress_without_a_total() -> None:
    record = PatientRecord(patient=patient(), questionnaires=(EXPIRED, OPEN))
    bundle = bundle_of(record)
    stopped, open_one = resources(bundle, "QuestionnaireResponse")
    assert stopped["status"] == "stopped"
    assert [item["linkId"] for item in stopped["item"]] == ["44250-9", "44255-8"]
    assert open_one["status"] == "in-progress"
    assert [item["linkId"] for item in open_one["item"]] == ["69725-0"]
    assert resources(bundle, "Observation") == []


def test_each_daily_mood_is_an_observation() -> None:
    bundle = bundle_of(full_record())
    patient_url = bundle["entry"][0]["fullUrl"]
    moods = [
        o for o in resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == MOOD_CODE
    ]
    assert [mood["valueInteger"] for mood in moods] == [6, 8]
    first = moods[0]
    assert first["code"]["coding"][0]["system"] == OBSERVATION_SYSTEM
    assert first["category"][0]["coding"][0]["code"] == "survey"
    assert first["status"] == "final"
    assert first["subject"] == {"reference": patient_url}
    assert first["effectiveDateTime"] == "2026-03-02T07:05:00Z"
    assert first["note"][0]["text"] == TRICKY
    totals = [o for o in resources(bundle, "Observation") if o not in moods]
    assert sorted(o["valueInteger"] for o in totals) == [5, 9, 14]


def test_the_export_is_reproducible() -> None:
    first = fhir_bundle(full_record(), QUESTIONNAIRES, exported_at=EXPORTED)
    again = fhir_bundle(full_record(), QUESTIONNAIRES, exported_at=EXPORTED)
    later = fhir_bundle(full_record(), QUESTIONNAIRES, exported_at=EXPORTED + timedelta(days=1))
    assert first == again
    assert first["entry"] == later["entry"]
    assert first["id"] != later["id"]


def test_an_empty_record_still_exports() -> None:
    bundle = bundle_of(PatientRecord(patient=patient()))
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]


def test_a_response_without_its_questionnaire_still_validates() -> None:
    record = PatientRecord(patient=patient(), questionnaires=(GAD7,))
    (gad7,) = resources(bundle_of(record, {}), "QuestionnaireResponse")
    assert gad7["questionnaire"] == "urn:afterglow:questionnaire:gad7"
    assert gad7["item"][0] == {"linkId": "gad7-1", "answer": [{"valueInteger": 2}]}


def test_a_naive_export_time_is_refused() -> None:
    with pytest.raises(ValueError, match="zone"):
        fhir_bundle(full_record(), QUESTIONNAIRES, exported_at=datetime(2026, 7, 2, 12, 0))
