"""Runs the detector over a patient's recent check-ins and turns findings into staff alerts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from bot.domain.clock import Clock
from bot.domain.detection import DetectorConfig, Episode, FindingKind, Observation, evaluate
from bot.domain.entities import Alert, MoodPoint, Patient
from bot.services.alerts import AlertService
from bot.services.staff import StaffService
from storage import Storage

log = logging.getLogger(__name__)

# The detector reads at most this many outcomes since the last infusion: its cost does not
# grow with a patient's history (the default plan has 35 check-ins per infusion).
WINDOW = 120
LAST_SCORES = 6
KINDS = frozenset(kind.value for kind in FindingKind)

EpisodeListener = Callable[[Patient, FindingKind, Alert], Awaitable[None]]


class TrendService:
    """Opens an episode (one alert) per finding, and ends episodes that recovered."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        alerts: AlertService,
        staff: StaffService,
        config: DetectorConfig,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._alerts = alerts
        self._staff = staff
        self._config = config
        self._listeners: list[EpisodeListener] = []

    def on_episode(self, listener: EpisodeListener) -> None:
        """Call listener whenever an episode opens (e.g. to tell the patient fading is common)."""
        self._listeners.append(listener)

    async def review(self, patient: Patient) -> list[Alert]:
        """Evaluate one patient now; return the alerts this opened."""
        infusions = await self._storage.infusions.recent(patient.id, limit=2)
        if not infusions:
            return []
        last = infusions[-1].given_at
        outcomes = await self._storage.checkins.outcomes(
            patient.id,
            since=last,
            limit=WINDOW,
            first_answers=self._config.baseline_max_answers,
        )
        stored = await self._storage.alerts.episodes_since(patient.id, last)
        tracked = [e for e in stored if e.kind in KINDS]
        findings, recoveries = evaluate(
            infusions=[i.given_at for i in infusions],
            observations=[Observation(at=o.at, score=o.score) for o in outcomes],
            episodes=[
                Episode(kind=FindingKind(e.kind), started_at=e.detected_at, ended_at=e.ended_at)
                for e in tracked
            ],
            now=self._clock.now(),
            config=self._config,
        )
        for recovery in recoveries:
            for episode in tracked:
                if episode.kind == recovery.kind.value and episode.ended_at is None:
                    # Recorded at the answer that ended it, as the detector's contract says.
                    await self._storage.alerts.end_episode(
                        episode.id, reason="recovered", now=recovery.at
                    )
                    log.info("episode.recovered code=%s kind=%s", patient.code, episode.kind)
        last_scores = [MoodPoint(at=o.at, score=o.score) for o in outcomes if o.score is not None][
            -LAST_SCORES:
        ]
        opened: list[Alert] = []
        for finding in findings:
            text = self._staff.episode_alert_text(
                patient,
                kind=finding.kind.value,
                explanation=finding.explanation,
                since=finding.since,
                last_infusion=last,
                last_scores=last_scores,
            )
            alert = await self._alerts.open_episode(
                patient,
                kind=finding.kind.value,
                since=finding.since,
                explanation=finding.explanation,
                text=text,
                detected_at=finding.at,
            )
            if alert is None:
                continue
            opened.append(alert)
            for listener in self._listeners:
                try:
                    await listener(patient, finding.kind, alert)
                except Exception:
                    log.exception("episode.listener_failed code=%s", patient.code)
        if opened:
            self._alerts.deliver_soon()
        return opened

    async def review_patient(self, patient_id: int) -> list[Alert]:
        """Evaluate one patient by id."""
        patient = await self._storage.patients.get(patient_id)
        return [] if patient is None else await self.review(patient)

    async def review_patient_quietly(self, patient_id: int) -> None:
        """Evaluate one patient by id, for use as an answer listener."""
        await self.review_patient(patient_id)

    async def review_recent_misses(self, since: datetime) -> int:
        """Review every patient with a check-in closed as missed since a moment."""
        return await self.review_many(await self._storage.checkins.patients_with_misses(since))

    async def review_many(self, patient_ids: Iterable[int]) -> int:
        """Evaluate several patients (after a dispatcher pass closed missed check-ins)."""
        opened = 0
        for patient_id in sorted(set(patient_ids)):
            opened += len(await self.review_patient(patient_id))
        return opened
