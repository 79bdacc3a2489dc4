"""A patient's record as files: a CSV for anyone, and a FHIR R4 Bundle for clinical systems.

Pure functions over a `PatientRecord` (and the questionnaires its responses were given
from); sending them is the caller's business.

The CSV is UTF-8 with a byte-order mark, comma-separated, CRLF line ends, fields quoted
when needed (RFC 4180, Python's "excel" dialect). Without the mark, Excel takes a CSV
for the Windows code page and garbles every non-ASCII letter (the PHQ-9's own dashes, a
patient's umlauts); with it Excel and LibreOffice both read UTF-8, and Python reads it
with "utf-8-sig". A "sep=" line would help Excel in semicolon locales but breaks the mark
in Excel and shows as data in LibreOffice, so there is none. A cell that a spreadsheet
could take for a formula (starting with =, +, -, @, a tab or a carriage return) is
written with a leading apostrophe, so it shows as the text it is.

The Bundle is a "collection" whose Patient carries only the pseudonymous patient code.
Every questionnaire administration is a QuestionnaireResponse: completed ones "completed"
with their total, an open one "in-progress", an expired one "stopped" (FHIR's status for
a response abandoned part-way) with the items that were answered; skipped items are left
out. A completed one's total is also an Observation coded with the total's LOINC code,
derived from the response, for systems that chart Observations. Every answered daily mood
is an Observation. Ids are uuid5 of the patient code, the kind and the stored id, so the
same record always exports the same resources.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.domain.codes import QuestionnaireStatus
from bot.domain.entities import Checkin, Patient, QuestionnaireResponse
from bot.domain.questionnaires import Item, Questionnaire
from bot.domain.record import PatientNote, PatientRecord

CSV_COLUMNS = ("kind", "ref", "time", "value", "detail", "note")
"""The CSV's header: what a row is, which stored thing, when, its value, the rest, words."""

PATIENT_CODE_SYSTEM = "urn:afterglow:patient-code"
OBSERVATION_SYSTEM = "urn:afterglow:observation"
MOOD_CODE = "mood-0-10"
LOINC = "http://loinc.org"

_FORMULA = ("=", "+", "-", "@")
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:afterglow")
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
# LOINC answer codes of the standard PHQ-9 and GAD-7 options (answer lists LL358-3, LL359-1).
_LOINC_ANSWERS = {
    "Not at all": "LA6568-5",
    "Several days": "LA6569-3",
    "More than half the days": "LA6570-1",
    "Nearly every day": "LA6571-9",
    "Not difficult at all": "LA6572-7",
    "Somewhat difficult": "LA6573-5",
    "Very difficult": "LA6575-0",
    "Extremely difficult": "LA6574-3",
}
_RESPONSE_STATUS = {
    QuestionnaireStatus.COMPLETED: "completed",
    QuestionnaireStatus.IN_PROGRESS: "in-progress",
    QuestionnaireStatus.EXPIRED: "stopped",
}

Row = tuple[str, str, str, str, str, str]
Json = dict[str, object]


def record_csv(
    record: PatientRecord,
    *,
    timezone: ZoneInfo,
    questionnaires: Mapping[str, Questionnaire] | None = None,
) -> bytes:
    """Return the record as one CSV, times in the clinic's zone; see the module's notes.

    The patient's row comes first, then each kind in turn, oldest first; a questionnaire's
    item rows follow it. With the questionnaires, an item row names its question and the
    chosen option.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, dialect="excel")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(
        [_cell(value) for value in row] for row in _rows(record, timezone, questionnaires or {})
    )
    return buffer.getvalue().encode("utf-8-sig")


def _cell(value: str) -> str:
    """Return the value as a spreadsheet will show it as text, never run as a formula."""
    if value[:1] in ("\t", "\r") or value.lstrip()[:1] in _FORMULA:
        return "'" + value
    return value


def _at(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


def _detail(*parts: tuple[str, str | None]) -> str:
    return "; ".join(f"{name}: {value}" for name, value in parts if value)


def _rows(
    record: PatientRecord, zone: ZoneInfo, questionnaires: Mapping[str, Questionnaire]
) -> Iterator[Row]:
    yield _patient_row(record.patient, zone)
    for infusion in record.infusions:
        recorded = _detail(("recorded", _at(infusion.recorded_at, zone)))
        yield (
            "infusion",
            f"infusion/{infusion.id}",
            _at(infusion.given_at, zone),
            "",
            recorded,
            "",
        )
    for checkin in record.checkins:
        yield _checkin_row(checkin, record.notes_of(checkin.id), zone)
    for note in record.loose_notes():
        yield ("note", f"note/{note.id}", _at(note.created_at, zone), "", "", note.text)
    for response in record.questionnaires:
        yield from _questionnaire_rows(response, questionnaires.get(response.instrument), zone)
    for question in record.safety_questions:
        detail = _detail(
            ("reason", question.reason),
            ("answered", _at(question.answered_at, zone)),
            ("escalated", "yes" if question.escalated else None),
        )
        time = _at(question.asked_at, zone)
        yield (
            "safety_question",
            f"safety_question/{question.id}",
            time,
            question.answer or "",
            detail,
            "",
        )
    for explainer in record.explainers:
        time, how = _at(explainer.at, zone), _detail(("how", explainer.how))
        yield ("explainer", f"explainer/{explainer.id}", time, explainer.explainer_id, how, "")
    for alert in record.alerts:
        detail = _detail(
            ("urgent", "yes" if alert.urgent else "no"),
            ("acknowledged", _at(alert.acknowledged_at, zone)),
            ("resolved", _at(alert.resolved_at, zone)),
        )
        yield ("alert", f"alert/{alert.id}", _at(alert.created_at, zone), alert.kind, detail, "")


def _patient_row(patient: Patient, zone: ZoneInfo) -> Row:
    detail = _detail(
        ("status", patient.status),
        ("consent", _at(patient.consent_at, zone)),
        ("consent version", patient.consent_version),
        ("deleted", _at(patient.deleted_at, zone)),
        ("check-in time", patient.checkin_time),
        ("time zone", patient.timezone),
    )
    return ("patient", "patient", _at(patient.created_at, zone), patient.code, detail, "")


def _checkin_row(checkin: Checkin, notes: tuple[PatientNote, ...], zone: ZoneInfo) -> Row:
    kind = "adaptive" if checkin.adaptive else checkin.kind
    detail = _detail(
        ("state", checkin.state),
        ("kind", kind),
        ("day", None if checkin.day is None else str(checkin.day)),
        ("due", _at(checkin.due_at, zone)),
        ("sent", _at(checkin.sent_at, zone)),
        ("closed", checkin.close_reason),
    )
    time = _at(checkin.answered_at or checkin.due_at, zone)
    score = "" if checkin.score is None else str(checkin.score)
    words = "\n".join(note.text for note in notes)
    return ("checkin", f"checkin/{checkin.id}", time, score, detail, words)


def _questionnaire_rows(
    response: QuestionnaireResponse, questionnaire: Questionnaire | None, zone: ZoneInfo
) -> Iterator[Row]:
    ref = f"questionnaire/{response.id}"
    time = _at(response.completed_at or response.started_at, zone)
    detail = _detail(
        ("instrument", response.instrument if questionnaire is None else questionnaire.title),
        ("status", response.status),
        ("band", response.band),
        ("origin", response.origin),
        ("started", _at(response.started_at, zone)),
        ("safety item", "urgent path taken" if response.safety_alerted else None),
    )
    total = "" if response.total is None else str(response.total)
    yield ("questionnaire", ref, time, total, detail, "")
    for index, value in enumerate(response.answers):
        item = _item(questionnaire, index)
        label = None if item is None or value is None else item.label_of(value)
        parts = (("question", None if item is None else item.text), ("answer", label))
        detail = _detail(("item", str(index + 1)), *parts) + ("; skipped" if value is None else "")
        answer = "" if value is None else str(value)
        yield ("questionnaire_item", f"{ref}/item/{index + 1}", time, answer, detail, "")


def _item(questionnaire: Questionnaire | None, index: int) -> Item | None:
    if questionnaire is None or index >= len(questionnaire.items):
        return None
    return questionnaire.items[index]


def fhir_bundle(
    record: PatientRecord,
    questionnaires: Mapping[str, Questionnaire],
    *,
    exported_at: datetime,
) -> dict[str, object]:
    """Return the record as a FHIR R4 Bundle of type collection, plain JSON-ready data."""
    code = record.patient.code
    patient = _urn(code, "patient", record.patient.id)
    entries = [_entry(patient, _patient(record.patient))]
    for response in record.questionnaires:
        questionnaire = questionnaires.get(response.instrument)
        url = _urn(code, "questionnaire-response", response.id)
        entries.append(_entry(url, _response(response, questionnaire, patient)))
        total = _total(response, questionnaire, patient, url)
        if total is not None:
            entries.append(_entry(_urn(code, "questionnaire-total", response.id), total))
    for checkin in record.checkins:
        if checkin.score is not None and checkin.answered_at is not None:
            notes = record.notes_of(checkin.id)
            mood = _mood(checkin.score, checkin.answered_at, notes, patient)
            entries.append(_entry(_urn(code, "mood", checkin.id), mood))
    timestamp = _instant(exported_at)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, f"{code}:bundle:{timestamp}")),
        "type": "collection",
        "timestamp": timestamp,
        "entry": entries,
    }


def _urn(code: str, kind: str, stored_id: int) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{code}:{kind}:{stored_id}')}"


def _entry(url: str, resource: Json) -> Json:
    rid = url.removeprefix("urn:uuid:")
    return {
        "fullUrl": url,
        "resource": {"resourceType": resource["resourceType"], "id": rid, **resource},
    }


def _instant(moment: datetime) -> str:
    if moment.utcoffset() is None:
        raise ValueError("a FHIR time needs a zone; got a naive datetime")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _patient(patient: Patient) -> Json:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": PATIENT_CODE_SYSTEM, "value": patient.code}],
    }


def _response(
    response: QuestionnaireResponse, questionnaire: Questionnaire | None, patient: str
) -> Json:
    items: list[Json] = []
    for index, value in enumerate(response.answers):
        if value is not None:
            items.append(
                _answer_item(response.instrument, _item(questionnaire, index), index, value)
            )
    if questionnaire is not None and response.total is not None:
        items.append(
            {
                "linkId": questionnaire.loinc_total or f"{questionnaire.id}-total",
                "text": f"{questionnaire.title} total score",
                "answer": [{"valueInteger": response.total}],
            }
        )
    resource: Json = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": _canonical(response.instrument, questionnaire),
        "status": _RESPONSE_STATUS[response.status],
        "subject": {"reference": patient},
        "authored": _instant(response.completed_at or response.updated_at),
        "source": {"reference": patient},
    }
    if items:
        resource["item"] = items
    return resource


def _canonical(instrument: str, questionnaire: Questionnaire | None) -> str:
    if questionnaire is not None and questionnaire.loinc_panel is not None:
        return f"{LOINC}/q/{questionnaire.loinc_panel}"
    return f"urn:afterglow:questionnaire:{instrument}"


def _answer_item(instrument: str, item: Item | None, index: int, value: int) -> Json:
    """Return one answered item: the option as a coding with its score, or just the score."""
    if item is None:
        return {"linkId": f"{instrument}-{index + 1}", "answer": [{"valueInteger": value}]}
    label = item.label_of(value)
    coding: Json = {
        "extension": [{"url": _ORDINAL, "valueDecimal": value}],
        "system": LOINC
        if label in _LOINC_ANSWERS
        else f"urn:afterglow:questionnaire:{instrument}",
        "code": _LOINC_ANSWERS.get(label or "", str(value)),
    }
    if label is not None:
        coding["display"] = label
    return {
        "linkId": item.loinc or f"{instrument}-{index + 1}",
        "text": item.text,
        "answer": [{"valueCoding": coding}],
    }


def _survey(patient: str, at: datetime) -> Json:
    return {
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY, "code": "survey", "display": "Survey"}]}],
        "subject": {"reference": patient},
        "effectiveDateTime": _instant(at),
        "performer": [{"reference": patient}],
    }


def _total(
    response: QuestionnaireResponse,
    questionnaire: Questionnaire | None,
    patient: str,
    response_url: str,
) -> Json | None:
    """Return the total of a completed response as an Observation with its LOINC code."""
    if questionnaire is None or questionnaire.loinc_total is None:
        return None
    if response.total is None or response.completed_at is None:
        return None
    name = f"{questionnaire.title} total score"
    observation: Json = {
        "resourceType": "Observation",
        **_survey(patient, response.completed_at),
        "code": {"coding": [{"system": LOINC, "code": questionnaire.loinc_total}], "text": name},
        "valueInteger": response.total,
        "derivedFrom": [{"reference": response_url}],
    }
    if response.band is not None:
        observation["interpretation"] = [{"text": response.band}]
    return observation


def _mood(score: int, at: datetime, notes: tuple[PatientNote, ...], patient: str) -> Json:
    observation: Json = {
        "resourceType": "Observation",
        **_survey(patient, at),
        "code": {
            "coding": [
                {"system": OBSERVATION_SYSTEM, "code": MOOD_CODE, "display": "Mood, 0 to 10"}
            ],
            "text": "How is your mood today? 0 = worst, 10 = best",
        },
        "valueInteger": score,
    }
    if notes:
        observation["note"] = [
            {"time": _instant(note.created_at), "text": note.text} for note in notes
        ]
    return observation
