"""Data rights: deleting a patient's data at their request, and the retention purge."""

from __future__ import annotations

from datetime import datetime

from bot.domain.codes import (
    AuditAction,
    CheckinState,
    PatientStatus,
    PushKind,
    QuestionnaireStatus,
)
from bot.domain.entities import NewAlert, Patient

from ._alerts import insert_alert
from ._database import Database, Transaction
from ._patients import PATIENT_COLUMNS, cancel_open_checkins, patient_from_row
from ._time import to_ts

# The audit actor of a patient's own deletion: their Telegram id is exactly what goes.
PATIENT_ACTOR = 0
CLINICAL_KEPT = "clinical_record_kept"
CLINICAL_DELETED = "clinical_record_deleted"
# What the patient's own rows hold about them whatever the clinic keeps: words, safety
# answers, what they were sent, the invitation that bound their account.
_ALWAYS = (
    "DELETE FROM notes WHERE patient_id = ?",
    "DELETE FROM safety_questions WHERE patient_id = ?",
    "DELETE FROM explainer_deliveries WHERE patient_id = ?",
    "DELETE FROM invites WHERE patient_id = ?",
    # Alerts quote the patient's words. A safety alert nobody has acknowledged stays (an
    # URGENT one, a review of words that may be a signal, an unanswered safety question),
    # with its reminders and escalation: a signal the patient already gave must still reach
    # a human, whatever they delete afterwards.
    "DELETE FROM alerts WHERE patient_id = ? AND NOT (acknowledged_at IS NULL"
    " AND (urgent = 1 OR kind IN ('crisis', 'review', 'question_unanswered')))",
)
_CLINICAL = (
    "DELETE FROM checkins WHERE patient_id = ?",
    "DELETE FROM questionnaire_responses WHERE patient_id = ?",
    "DELETE FROM episodes WHERE patient_id = ?",
    "DELETE FROM infusions WHERE patient_id = ?",
)
_CLOSED = (
    CheckinState.ANSWERED,
    CheckinState.MISSED,
    CheckinState.CANCELLED,
    CheckinState.FAILED,
)
_FINISHED = (QuestionnaireStatus.COMPLETED, QuestionnaireStatus.EXPIRED)
# Where the patient's current course starts: their latest infusion (none: no course kept).
_COURSE_START = (
    "coalesce((SELECT max(i.given_at) FROM infusions i"
    " WHERE i.patient_id = {table}.patient_id), 9223372036854775807)"
)
# Check-ins closed before a cutoff and before the patient's current course.
_FINISHED_CHECKINS = (
    f"SELECT id FROM checkins WHERE state IN ({','.join('?' for _ in _CLOSED)})"
    " AND coalesce(closed_at, answered_at, due_at) < ?"
    f" AND due_at < {_COURSE_START.format(table='checkins')}"
)


class PrivacyRepository:
    """The two writes that remove patient data: one patient's, and everything too old."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def erase(
        self,
        patient_id: int,
        *,
        now: datetime,
        keep_clinical: bool,
        notice: NewAlert | None = None,
    ) -> Patient | None:
        """Delete a patient's data and identity in one transaction; None if already gone.

        Kept: the row under its code (status stopped, deleted_at set) and one audit entry;
        with keep_clinical also infusions, check-in scores, finished questionnaires and
        episodes. Nothing is left that could reach the person: what was pending or open is
        cancelled or deleted, and their chat id is nowhere.
        """
        async with self._db.write() as conn:
            rows = list(
                await conn.fetch_all(
                    "SELECT chat_id FROM patients WHERE id = ? AND deleted_at IS NULL",
                    (patient_id,),
                )
            )
            if not rows:
                return None
            for sql in _ALWAYS:
                await conn.execute(sql, (patient_id,))
            if keep_clinical:
                await _keep_clinical(conn, patient_id, now)
            else:
                for sql in _CLINICAL:
                    await conn.execute(sql, (patient_id,))
            await _forget_chat(conn, rows[0]["chat_id"])
            if not keep_clinical:
                # What staff did about the patient (infusion dates in the details) goes too;
                # the entries stay, bare, for the record of who acted when.
                await conn.execute(
                    "UPDATE audit_log SET detail = NULL WHERE patient_id = ?", (patient_id,)
                )
            found = list(
                await conn.fetch_all(
                    "UPDATE patients SET status = ?, telegram_user_id = NULL, chat_id = NULL,"
                    " label = NULL, awaiting_note_checkin_id = NULL, status_changed_at = ?,"
                    f" deleted_at = ? WHERE id = ? RETURNING {PATIENT_COLUMNS}",
                    (PatientStatus.STOPPED, to_ts(now), to_ts(now), patient_id),
                )
            )
            if notice is not None:
                await insert_alert(
                    conn, patient_id=patient_id, episode_id=None, alert=notice, now=now
                )
            await _audit_deletion(conn, patient_id, now, keep_clinical)
        return patient_from_row(found[0])

    async def forget_deleted_alerts(self) -> int:
        """Clear the text of resolved alerts about patients who deleted their data.

        A safety alert outlives the deletion until someone has dealt with it; once it is
        resolved, its words (it can quote the patient) go like the rest of their data.
        """
        rows = await self._db.write_one(
            "UPDATE alerts SET text = '' WHERE resolved_at IS NOT NULL AND text != ''"
            " AND patient_id IN (SELECT id FROM patients WHERE deleted_at IS NOT NULL)"
            " RETURNING id",
        )
        return len(rows)

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete check-in data finished before cutoff; return how many rows went.

        Closed check-ins (their notes go with them), notes, answered or escalated safety
        questions, finished questionnaires, explainers the patient asked for, and the text of
        alerts resolved before cutoff (the alerts themselves stay). Nothing
        still open, pending or in progress, and no alert, episode or infusion. The current
        course (from the patient's latest infusion on) is kept whole, because the detector,
        the chart and the summaries compare with its start; so is each questionnaire's
        baseline (the first completed) while the patient is in follow-up, which response and
        remission are measured against; and the record of which explainers were pushed, so
        none is pushed twice.
        """
        ts = to_ts(cutoff)
        async with self._db.write() as conn:
            # Their notes first, by name, so the count does not depend on the backend
            # counting what a cascade deletes.
            gone = await conn.execute(
                f"DELETE FROM notes WHERE checkin_id IN ({_FINISHED_CHECKINS})", (*_CLOSED, ts)
            )
            gone += await conn.execute(
                f"DELETE FROM checkins WHERE id IN ({_FINISHED_CHECKINS})", (*_CLOSED, ts)
            )
            gone += await conn.execute(
                "DELETE FROM notes WHERE created_at < ?"
                f" AND created_at < {_COURSE_START.format(table='notes')}",
                (ts,),
            )
            gone += await conn.execute(
                "DELETE FROM safety_questions WHERE asked_at < ?"
                " AND (answer IS NOT NULL OR escalated_at IS NOT NULL)",
                (ts,),
            )
            gone += await conn.execute(
                "DELETE FROM questionnaire_responses WHERE status IN (?, ?)"
                " AND coalesce(completed_at, updated_at) < ?"
                " AND coalesce(completed_at, updated_at) <"
                f" {_COURSE_START.format(table='questionnaire_responses')}"
                " AND NOT (status = 'completed' AND id = (SELECT min(b.id)"
                " FROM questionnaire_responses b WHERE b.patient_id ="
                " questionnaire_responses.patient_id AND b.instrument ="
                " questionnaire_responses.instrument AND b.status = 'completed')"
                " AND (SELECT p.status FROM patients p"
                " WHERE p.id = questionnaire_responses.patient_id) != 'stopped')",
                (*_FINISHED, ts),
            )
            gone += await conn.execute(
                "DELETE FROM explainer_deliveries WHERE sent = 1 AND how = ? AND at < ?",
                (PushKind.REQUESTED, ts),
            )
            # A resolved alert's text can quote the patient's words: it goes, the alert (its
            # kind and times, for /stats and the record) stays.
            gone += await conn.execute(
                "UPDATE alerts SET text = '' WHERE resolved_at IS NOT NULL AND resolved_at < ?"
                " AND text != ''",
                (ts,),
            )
            return gone


async def _audit_deletion(
    conn: Transaction, patient_id: int, now: datetime, keep_clinical: bool
) -> None:
    """The one entry a deletion leaves: that it happened, when, and what the clinic kept."""
    await conn.execute(
        "INSERT INTO audit_log (at, actor, action, patient_id, detail) VALUES (?, ?, ?, ?, ?)",
        (
            to_ts(now),
            PATIENT_ACTOR,
            AuditAction.DELETE_DATA,
            patient_id,
            CLINICAL_KEPT if keep_clinical else CLINICAL_DELETED,
        ),
    )


async def _keep_clinical(conn: Transaction, patient_id: int, now: datetime) -> None:
    """Keep infusions and numbers under the code; end everything still open or pending."""
    await cancel_open_checkins(conn, patient_id, now)
    # Message ids only mean something in the chat that is being forgotten.
    await conn.execute("UPDATE checkins SET message_id = NULL WHERE patient_id = ?", (patient_id,))
    await conn.execute(
        "DELETE FROM questionnaire_responses WHERE patient_id = ? AND status = ?",
        (patient_id, QuestionnaireStatus.IN_PROGRESS),
    )
    # The column cannot be NULL; 0 is no chat.
    await conn.execute(
        "UPDATE questionnaire_responses SET chat_id = 0 WHERE patient_id = ?", (patient_id,)
    )


async def _forget_chat(conn: Transaction, chat_id: int | None) -> None:
    """Drop the handled updates and the queued urgent messages of the patient's chat.

    An update still being handled (this very button press) stays until the inbox's own
    purge, a day after it was handled.
    """
    if chat_id is None:
        return
    await conn.execute("DELETE FROM inbox WHERE chat_key = ? AND state != 'pending'", (chat_id,))
    await conn.execute("DELETE FROM urgent_outbox WHERE chat_id = ?", (chat_id,))
