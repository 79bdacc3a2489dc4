"""`evaluate`: episodes, idempotence, and what it accepts as input."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.domain.detection import DetectorConfig, Episode, Observation, evaluate
from tests.domain.detection.replay import (
    CONFIG,
    DECLINE,
    INFUSION,
    LOW_MOOD,
    check,
    checkin,
    outcomes,
)


def test_evaluate_is_idempotent_once_its_findings_are_recorded() -> None:
    observations = outcomes([8, 8, 7, 2, 2])
    findings, recoveries = check(observations)
    assert {f.kind for f in findings} == {DECLINE, LOW_MOOD}
    assert recoveries == []

    recorded = [Episode(f.kind, f.at, None) for f in findings]

    assert check(observations) == (findings, [])
    assert check(observations, recorded) == ([], [])


def test_no_finding_of_a_kind_with_an_open_episode() -> None:
    open_low = Episode(LOW_MOOD, INFUSION + timedelta(hours=1), None)

    findings, recoveries = check(outcomes([3, 3, 2]), [open_low])

    assert findings == []
    assert recoveries == []


def test_after_staff_resolve_new_evidence_is_needed() -> None:
    observations = outcomes([8, 8, 7, 4, 4, 4])
    resolved = Episode(DECLINE, checkin(5), checkin(5) + timedelta(hours=2))

    assert check(observations, [resolved]) == ([], [])
    findings, _ = check(outcomes([8, 8, 7, 4, 4, 4, 4]), [resolved])
    assert [f.kind for f in findings] == [DECLINE]
    assert findings[0].at == checkin(7)
    assert findings[0].since == checkin(6)


def test_only_observations_after_the_latest_infusion_count() -> None:
    earlier = outcomes([3, 3])
    second_infusion = checkin(3)
    later = [Observation(second_infusion + timedelta(days=1), 7)]

    findings, _ = evaluate(
        infusions=[INFUSION, second_infusion],
        observations=[*earlier, *later],
        episodes=[],
        now=later[-1].at,
        config=CONFIG,
    )

    assert findings == []


def test_observations_after_now_are_ignored_and_order_does_not_matter() -> None:
    observations = outcomes([8, 8, 7, 4, 4])

    findings, _ = evaluate(
        infusions=[INFUSION],
        observations=list(reversed(observations)),
        episodes=[],
        now=checkin(4),
        config=CONFIG,
    )
    assert findings == []
    shuffled = [*observations[2:], *observations[:2]]
    assert evaluate(
        infusions=[INFUSION], observations=shuffled, episodes=[], now=checkin(5), config=CONFIG
    ) == check(observations)


def test_answers_at_the_same_moment_give_the_same_result_in_any_order() -> None:
    same = checkin(5)
    base = outcomes([8, 8, 7, 4])

    one_way = check([*base, Observation(same, 4), Observation(same, 8)])
    other_way = check([*base, Observation(same, 8), Observation(same, 4)])

    assert one_way == other_way


def test_evidence_is_bounded() -> None:
    config = DetectorConfig(evidence_limit=3, cusum_h=40.0)
    findings, _ = check(outcomes([8, 8, 8, *[5] * 20]), config=config)

    assert [f.kind for f in findings] == [DECLINE]
    assert len(findings[0].evidence) == 3


def test_naive_datetimes_and_bad_scores_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check([Observation(datetime(2026, 3, 3, 18, 0), 5)])
    with pytest.raises(ValueError, match="0 to 10"):
        check([Observation(checkin(1), 11)])
