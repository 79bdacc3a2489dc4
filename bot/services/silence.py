"""Silence is a signal: a patient who stops, blocks the bot, stays paused or never joins.

Each such event is told to the staff chat once (the alert's event key is unique), with the
code, the last score and when, and what happened; like every alert it is stored before it
is sent and retried until delivered. A patient who comes back after a pause or after being
unreachable is told too, and so is a patient who deleted their data (code only: by then
there is nothing else to tell).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain.clock import Clock
from bot.domain.codes import AlertKind, PatientStatus
from bot.domain.entities import NewAlert, Patient
from bot.services.alerts import AlertService
from bot.services.ports import Wording
from storage import Storage

log = logging.getLogger(__name__)


class SilenceService:
    """Tells the care team when a patient goes quiet, and when they come back."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        alerts: AlertService,
        wording: Wording,
        pause_alert_after: timedelta,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._alerts = alerts
        self._wording = wording
        self._pause_alert_after = pause_alert_after

    async def stopped(self, patient: Patient) -> None:
        """The patient stopped all messages."""
        await self._tell(patient, AlertKind.STOPPED, since=patient.status_changed_at)

    def deletion_notice(self, patient: Patient, now: datetime) -> NewAlert:
        """Return the staff's one notice that a patient deleted their data, by code only.

        It is stored in the deletion's own transaction, so the deletion cannot happen
        without the staff being told.
        """
        text = self._wording.silence(
            patient, AlertKind.DELETED, last_answer=None, away_since=None, was=None, now=now
        )
        return NewAlert(
            kind=AlertKind.DELETED,
            text=text,
            remind_after=None,
            event_key=f"{AlertKind.DELETED.value}:{patient.id}:{int(now.timestamp())}",
        )

    def deletion_stored(self) -> None:
        """Send the deletion notice now that it is stored (in the background)."""
        self._alerts.deliver_soon()

    async def unreachable(self, patient_id: int) -> None:
        """The patient blocked the bot (or their chat is gone)."""
        patient = await self._storage.patients.get(patient_id)
        if patient is not None and patient.status is PatientStatus.UNREACHABLE:
            await self._tell(patient, AlertKind.UNREACHABLE, since=patient.status_changed_at)

    async def came_back(self, before: Patient, now_active: Patient) -> None:
        """A patient who was paused or unreachable is active again."""
        if before.status not in {PatientStatus.PAUSED, PatientStatus.UNREACHABLE}:
            return
        await self._tell(
            now_active,
            AlertKind.BACK,
            since=now_active.status_changed_at,
            away_since=before.status_changed_at,
            was=before.status,
        )

    async def check(self) -> int:
        """Tell the staff about long pauses and invitations that expired unused."""
        now = self._clock.now()
        told = 0
        for patient in await self._storage.silence.paused_since_before(
            now - self._pause_alert_after
        ):
            told += await self._tell(
                patient, AlertKind.PAUSED_LONG, since=patient.status_changed_at
            )
        for patient in await self._storage.silence.invitations_expired(now):
            told += await self._tell(patient, AlertKind.INVITE_EXPIRED, since=None)
        return told

    async def _tell(
        self,
        patient: Patient,
        kind: AlertKind,
        *,
        since: datetime | None,
        away_since: datetime | None = None,
        was: PatientStatus | None = None,
    ) -> int:
        # A deletion is told by code only, even when the clinic keeps the scores.
        last = (
            None
            if kind is AlertKind.DELETED
            else await self._storage.silence.last_answer(patient.id)
        )
        text = self._wording.silence(
            patient, kind, last_answer=last, away_since=away_since, was=was, now=self._clock.now()
        )
        key = f"{kind.value}:{patient.id}:{int(since.timestamp()) if since else 0}"
        alert = await self._alerts.raise_plain(
            patient, kind=kind, text=text, remind_after=None, event_key=key
        )
        if alert is None:
            return 0
        log.info("silence.told code=%s kind=%s", patient.code, kind)
        return 1
