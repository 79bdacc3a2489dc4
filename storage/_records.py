"""One patient's whole record, read for export; and the questionnaire response row."""

from __future__ import annotations

from bot.domain.codes import PushKind
from bot.domain.record import ExplainerDelivery, PatientNote, PatientRecord

from ._alerts import ALERT_COLUMNS, ALERTS_FROM, alert_of
from ._checkin_rows import CHECKIN_COLUMNS, checkin_from_row
from ._database import Database
from ._infusions import INFUSION_COLUMNS, infusion_from_row
from ._patients import PATIENT_COLUMNS, patient_from_row
from ._questionnaires import QUESTIONNAIRE_COLUMNS, questionnaire_response
from ._questions import QUESTION_COLUMNS, question_from_row
from ._time import from_ts

# What is read for each part of a record, by patient id, oldest first.
_PARTS = {
    "infusions": f"SELECT {INFUSION_COLUMNS} FROM infusions WHERE patient_id = ?"
    " ORDER BY given_at, id",
    "checkins": f"SELECT {CHECKIN_COLUMNS} FROM checkins c WHERE c.patient_id = ?"
    " ORDER BY c.due_at, c.id",
    "notes": "SELECT id, checkin_id, text, created_at FROM notes WHERE patient_id = ?"
    " ORDER BY created_at, id",
    "questionnaires": f"SELECT {QUESTIONNAIRE_COLUMNS} FROM questionnaire_responses"
    " WHERE patient_id = ? ORDER BY started_at, id",
    "questions": f"SELECT {QUESTION_COLUMNS} FROM safety_questions WHERE patient_id = ?"
    " ORDER BY asked_at, id",
    # Delivered only: a scheduled explainer still waiting has not reached the patient.
    "explainers": "SELECT id, explainer_id, how, at FROM explainer_deliveries"
    " WHERE patient_id = ? AND sent = 1 ORDER BY at, id",
    "alerts": f"SELECT {ALERT_COLUMNS} FROM {ALERTS_FROM} WHERE a.patient_id = ?"
    " ORDER BY a.created_at, a.id",
}


class RecordRepository:
    """Reads everything stored about one patient, for the patient's and the clinic's copy."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def of(self, patient_id: int) -> PatientRecord | None:
        """Return the patient's record, each part oldest first; None for no such patient.

        Each part is one read of its own, so a write landing between two reads may show in
        the later parts only; the patient is read first, so nothing refers to a newer one.
        """
        row = await self._db.fetch_one(
            f"SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?", (patient_id,)
        )
        if row is None:
            return None
        parts = {
            name: await self._db.fetch_all(sql, (patient_id,)) for name, sql in _PARTS.items()
        }
        return PatientRecord(
            patient=patient_from_row(row),
            infusions=tuple(infusion_from_row(r) for r in parts["infusions"]),
            checkins=tuple(checkin_from_row(r) for r in parts["checkins"]),
            notes=tuple(
                PatientNote(r["id"], r["checkin_id"], r["text"], from_ts(r["created_at"]))
                for r in parts["notes"]
            ),
            questionnaires=tuple(questionnaire_response(r) for r in parts["questionnaires"]),
            safety_questions=tuple(question_from_row(r) for r in parts["questions"]),
            explainers=tuple(
                ExplainerDelivery(r["id"], r["explainer_id"], PushKind(r["how"]), from_ts(r["at"]))
                for r in parts["explainers"]
            ),
            alerts=tuple(alert_of(r) for r in parts["alerts"]),
        )
