"""Runs the detector over a patient's recent check-ins and turns findings into staff alerts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.domain.adaptive import AdaptiveConfig, plan_extra_checkin
from bot.domain.clock import Clock
from bot.domain.codes import EpisodeEndReason, EpisodeKind, PatientStatus
from bot.domain.detection import (
    DetectorConfig,
    Finding,
    Level,
    Observation,
    Recovery,
)
from bot.domain.entities import Alert, Checkin, EpisodeRecord, MoodPoint, Outcome, Patient
from bot.domain.protocol import parse_hhmm
from bot.services.alerts import AlertService
from bot.services.levels import assess_inputs, detector_inputs
from bot.services.ports import Wording
from storage import Storage

log = logging.getLogger(__name__)

LAST_SCORES = 6

EpisodeListener = Callable[[Patient, EpisodeKind, Alert], Awaitable[None]]


class TrendService:
    """Opens an episode (one alert) per finding, and ends episodes that recovered."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        alerts: AlertService,
        wording: Wording,
        config: DetectorConfig,
        adaptive: AdaptiveConfig | None = None,
        default_time: time = time(9, 0),
        on_episode: Sequence[EpisodeListener] = (),
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._alerts = alerts
        self._wording = wording
        self._config = config
        self._adaptive = adaptive or AdaptiveConfig(enabled=False)
        self._default_time = default_time
        self._listeners = tuple(on_episode)

    async def review(self, patient: Patient) -> list[Alert]:
        """Evaluate one patient now; return the alerts this opened."""
        opened, _level = await self._review(patient)
        return opened

    async def after_answer(self, checkin: Checkin) -> list[Alert]:
        """Review a patient after a stored answer, and plan the adaptive check-in if it asks.

        One extra check-in the next day, at the patient's time, after an answer markedly
        below their own level (the protocol's `[adaptive]` rule).
        """
        patient = await self._storage.patients.get(checkin.patient_id)
        if patient is None:
            return []
        opened, level = await self._review(patient)
        if patient.status is PatientStatus.ACTIVE:
            await self._plan_extra(patient, checkin, level)
        return opened

    async def _plan_extra(self, patient: Patient, checkin: Checkin, level: Level | None) -> None:
        infusion = await self._storage.infusions.latest(patient.id)
        if infusion is None or checkin.score is None or checkin.answered_at is None:
            return
        now = self._clock.now()
        pending = await self._storage.checkins.adaptive_open(patient.id)
        due = plan_extra_checkin(
            answer=Observation(at=checkin.answered_at, score=checkin.score),
            level=level,
            next_planned=await self._storage.checkins.next_planned_due(patient.id, after=now),
            zone=ZoneInfo(patient.timezone),
            checkin_time=parse_hhmm(patient.checkin_time or "") or self._default_time,
            extra_pending=pending is not None,
            now=now,
            config=self._adaptive,
        )
        if due is None:
            return
        planned = await self._storage.checkins.plan_adaptive(
            patient.id, due_at=due, infusion_id=infusion.id
        )
        if planned is not None:
            log.info("checkin.adaptive_planned code=%s checkin=%d", patient.code, planned.id)

    async def _review(self, patient: Patient) -> tuple[list[Alert], Level | None]:
        inputs = await detector_inputs(self._storage, patient.id, self._config)
        if inputs is None:
            return [], None
        assessed = assess_inputs(inputs, now=self._clock.now(), config=self._config)
        await self._end_recovered(patient, inputs.episodes, assessed.recoveries)
        opened = await self._open(
            patient, assessed.findings, inputs.last_infusion, _last_scores(inputs.outcomes)
        )
        if opened:
            self._alerts.deliver_soon()
        return opened, assessed.level

    async def _end_recovered(
        self, patient: Patient, tracked: Sequence[EpisodeRecord], recoveries: Sequence[Recovery]
    ) -> None:
        for recovery in recoveries:
            for episode in tracked:
                if episode.kind is recovery.kind and episode.ended_at is None:
                    # Recorded at the answer that ended it, as the detector's contract says.
                    await self._storage.episodes.end(
                        episode.id, reason=EpisodeEndReason.RECOVERED, now=recovery.at
                    )
                    log.info("episode.recovered code=%s kind=%s", patient.code, episode.kind)

    async def _open(
        self,
        patient: Patient,
        findings: Sequence[Finding],
        last_infusion: datetime,
        last_scores: Sequence[MoodPoint],
    ) -> list[Alert]:
        opened: list[Alert] = []
        for finding in findings:
            kind = finding.kind
            explanation = self._wording.explanation(finding)
            text = self._wording.episode_alert(
                patient,
                finding,
                explanation=explanation,
                last_infusion=last_infusion,
                last_scores=last_scores,
                now=self._clock.now(),
            )
            alert = await self._alerts.open_episode(
                patient,
                kind=kind,
                since=finding.since,
                explanation=explanation,
                text=text,
                detected_at=finding.at,
            )
            if alert is None:
                continue
            opened.append(alert)
            for listener in self._listeners:
                try:
                    await listener(patient, kind, alert)
                except Exception:
                    log.exception("episode.listener_failed code=%s", patient.code)
        return opened

    async def review_patient(self, patient_id: int) -> list[Alert]:
        """Evaluate one patient by id."""
        patient = await self._storage.patients.get(patient_id)
        return [] if patient is None else await self.review(patient)

    async def review_recent_misses(self, since: datetime) -> int:
        """Review every patient with a check-in closed as missed since a moment."""
        return await self.review_many(await self._storage.answers.patients_with_misses(since))

    async def review_many(self, patient_ids: Iterable[int]) -> int:
        """Evaluate several patients (after a dispatcher pass closed missed check-ins)."""
        opened = 0
        for patient_id in sorted(set(patient_ids)):
            opened += len(await self.review_patient(patient_id))
        return opened


def _last_scores(outcomes: Sequence[Outcome]) -> list[MoodPoint]:
    scores = [MoodPoint(at=o.at, score=o.score) for o in outcomes if o.score is not None]
    return scores[-LAST_SCORES:]
