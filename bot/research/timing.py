"""How often a patient's own relapse timing suggests the next infusion before the next onset.

For every infusion of every patient, the estimate (`relapse_timing`) is made from what the
bot would know at that infusion: the earlier infusions and the declines the detector found
before it (replayed as the bot would, adaptive check-in included). When the estimate exists
and the interval that infusion opens has a relapse onset, the suggestion counts as in time
when its date is not after the onset. Two fixed rules are scored on the same intervals for
comparison: the population's 18.5 days (Phillips et al. 2019) minus the same lead, and one
fixed day equal to the median of the personal suggestions (as early on average, no
personal information). The synthetic cohort draws every interval's relapse time afresh, with
no patient-specific timing, so on it the personal estimate cannot beat the second.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.domain.adaptive import AdaptiveConfig
from bot.domain.detection import RELAPSE_LEAD_DAYS, DetectorConfig, relapse_timing
from bot.research.cohort_format import CohortRow, RowKind, sort_key
from bot.research.replay import cohort_day, moment, replay_detector

POPULATION_DAYS = 18.5


@dataclass(frozen=True, slots=True)
class TimingResult:
    """The measurement: intervals scored, how many suggestions came in time, and by how much."""

    intervals: int
    in_time: int
    fixed_in_time: int
    matched_in_time: int
    """In time with one fixed day after every infusion, the median personal suggestion."""
    matched_day: float
    leads: tuple[float, ...]
    """Days from each in-time suggestion to the onset."""
    usual_errors: tuple[float, ...]
    """Estimated usual days minus the actual days from the infusion to the onset."""

    @property
    def share(self) -> float:
        """Return the share of scored intervals whose suggestion came before the onset."""
        return self.in_time / self.intervals if self.intervals else 0.0

    @property
    def fixed_share(self) -> float:
        """Return the same share for the fixed population rule."""
        return self.fixed_in_time / self.intervals if self.intervals else 0.0

    @property
    def matched_share(self) -> float:
        """Return the same share for the fixed rule as early as the personal one on average."""
        return self.matched_in_time / self.intervals if self.intervals else 0.0


def measure_timing(
    rows: Sequence[CohortRow],
    config: DetectorConfig,
    adaptive: AdaptiveConfig,
    *,
    lead_days: float = RELAPSE_LEAD_DAYS,
    use_since: bool = True,
) -> TimingResult:
    """Replay every patient of a cohort and score the relapse-timing suggestion."""
    patients: dict[str, list[CohortRow]] = {}
    for row in rows:
        patients.setdefault(row.patient, []).append(row)
    replayed = []
    for patient_rows in patients.values():
        patient_rows.sort(key=sort_key)
        replayed.append((patient_rows, replay_detector(patient_rows, config, adaptive).declines))
    return score_timing(replayed, lead_days=lead_days, use_since=use_since)


def score_timing(
    replayed: Iterable[tuple[Sequence[CohortRow], Sequence[tuple[float, float]]]],
    *,
    lead_days: float = RELAPSE_LEAD_DAYS,
    use_since: bool = True,
) -> TimingResult:
    """Score the suggestion from each patient's rows and (found, since) decline days."""
    in_time = fixed = 0
    leads: list[float] = []
    errors: list[float] = []
    offsets: list[tuple[float, float]] = []
    for patient_rows, declines in replayed:
        starts = [since if use_since else found for found, since in declines]
        infusions = [row.day for row in patient_rows if row.kind is RowKind.INFUSION]
        onsets = [row.day for row in patient_rows if row.kind is RowKind.RELAPSE_ONSET]
        for index, infusion in enumerate(infusions):
            following = infusions[index + 1] if index + 1 < len(infusions) else math.inf
            onset = next((day for day in onsets if infusion < day < following), None)
            timing = relapse_timing(
                infusions=[moment(day) for day in infusions[: index + 1]],
                decline_starts=[moment(day) for day in starts if day < infusion],
                lead_days=lead_days,
            )
            if timing is None or onset is None:
                continue
            suggested = cohort_day(timing.suggest_before)
            offsets.append((suggested - infusion, onset - infusion))
            errors.append(timing.usual_days - (onset - infusion))
            if suggested <= onset:
                in_time += 1
                leads.append(onset - suggested)
            fixed += infusion + max(1.0, POPULATION_DAYS - lead_days) <= onset
    matched_day = statistics.median(day for day, _ in offsets) if offsets else math.nan
    return TimingResult(
        intervals=len(offsets),
        in_time=in_time,
        fixed_in_time=fixed,
        matched_in_time=sum(matched_day <= onset for _, onset in offsets),
        matched_day=matched_day,
        leads=tuple(leads),
        usual_errors=tuple(errors),
    )


def format_timing(result: TimingResult, lead_days: float = RELAPSE_LEAD_DAYS) -> str:
    """Return one line per figure of the measurement."""
    lead = statistics.median(result.leads) if result.leads else float("nan")
    error = statistics.median(result.usual_errors) if result.usual_errors else float("nan")
    return (
        f"relapse timing (lead {lead_days:g} days): {result.in_time}/{result.intervals}"
        f" = {result.share:.3f} suggestions before the next onset (median {lead:.1f} days"
        f" before it; usual-days error median {error:+.1f}); fixed {POPULATION_DAYS:g}-day rule"
        f" {result.fixed_share:.3f}; fixed day {result.matched_day:.1f} (as early on average)"
        f" {result.matched_share:.3f}"
    )
