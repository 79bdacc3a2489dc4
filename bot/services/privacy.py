"""Data rights: a patient deletes their data; check-in data older than the retention goes.

Deleting removes the patient's words, answers, safety answers, explainer deliveries and
Telegram identity (and, unless the clinic keeps its clinical record, their infusions and
scores), ends everything pending so nothing reaches them again, keeps one audit entry, and
tells the staff chat once, by code. The person is a stranger to the bot from then on.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.clock import Clock
from bot.domain.entities import Patient
from bot.services.questions import QuestionService
from bot.services.silence import SilenceService
from storage import Storage

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(days=1)
MIN_RETENTION_DAYS = 30


class DeleteOutcome(StrEnum):
    """Result of a confirmed deletion."""

    DELETED = "deleted"
    # The presser has no patient record (never had one, or already deleted it).
    NOT_A_PATIENT = "not_a_patient"
    # The button was offered for another record than the presser's current one.
    OUT_OF_DATE = "out_of_date"


class PrivacyService:
    """Deletion at the patient's request and the retention purge."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        silence: SilenceService,
        questions: QuestionService,
        retention_days: int | None,
        delete_clinical_record: bool,
    ) -> None:
        if retention_days is not None and retention_days < MIN_RETENTION_DAYS:
            raise ValueError(f"retention must be at least {MIN_RETENTION_DAYS} days")
        self._storage = storage
        self._clock = clock
        self._silence = silence
        self._questions = questions
        self._retention = None if retention_days is None else timedelta(days=retention_days)
        self._keep_clinical = not delete_clinical_record
        self._last_purge: datetime | None = None

    @property
    def retention_days(self) -> int | None:
        """Return how many days check-in data is kept (None: for ever)."""
        return None if self._retention is None else self._retention.days

    @property
    def keeps_clinical_record(self) -> bool:
        """Tell whether a deletion keeps infusions and scores under the code."""
        return self._keep_clinical

    async def patient_for(self, user_id: int) -> Patient | None:
        """Return the record a Telegram user could delete (any bound record)."""
        return await self._storage.patients.by_user(user_id)

    async def delete(self, *, user_id: int, patient_id: int) -> DeleteOutcome:
        """Delete the presser's data, if the confirmed button names their current record."""
        patient = await self._storage.patients.by_user(user_id)
        if patient is None:
            return DeleteOutcome.NOT_A_PATIENT
        if patient.id != patient_id:
            log.info("patient.delete_refused code=%s reason=out_of_date", patient.code)
            return DeleteOutcome.OUT_OF_DATE
        # A safety question still waiting for an answer becomes an alert someone must
        # acknowledge now: the person is about to become unreachable through the bot.
        await self._questions.escalate_open(patient.id)
        now = self._clock.now()
        deleted = await self._storage.privacy.erase(
            patient.id,
            now=now,
            keep_clinical=self._keep_clinical,
            notice=self._silence.deletion_notice(replace(patient, label=None), now),
        )
        if deleted is None:
            return DeleteOutcome.NOT_A_PATIENT
        log.info(
            "patient.deleted code=%s clinical_kept=%s", deleted.code, int(self._keep_clinical)
        )
        self._silence.deletion_stored()
        return DeleteOutcome.DELETED

    async def purge(self) -> int:
        """Delete finished check-in data older than the retention, at most once a day.

        Every pass also clears the words of resolved alerts about deleted patients.
        """
        forgotten = await self._storage.privacy.forget_deleted_alerts()
        if forgotten:
            log.info("privacy.alert_texts_cleared count=%d", forgotten)
        if self._retention is None:
            return forgotten
        now = self._clock.now()
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY:
            return 0
        removed = await self._storage.privacy.purge_older_than(now - self._retention)
        self._last_purge = now
        if removed:
            log.info("retention.purged count=%d", removed)
        return removed
