"""The closed-loop replay: offered answers are read only when the bot's own policy asks."""

from __future__ import annotations

from datetime import UTC, time

from bot.domain.adaptive import AdaptiveConfig, plan_extra_checkin
from bot.domain.detection import DetectorConfig, Observation, patient_level
from bot.research.cohort import simulate_cohort
from bot.research.cohort_format import OFFERED, CohortRow, RowKind
from bot.research.evaluation import evaluate_rows
from bot.research.replay import moment, next_planned, replay_detector, usual_time

CONFIG = DetectorConfig()


def row(day: float, kind: RowKind, value: int | None = None) -> CohortRow:
    return CohortRow("P1", day, kind, value)


def patient(day16: int = 5, day18: int = 8, offered17: int = 4) -> list[CohortRow]:
    """Well at 8 for two weeks, a low answer on day 16, offered answers on days 15, 17, 19."""
    return [
        row(0.4, RowKind.INFUSION),
        *[row(day + 0.76, RowKind.MOOD, 8) for day in range(1, 15)],
        row(15.75, RowKind.OFFERED_MOOD, 2),
        row(16.76, RowKind.MOOD, day16),
        row(17.75, RowKind.OFFERED_MOOD, offered17),
        row(18.76, RowKind.MOOD, day18),
        row(19.75, RowKind.OFFERED_MISSED),
        row(20.76, RowKind.MOOD, 8),
    ]


def test_the_usual_time_and_the_next_planned_check_in() -> None:
    assert usual_time(patient()) == time(18, 0)
    assert usual_time([row(0.4, RowKind.INFUSION), row(1.76, RowKind.MOOD, 8)]) is None
    assert next_planned(0.4, time(18, 0), 16.76) == moment(18.75)
    assert next_planned(0.4, time(18, 0), 13.76) == moment(14.75)
    assert next_planned(0.4, time(18, 0), 91.8) is None


def test_an_offered_row_is_used_only_when_the_policy_asks_for_it() -> None:
    replayed = replay_detector(patient(), CONFIG, AdaptiveConfig())

    assert replayed.extra_prompts == 1
    assert replayed.extra_days == [17.75]
    assert replayed.planned_prompts == 17


def test_the_replay_asks_exactly_when_plan_extra_checkin_says_so() -> None:
    rows = [item for item in patient() if item.kind in {RowKind.MOOD, RowKind.MISSED}]
    answered = [item for item in rows if item.day <= 16.76]
    observations = [Observation(at=moment(item.day), score=item.value) for item in answered]
    now = moment(16.76)
    level = patient_level(
        infusions=[moment(0.4)], observations=observations, episodes=[], now=now, config=CONFIG
    )
    due = plan_extra_checkin(
        answer=observations[-1],
        level=level,
        next_planned=moment(18.75),
        zone=UTC,
        checkin_time=time(18, 0),
        extra_pending=False,
        now=now,
        config=AdaptiveConfig(),
    )

    assert due == moment(17.75)
    assert replay_detector(patient(day16=8), CONFIG, AdaptiveConfig()).extra_prompts == 0


def test_unused_offered_rows_change_nothing() -> None:
    base = replay_detector(patient(), CONFIG, AdaptiveConfig())
    changed = [
        CohortRow(item.patient, item.day, item.kind, 0)
        if item.kind is RowKind.OFFERED_MOOD and item.day == 15.75
        else item
        for item in patient()
    ]

    assert replay_detector(changed, CONFIG, AdaptiveConfig()) == base


def test_the_extra_answer_is_evidence() -> None:
    """5 then 4 the next day: a decline found at the extra answer, two days before day 18."""
    closed = replay_detector(patient(day16=5, offered17=4, day18=4), CONFIG, AdaptiveConfig())
    open_loop = replay_detector(
        patient(day16=5, offered17=4, day18=4), CONFIG, AdaptiveConfig(enabled=False)
    )

    assert [kind for _, kind in closed.alerts] == ["decline"]
    assert closed.alerts[0][0] == 17.75
    assert [kind for _, kind in open_loop.alerts] == ["decline"]
    assert open_loop.alerts[0][0] == 18.76
    assert open_loop.extra_prompts == 0


def test_a_cohort_without_offered_rows_replays_as_the_plan_alone() -> None:
    rows = simulate_cohort(25, 13)
    planned_only = [item for item in rows if item.kind not in OFFERED]

    closed = evaluate_rows(planned_only, CONFIG, AdaptiveConfig())
    disabled = evaluate_rows(rows, CONFIG, AdaptiveConfig(enabled=False))

    assert closed.extra_prompts == 0
    assert closed.detector == disabled.detector
    assert closed.planned_prompts == disabled.planned_prompts
    with_extras = evaluate_rows(rows, CONFIG, AdaptiveConfig())
    assert 0 < with_extras.extra_checkin_share < 0.2
