"""Detecting a declining mood trend on a patient's own post-infusion level (pure, no I/O).

The method (docs/detection.md has the rationale and references):

* decline: a self-starting lower one-sided CUSUM control chart on the patient's own level.
  The first `baseline_answers` answers after the last infusion give a first estimate of the
  level (mean) and spread (standard deviation, never below `sd_floor`). Each later answer
  feeds the chart ``S = max(0, S + (level - score) / sd - cusum_k)``; an answer that leaves
  the chart at zero (in control) and is among the first `baseline_max_answers` answers also
  joins the estimate of the level, so the level rests on up to that many answers. A decline
  is found when ``S`` reaches `cusum_h` and the last `confirm_answers` answers in a row are
  each at least `min_drop` points below the level, on average at least `confirm_mean_drop`
  points below it, and span at least `confirm_min_hours` (so one bad day, or several answers
  on one bad day, is not an alarm). It recovers after `recovery_answers` answers in a row
  within `recovery_margin` points of the level.
* low_mood: `low_mood_answers` answers in a row at or below `low_mood_threshold`, spanning at
  least `confirm_min_hours`; recovers after `low_mood_recovery_answers` answers in a row at or
  above `low_mood_recovery_score` (above the threshold: a patient hovering around it stays in
  one episode).
* disengagement: `missed_in_a_row` missed check-ins in a row after at least one answer since
  the last infusion; recovers with any answer.

With `low_mood_while_declining` false, no low_mood episode opens while a decline episode is
open (the decline alert already covers that relapse).

Missed check-ins carry no score: they neither move the control chart nor break a run of
answers. After an episode of a kind ends (recovery, staff resolving it, a new infusion), that
kind starts again from nothing at the episode's end: a new finding needs new evidence, all of
it observed after the end (the level is kept). This keeps `evaluate` stateless,
deterministic and idempotent.

`patient_level` (or `assess`, which also returns what `evaluate` does) gives the level the
chart holds, for the adaptive check-in policy (bot.domain.adaptive); `relapse_timing`
estimates a patient's usual time from an infusion to a decline after their second one.
"""

from __future__ import annotations

from bot.domain.detection._config import DetectorConfig
from bot.domain.detection._evaluate import Assessment, assess, evaluate, patient_level
from bot.domain.detection._level import Level
from bot.domain.detection._model import (
    SCORE_MAX,
    SCORE_MIN,
    Episode,
    Evidence,
    Finding,
    Observation,
    Recovery,
)
from bot.domain.detection._timing import RELAPSE_LEAD_DAYS, RelapseTiming, relapse_timing

__all__ = [
    "RELAPSE_LEAD_DAYS",
    "SCORE_MAX",
    "SCORE_MIN",
    "Assessment",
    "DetectorConfig",
    "Episode",
    "Evidence",
    "Finding",
    "Level",
    "Observation",
    "Recovery",
    "RelapseTiming",
    "assess",
    "evaluate",
    "patient_level",
    "relapse_timing",
]
