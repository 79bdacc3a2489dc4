"""Infusions, the check-in plan, and the patient's control over it."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.codes import AuditAction, PatientStatus
from bot.domain.entities import Infusion, Patient, PatientOverview
from bot.domain.errors import InputError, InputProblem
from bot.domain.plan import local_due, plan_checkins
from bot.domain.protocol import Protocol, parse_hhmm
from bot.services.enrolment import normalise_code
from bot.services.silence import SilenceService
from storage import Storage

log = logging.getLogger(__name__)

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
MAX_BACKDATE = timedelta(days=365)
FUTURE_SLACK = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class InfusionRequest:
    """A parsed /infusion command."""

    code: str
    given_at: datetime


@dataclass(frozen=True, slots=True)
class RecordedInfusion:
    """What recording an infusion did."""

    patient: Patient
    infusion: Infusion
    planned: int
    first_due: datetime | None
    # A later infusion already recorded: this one is history, that one's plan stays.
    newer: Infusion | None = None


def parse_infusion_args(args: Sequence[str], *, tz: ZoneInfo, now: datetime) -> InfusionRequest:
    """Parse '<code> [YYYY-MM-DD [HH:MM]]' given in the clinic's zone; default time is now."""
    if not 1 <= len(args) <= 3:
        raise InputError(InputProblem.INFUSION_USAGE)
    code = normalise_code(args[0])
    if len(args) == 1:
        return InfusionRequest(code=code, given_at=now)
    match = _DATE.fullmatch(args[1])
    if match is None:
        raise InputError(InputProblem.NOT_A_DATE, args[1][:20])
    try:
        day = datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise InputError(InputProblem.NOT_A_REAL_DATE, args[1][:20]) from None
    # Checked on the calendar first: a date near year 1 or 9999 cannot even be converted.
    today = now.astimezone(tz).date()
    if day.date() < today - MAX_BACKDATE - timedelta(days=1):
        raise InputError(InputProblem.TOO_LONG_AGO)
    if day.date() > today + timedelta(days=1):
        raise InputError(InputProblem.IN_THE_FUTURE)
    at = time(12, 0)
    if len(args) == 3:
        parsed = parse_hhmm(args[2])
        if parsed is None:
            raise InputError(InputProblem.NOT_A_TIME, args[2][:20])
        at = parsed
    elif day.date() == now.astimezone(tz).date():
        at = now.astimezone(tz).time().replace(second=0, microsecond=0)
    given_at = datetime.combine(day.date(), at, tzinfo=tz).astimezone(UTC)
    if given_at > now + FUTURE_SLACK:
        raise InputError(InputProblem.IN_THE_FUTURE)
    if given_at < now - MAX_BACKDATE:
        raise InputError(InputProblem.TOO_LONG_AGO)
    return InfusionRequest(code=code, given_at=given_at)


class CareService:
    """Records infusions, plans check-ins and applies patients' own choices about them."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        protocol: Protocol,
        timezone: ZoneInfo,
        silence: SilenceService,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._silence = silence
        self._protocol = protocol
        self._timezone = timezone

    @property
    def clinic_timezone(self) -> ZoneInfo:
        """Return the clinic's time zone."""
        return self._timezone

    def _patient_time(self, patient: Patient) -> time:
        if patient.checkin_time:
            parsed = parse_hhmm(patient.checkin_time)
            if parsed is not None:
                return parsed
        return self._protocol.default_time

    async def record_infusion(
        self, *, args: Sequence[str], staff_id: int, update_id: int | None
    ) -> RecordedInfusion | None:
        """Record an infusion from /infusion arguments and plan its check-ins."""
        now = self._clock.now()
        request = parse_infusion_args(args, tz=self._timezone, now=now)
        patient = await self._storage.patients.by_code(request.code)
        if patient is None:
            raise InputError(InputProblem.NO_SUCH_PATIENT, request.code)
        if patient.deleted_at is not None:
            raise InputError(InputProblem.PATIENT_DELETED, request.code)
        plan = plan_checkins(
            request.given_at,
            days=self._protocol.days,
            at=self._patient_time(patient),
            tz=ZoneInfo(patient.timezone),
            not_before=now,
        )
        recorded = await self._storage.infusions.record(
            patient_id=patient.id,
            given_at=request.given_at,
            now=now,
            recorded_by=staff_id,
            update_id=update_id,
            plan=plan,
        )
        if recorded is None:
            return None
        infusion, newer = recorded
        if newer is not None:
            plan = []
        await self._storage.clinic.audit(
            actor=staff_id,
            action=AuditAction.INFUSION,
            now=now,
            patient_id=patient.id,
            detail=f"given {request.given_at.isoformat()}",
        )
        log.info("infusion.recorded code=%s planned=%d", patient.code, len(plan))
        return RecordedInfusion(
            patient=patient,
            infusion=infusion,
            planned=len(plan),
            first_due=plan[0].due_at if plan else None,
            newer=newer,
        )

    def time_choices(self) -> tuple[time, ...]:
        """Return the check-in times patients are offered."""
        return self._protocol.time_choices

    async def change_time(self, patient: Patient, raw: str) -> tuple[str, int]:
        """Set the patient's preferred local time and move pending check-ins to it."""
        at = parse_hhmm(raw)
        if at is None:
            raise InputError(InputProblem.NOT_A_TIME, raw[:20])
        hhmm = at.strftime("%H:%M")
        tz = ZoneInfo(patient.timezone)
        now = self._clock.now()
        changes: list[tuple[int, datetime]] = []
        for checkin, infusion_at in await self._storage.checkins.pending_planned(patient.id):
            if checkin.day is None:
                continue
            due = local_due(infusion_at, checkin.day, at, tz)
            # Today's check-in moved to a time already past goes out now rather than
            # being recorded as missed through no fault of the patient.
            changes.append((checkin.id, max(due, now)))
        moved = await self._storage.patients.change_checkin_time(patient.id, hhmm, changes)
        log.info("patient.time_changed code=%s moved=%d", patient.code, moved)
        return hhmm, moved

    async def pause(self, patient: Patient) -> Patient | None:
        """Pause check-ins; None if they were not running."""
        return await self._set(patient, PatientStatus.PAUSED, {PatientStatus.ACTIVE})

    async def resume(self, patient: Patient) -> Patient | None:
        """Resume paused check-ins; None if they were not paused. The staff are told."""
        resumed = await self._set(patient, PatientStatus.ACTIVE, {PatientStatus.PAUSED})
        if resumed is not None:
            await self._silence.came_back(patient, resumed)
        return resumed

    async def reactivate(self, patient: Patient) -> Patient | None:
        """Mark an unreachable patient who wrote to the bot again as active; staff are told."""
        back = await self._set(patient, PatientStatus.ACTIVE, {PatientStatus.UNREACHABLE})
        if back is not None:
            await self._silence.came_back(patient, back)
        return back

    async def stop(self, patient: Patient) -> Patient | None:
        """Stop all messages and cancel what is pending; None if already stopped.

        The staff are told: stopping can be a sign of a relapse.
        """
        stopped = await self._stop(patient)
        if stopped is not None:
            await self._silence.stopped(stopped)
        return stopped

    async def _stop(self, patient: Patient) -> Patient | None:
        return await self._set(
            patient,
            PatientStatus.STOPPED,
            {
                PatientStatus.ACTIVE,
                PatientStatus.PAUSED,
                PatientStatus.CONSENT_PENDING,
                PatientStatus.UNREACHABLE,
            },
        )

    async def _set(
        self, patient: Patient, status: PatientStatus, only_from: set[PatientStatus]
    ) -> Patient | None:
        updated = await self._storage.patients.set_status(
            patient.id, status, now=self._clock.now(), only_from=only_from
        )
        if updated is not None:
            log.info("patient.status code=%s status=%s", patient.code, status.value)
        return updated

    async def overview(self) -> list[PatientOverview]:
        """Return the staff's list of patients."""
        return await self._storage.patients.overview()
