"""Replaying a cohort CSV through the detector and the naive rule, and scoring both."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.codes import EpisodeKind
from bot.domain.detection import DetectorConfig, Episode, Observation, evaluate
from bot.research.cohort import CohortRow, RowKind, read_cohort_csv, sort_key

# Cohort days count from this moment; any fixed aware moment would do.
EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
DAYS_PER_PATIENT_MONTH = 30.0
ALERT_WINDOW_DAYS = 14.0
NAIVE_DROP = 3
# What the bot passes: the last two infusions and at most this many outcomes.
OBSERVATION_CAP = 120


@dataclass(frozen=True, slots=True)
class MethodResult:
    """How one alerting method did on a cohort."""

    name: str
    onsets: int
    detected: int
    alerts: int
    false_alerts: int
    # False alerts more than 14 days into a relapse (an onset before, no infusion since):
    # false by the definition, but not an alarm about a patient who is well.
    late_false_alerts: int
    patient_months: float
    delays: tuple[float, ...]
    delay_by_onset: dict[tuple[str, float], float]

    @property
    def sensitivity(self) -> float:
        """Return the share of relapse onsets followed by an alert within 14 days."""
        return self.detected / self.onsets if self.onsets else 0.0

    @property
    def false_alerts_per_patient_month(self) -> float:
        """Return alerts with no onset in the 14 days before them, per 30 days of follow-up."""
        return self.false_alerts / self.patient_months if self.patient_months else 0.0

    @property
    def false_alerts_while_well_per_patient_month(self) -> float:
        """Return the false alerts that are not late in a relapse, per 30 days of follow-up."""
        well = self.false_alerts - self.late_false_alerts
        return well / self.patient_months if self.patient_months else 0.0

    @property
    def median_delay_days(self) -> float:
        """Return the median days from onset to the first alert, NaN when none was detected."""
        return statistics.median(self.delays) if self.delays else float("nan")


@dataclass(frozen=True, slots=True)
class Report:
    """The detector and the naive rule side by side on one cohort."""

    patients: int
    patient_months: float
    onsets: int
    observable_onsets: int
    detector: MethodResult
    naive: MethodResult
    detector_kinds: dict[str, int]

    def paired_median_delays(self) -> tuple[int, float, float]:
        """Return how many onsets both methods detected and each method's median delay on them."""
        both = sorted(set(self.detector.delay_by_onset) & set(self.naive.delay_by_onset))
        if not both:
            return 0, float("nan"), float("nan")
        return (
            len(both),
            statistics.median(self.detector.delay_by_onset[key] for key in both),
            statistics.median(self.naive.delay_by_onset[key] for key in both),
        )


def _moment(day: float) -> datetime:
    return EPOCH + timedelta(days=day)


def _day(moment: datetime) -> float:
    return (moment - EPOCH) / timedelta(days=1)


def replay_detector(rows: Sequence[CohortRow], config: DetectorConfig) -> list[tuple[float, str]]:
    """Replay one patient's rows (time order) through `evaluate`; return (day, kind) alerts."""
    infusions: list[datetime] = []
    observations: list[Observation] = []
    episodes: list[Episode] = []
    alerts: list[tuple[float, str]] = []
    for row in rows:
        now = _moment(row.day)
        if row.kind is RowKind.INFUSION:
            infusions = [*infusions[-1:], now]
            observations = []
            episodes = []
            continue
        if row.kind is RowKind.RELAPSE_ONSET:
            continue
        observations.append(Observation(at=now, score=row.value))
        window = observations
        if len(window) > OBSERVATION_CAP:
            # Keep the first answers (they define the patient's level) and the latest outcomes.
            tail = len(window) - OBSERVATION_CAP + config.baseline_max_answers
            head = [item for item in window[:tail] if item.score is not None]
            window = [*head[: config.baseline_max_answers], *window[tail:]]
        findings, recoveries = evaluate(
            infusions=infusions, observations=window, episodes=episodes, now=now, config=config
        )
        for recovery in recoveries:
            episodes = [
                Episode(episode.kind, episode.started_at, recovery.at)
                if episode.kind == recovery.kind and episode.ended_at is None
                else episode
                for episode in episodes
            ]
        for finding in findings:
            episodes.append(Episode(finding.kind, finding.at, None))
            alerts.append((_day(finding.at), finding.kind.value))
    return alerts


def replay_naive(rows: Sequence[CohortRow]) -> list[tuple[float, str]]:
    """Alert when a score is at least 3 below the first score after an infusion, once each."""
    alerts: list[tuple[float, str]] = []
    first: int | None = None
    fired = False
    for row in rows:
        if row.kind is RowKind.INFUSION:
            first, fired = None, False
        elif row.kind is RowKind.MOOD and row.value is not None:
            if first is None:
                first = row.value
            elif not fired and row.value <= first - NAIVE_DROP:
                fired = True
                alerts.append((row.day, "naive"))
    return alerts


def _score(
    name: str,
    patients: dict[str, list[CohortRow]],
    alerts_by_patient: dict[str, list[tuple[float, str]]],
    patient_months: float,
) -> MethodResult:
    onsets = detected = alerts = false_alerts = late = 0
    delays: list[float] = []
    by_onset: dict[tuple[str, float], float] = {}
    for patient, rows in patients.items():
        truth = [row.day for row in rows if row.kind is RowKind.RELAPSE_ONSET]
        infusions = [row.day for row in rows if row.kind is RowKind.INFUSION]
        mood_alerts = [
            day for day, kind in alerts_by_patient[patient] if kind != EpisodeKind.DISENGAGEMENT
        ]
        onsets += len(truth)
        alerts += len(mood_alerts)
        for onset in truth:
            after = [day for day in mood_alerts if onset <= day <= onset + ALERT_WINDOW_DAYS]
            if after:
                detected += 1
                delays.append(min(after) - onset)
                by_onset[(patient, onset)] = min(after) - onset
        for day in mood_alerts:
            if not any(day - ALERT_WINDOW_DAYS <= onset <= day for onset in truth):
                false_alerts += 1
                late += _in_an_old_relapse(day, truth, infusions)
    return MethodResult(
        name=name,
        onsets=onsets,
        detected=detected,
        alerts=alerts,
        false_alerts=false_alerts,
        late_false_alerts=late,
        patient_months=patient_months,
        delays=tuple(delays),
        delay_by_onset=by_onset,
    )


def _in_an_old_relapse(day: float, onsets: Sequence[float], infusions: Sequence[float]) -> bool:
    """Return whether an alert comes after an onset with no infusion between them."""
    last_infusion = max((at for at in infusions if at <= day), default=-math.inf)
    return any(last_infusion < onset < day for onset in onsets)


def _observable(rows: Sequence[CohortRow]) -> int:
    """Count onsets with at least two answers in the 14 days after them."""
    answers = [row.day for row in rows if row.kind is RowKind.MOOD]
    count = 0
    for row in rows:
        if row.kind is RowKind.RELAPSE_ONSET:
            seen = sum(1 for day in answers if row.day <= day <= row.day + ALERT_WINDOW_DAYS)
            count += seen >= 2
    return count


def evaluate_rows(rows: Sequence[CohortRow], config: DetectorConfig | None = None) -> Report:
    """Replay every patient's rows through both methods and score them."""
    settings = config or DetectorConfig()
    patients: dict[str, list[CohortRow]] = {}
    for row in rows:
        patients.setdefault(row.patient, []).append(row)
    follow_up_days = 0.0
    detector_alerts: dict[str, list[tuple[float, str]]] = {}
    naive_alerts: dict[str, list[tuple[float, str]]] = {}
    kinds = {kind.value: 0 for kind in EpisodeKind}
    observable = 0
    for patient, patient_rows in patients.items():
        patient_rows.sort(key=sort_key)
        infusion_days = [row.day for row in patient_rows if row.kind is RowKind.INFUSION]
        start = infusion_days[0] if infusion_days else patient_rows[0].day
        follow_up_days += max(0.0, patient_rows[-1].day - start)
        detector_alerts[patient] = replay_detector(patient_rows, settings)
        naive_alerts[patient] = replay_naive(patient_rows)
        for _, kind in detector_alerts[patient]:
            kinds[kind] += 1
        observable += _observable(patient_rows)
    patient_months = follow_up_days / DAYS_PER_PATIENT_MONTH
    detector = _score("detector", patients, detector_alerts, patient_months)
    naive = _score("naive rule", patients, naive_alerts, patient_months)
    return Report(
        patients=len(patients),
        patient_months=patient_months,
        onsets=detector.onsets,
        observable_onsets=observable,
        detector=detector,
        naive=naive,
        detector_kinds=kinds,
    )


def evaluate_cohort(csv_path: Path, config: DetectorConfig | None = None) -> Report:
    """Read a cohort CSV and evaluate the detector against the naive rule on it."""
    return evaluate_rows(read_cohort_csv(csv_path), config)


def summary_line(result: MethodResult) -> str:
    """Return the machine-readable `sensitivity=... false_alerts_per_patient_month=...` line."""
    return (
        f"sensitivity={result.sensitivity:.3f}"
        f" false_alerts_per_patient_month={result.false_alerts_per_patient_month:.3f}"
        f" median_delay_days={result.median_delay_days:.3f}"
    )


def format_report(report: Report) -> str:
    """Return the side-by-side table; its last line is the detector's summary line."""
    lines = [
        f"patients={report.patients} patient_months={report.patient_months:.1f}"
        f" relapse_onsets={report.onsets}"
        f" (observable: {report.observable_onsets} with >= 2 answers in the 14 days after)",
        "",
        f"{'method':<12}{'sensitivity':>12}{'false/pt-month':>16}{'median delay d':>16}"
        f"{'mood alerts':>13}{'false':>7}",
    ]
    for result in (report.detector, report.naive):
        lines.append(
            f"{result.name:<12}{result.sensitivity:>12.3f}"
            f"{result.false_alerts_per_patient_month:>16.3f}{result.median_delay_days:>16.3f}"
            f"{result.alerts:>13}{result.false_alerts:>7}"
        )
    paired, detector_delay, naive_delay = report.paired_median_delays()
    kinds = " ".join(f"{kind}={count}" for kind, count in report.detector_kinds.items())
    lines.extend(
        [
            "",
            f"median delay on the {paired} onsets both detected:"
            f" detector {detector_delay:.3f}, naive rule {naive_delay:.3f} days",
            *(
                f"{result.name} false alerts:"
                f" {result.false_alerts - result.late_false_alerts} while the patient was well"
                f" ({result.false_alerts_while_well_per_patient_month:.3f}/pt-month),"
                f" {result.late_false_alerts} more than 14 days into a relapse"
                for result in (report.detector, report.naive)
            ),
            f"detector alerts by kind: {kinds}",
            summary_line(report.detector),
        ]
    )
    return "\n".join(lines)
