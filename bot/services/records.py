"""A patient's own copy of their data (/mydata) and the clinic's export (/export <code>)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.clock import Clock
from bot.domain.codes import AuditAction, PatientStatus
from bot.domain.entities import Patient
from bot.domain.errors import InputError, InputProblem
from bot.domain.history import History, history_of
from bot.domain.questionnaires import Questionnaire
from bot.domain.record import PatientRecord
from bot.services.exports import fhir_bundle, record_csv
from bot.services.ports import HistoryRenderer
from storage import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file to send: its name and its bytes."""

    name: str
    data: bytes


class RecordService:
    """Reads a patient's whole record and writes it as CSV and as a FHIR R4 Bundle."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        timezone: ZoneInfo,
        questionnaires: Mapping[str, Questionnaire],
        charts: HistoryRenderer,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._timezone = timezone
        self._questionnaires = dict(questionnaires)
        self._charts = charts

    async def history(self, *, user_id: int) -> tuple[History, bytes | None, ZoneInfo] | None:
        """Return the patient's history, its chart (None: nothing to draw) and their time
        zone; None for someone with no record."""
        record = await self._own_record(user_id)
        if record is None:
            return None
        zone = self._zone(record)
        history = history_of(record, now=self._clock.now())
        if history.empty:
            return history, None, zone
        chart = await asyncio.to_thread(self._charts.history_chart, history, tz=zone)
        return history, chart, zone

    def _zone(self, record: PatientRecord) -> ZoneInfo:
        """The patient's own time zone (what they read is in their local time)."""
        try:
            return ZoneInfo(record.patient.timezone)
        except (ValueError, ZoneInfoNotFoundError):
            return self._timezone

    async def _own_record(self, user_id: int) -> PatientRecord | None:
        patient = await self._storage.patients.by_user(user_id)
        if patient is None or patient.status in (
            PatientStatus.INVITED,
            PatientStatus.CONSENT_PENDING,
        ):
            return None
        return await self._storage.records.of(patient.id)

    async def own_copy(self, *, user_id: int) -> ExportFile | None:
        """Return the CSV of everything stored about the patient writing; None for others."""
        record = await self._own_record(user_id)
        if record is None:
            return None
        log.info("record.own_copy code=%s", record.patient.code)
        stamp = self._clock.now().astimezone(self._timezone).strftime("%Y-%m-%d")
        return ExportFile(
            f"afterglow-my-data-{stamp}.csv",
            record_csv(record, timezone=self._zone(record), questionnaires=self._questionnaires),
        )

    async def export(self, patient: Patient, *, staff_id: int) -> tuple[ExportFile, ExportFile]:
        """Return the CSV and the FHIR Bundle of one patient, and audit the export."""
        record = await self._storage.records.of(patient.id)
        if record is None:
            raise InputError(InputProblem.NO_SUCH_PATIENT, patient.code)
        now = self._clock.now()
        await self._storage.clinic.audit(
            actor=staff_id,
            action=AuditAction.EXPORT,
            now=now,
            patient_id=patient.id,
            detail=None,
        )
        log.info("record.exported code=%s", patient.code)
        stamp = now.astimezone(self._timezone).strftime("%Y-%m-%d")
        bundle = fhir_bundle(record, self._questionnaires, exported_at=now)
        return (
            ExportFile(
                f"{patient.code}-{stamp}.csv",
                record_csv(record, timezone=self._timezone, questionnaires=self._questionnaires),
            ),
            ExportFile(
                f"{patient.code}-{stamp}.fhir.json",
                json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8"),
            ),
        )
