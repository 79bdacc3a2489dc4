"""Replaying a cohort CSV through the detector and the naive rule, and scoring both."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.domain.adaptive import AdaptiveConfig
from bot.domain.codes import EpisodeKind
from bot.domain.detection import DetectorConfig
from bot.research.cohort_format import OFFERED, CohortRow, RowKind, read_cohort_csv, sort_key
from bot.research.replay import replay_detector, replay_naive
from bot.research.timing import TimingResult, format_timing, score_timing

DAYS_PER_PATIENT_MONTH = 30.0
ALERT_WINDOW_DAYS = 14.0


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
    planned_prompts: int = 0
    extra_prompts: int = 0
    timing: TimingResult | None = None

    @property
    def extra_checkin_share(self) -> float:
        """Return the adaptive extra check-ins sent per planned check-in."""
        return self.extra_prompts / self.planned_prompts if self.planned_prompts else 0.0

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


def evaluate_rows(
    rows: Sequence[CohortRow],
    config: DetectorConfig | None = None,
    adaptive: AdaptiveConfig | None = None,
) -> Report:
    """Replay every patient's rows through both methods and score them.

    `adaptive` is the check-in policy the replay follows (the default `[adaptive]` table when
    None); it uses offered rows only, so a cohort without them replays the plan alone.
    """
    settings = config or DetectorConfig()
    policy = adaptive if adaptive is not None else AdaptiveConfig()
    patients: dict[str, list[CohortRow]] = {}
    for row in rows:
        patients.setdefault(row.patient, []).append(row)
    follow_up_days = 0.0
    detector_alerts: dict[str, list[tuple[float, str]]] = {}
    naive_alerts: dict[str, list[tuple[float, str]]] = {}
    kinds = {kind.value: 0 for kind in EpisodeKind}
    observable = planned = extra = 0
    declines: list[tuple[Sequence[CohortRow], Sequence[tuple[float, float]]]] = []
    for patient, patient_rows in patients.items():
        patient_rows.sort(key=sort_key)
        follow_up_days += _follow_up_days(patient_rows)
        replayed = replay_detector(patient_rows, settings, policy)
        detector_alerts[patient] = replayed.alerts
        declines.append((patient_rows, replayed.declines))
        planned += replayed.planned_prompts
        extra += replayed.extra_prompts
        naive_alerts[patient] = replay_naive(patient_rows)
        for _, kind in replayed.alerts:
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
        planned_prompts=planned,
        extra_prompts=extra,
        timing=score_timing(declines),
    )


def _follow_up_days(rows: Sequence[CohortRow]) -> float:
    """Return the days from the first infusion to the last row that is not an offered one."""
    kept = [row for row in rows if row.kind not in OFFERED]
    if not kept:
        return 0.0
    infusion_days = [row.day for row in kept if row.kind is RowKind.INFUSION]
    start = infusion_days[0] if infusion_days else kept[0].day
    return max(0.0, kept[-1].day - start)


def evaluate_cohort(
    csv_path: Path, config: DetectorConfig | None = None, adaptive: AdaptiveConfig | None = None
) -> Report:
    """Read a cohort CSV and evaluate the detector against the naive rule on it."""
    return evaluate_rows(read_cohort_csv(csv_path), config, adaptive)


def summary_line(report: Report) -> str:
    """Return the machine-readable last line: sensitivity, false alerts, delay, extra share."""
    result = report.detector
    return (
        f"sensitivity={result.sensitivity:.3f}"
        f" false_alerts_per_patient_month={result.false_alerts_per_patient_month:.3f}"
        f" median_delay_days={result.median_delay_days:.3f}"
        f" extra_checkin_share={report.extra_checkin_share:.3f}"
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
            f"check-ins: {report.planned_prompts} planned, {report.extra_prompts} extra"
            " (adaptive, the day after a markedly low answer)",
            *([format_timing(report.timing)] if report.timing is not None else []),
            summary_line(report),
        ]
    )
    return "\n".join(lines)
