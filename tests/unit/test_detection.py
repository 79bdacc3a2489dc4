"""The declining-trend detector: the issue's cases, episodes, configuration and properties."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.detection import (
    DetectorConfig,
    Episode,
    Finding,
    FindingKind,
    Observation,
    Recovery,
    evaluate,
)

INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CONFIG = DetectorConfig()
DECLINE = FindingKind.DECLINE
LOW_MOOD = FindingKind.LOW_MOOD
DISENGAGEMENT = FindingKind.DISENGAGEMENT
MOOD_KINDS = {DECLINE, LOW_MOOD}


def checkin(day: int) -> datetime:
    """Return 18:00 UTC on the given day after the infusion."""
    return INFUSION.replace(hour=18) + timedelta(days=day)


def outcomes(scores: Sequence[int | None]) -> list[Observation]:
    """Return daily observations from day 1; None is a missed check-in."""
    return [Observation(at=checkin(day), score=score) for day, score in enumerate(scores, 1)]


def check(
    observations: Sequence[Observation],
    episodes: Sequence[Episode] = (),
    config: DetectorConfig = CONFIG,
) -> tuple[list[Finding], list[Recovery]]:
    """Evaluate with `now` at the last observation."""
    now = observations[-1].at if observations else INFUSION
    return evaluate(
        infusions=[INFUSION], observations=observations, episodes=episodes, now=now, config=config
    )


@dataclass
class Replay:
    """What the bot would record replaying observations one at a time."""

    alerts: list[tuple[int, Finding]] = field(default_factory=list)
    recoveries: list[tuple[int, Recovery]] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)

    def first(self, kind: FindingKind) -> int | None:
        """Return the index of the observation that confirmed the first alert of a kind."""
        return next((index for index, finding in self.alerts if finding.kind == kind), None)

    def kinds(self) -> list[tuple[int, FindingKind]]:
        """Return (index, kind) of every alert."""
        return [(index, finding.kind) for index, finding in self.alerts]


def replay(scores: Sequence[int | None], config: DetectorConfig = CONFIG) -> Replay:
    """Feed outcomes one by one, opening episodes for findings and closing them on recovery."""
    observations = outcomes(scores)
    result = Replay()
    for index in range(len(observations)):
        seen = observations[: index + 1]
        findings, recoveries = check(seen, result.episodes, config)
        for recovery in recoveries:
            result.recoveries.append((index, recovery))
            result.episodes = [
                Episode(e.kind, e.started_at, recovery.at)
                if e.kind == recovery.kind and e.ended_at is None
                else e
                for e in result.episodes
            ]
        for finding in findings:
            assert not any(
                e.kind == finding.kind and e.ended_at is None for e in result.episodes
            ), "a finding of a kind that already has an open episode"
            result.alerts.append((index, finding))
            result.episodes.append(Episode(finding.kind, finding.at, None))
        again, _ = check(seen, result.episodes, config)
        assert again == [], "evaluate is not idempotent"
    return result


# The cases ----------------------------------------------------------------------


def test_eight_eight_seven_then_four_four_is_a_decline_at_the_second_four() -> None:
    result = replay([8, 8, 7, 4, 4])

    assert result.kinds() == [(4, DECLINE)]
    finding = result.alerts[0][1]
    assert finding.at == checkin(5)
    assert finding.since == checkin(4)
    assert finding.baseline == pytest.approx(23 / 3)
    assert [o.score for o in finding.evidence] == [4, 4]
    assert finding.explanation == (
        "Mood fell from a post-infusion level of 7.7 to 4.0 (two answers in a row), since 6 Mar."
    )


def test_the_level_keeps_learning_from_answers_in_control() -> None:
    """Six more answers of 8 raise the level from 7.3 to 7.8, so three 6s become a decline."""
    series = [7, 7, 8, *[8] * 6, 6, 6, 6]

    assert replay(series).kinds() == [(11, DECLINE)]
    assert replay(series, DetectorConfig(baseline_max_answers=3)).kinds() == []


def test_answers_after_the_learning_period_do_not_move_the_level() -> None:
    """Later good days do not make the patient's usual 7 look like a decline."""
    series = [8, 8, 8, *[8] * 9, *[10] * 10, 7, 7, 7, 7]

    assert replay(series).kinds() == []
    assert replay(series, DetectorConfig(baseline_max_answers=30)).first(DECLINE) is not None


def test_answers_during_a_drop_do_not_join_the_level() -> None:
    """A slow slide is measured against the level before it, not a level that follows it."""
    series = [8, 8, 8, 7, 7, 6, 6, 6]

    assert replay(series).first(DECLINE) == 6


def test_since_is_not_a_day_the_chart_was_in_control() -> None:
    """A 7 that left the chart at zero is not when the decline began, even if low-ish."""
    result = replay([10, 8, 6, 7, 4, 4])

    assert result.kinds() == [(5, DECLINE)]
    finding = result.alerts[0][1]
    assert finding.since == checkin(5)
    assert [o.score for o in finding.evidence] == [4, 4]


def test_one_confirming_answer_can_be_configured() -> None:
    config = DetectorConfig(confirm_answers=1)

    assert replay([8, 8, 7, 1], config).first(DECLINE) == 3


def test_an_exact_average_drop_is_enough() -> None:
    """A level of 26/3 and three answers averaging exactly 2 below it."""
    config = DetectorConfig(baseline_max_answers=3, confirm_answers=3, confirm_mean_drop=2.0)

    assert replay([9, 9, 8, 7, 7, 6], config).first(DECLINE) == 5


def test_answers_at_the_same_moment_give_the_same_result_in_any_order() -> None:
    same = checkin(5)
    base = outcomes([8, 8, 7, 4])

    one_way = check([*base, Observation(same, 4), Observation(same, 8)])
    other_way = check([*base, Observation(same, 8), Observation(same, 4)])

    assert one_way == other_way


def test_no_low_mood_with_a_decline_found_at_the_same_answer_when_left_to_it() -> None:
    config = DetectorConfig(low_mood_while_declining=False)

    assert replay([8, 8, 8, 2, 2], config).kinds() == [(4, DECLINE)]


def test_one_bad_day_is_not_an_alert() -> None:
    assert replay([8, 8, 7, 4, 8, 8, 7]).alerts == []


def test_several_low_answers_on_the_same_day_are_not_a_confirmation() -> None:
    base = outcomes([8, 8, 7])
    same_day = [Observation(checkin(4), 4), Observation(checkin(4) + timedelta(hours=1), 3)]

    findings, _ = check([*base, *same_day])

    assert findings == []


def test_three_three_is_low_mood() -> None:
    result = replay([3, 3])

    assert result.kinds() == [(1, LOW_MOOD)]
    finding = result.alerts[0][1]
    assert finding.since == checkin(1)
    assert (
        finding.explanation == "Mood was 3 or below on two answers in a row (3, 3), since 3 Mar."
    )


def test_low_answers_that_are_not_consecutive_are_not_low_mood() -> None:
    assert replay([3, 5, 2, 6, 3]).alerts == []


def test_a_missed_check_in_does_not_break_a_run_of_low_answers() -> None:
    assert replay([2, None, 3]).kinds() == [(2, LOW_MOOD)]


def test_two_missed_after_an_answer_is_disengagement() -> None:
    result = replay([7, None, None])

    assert result.kinds() == [(2, DISENGAGEMENT)]
    finding = result.alerts[0][1]
    assert finding.since == checkin(2)
    assert "last answer 3 Mar" in finding.explanation


def test_two_missed_with_no_answer_ever_is_nothing() -> None:
    assert replay([None, None, None, None]).alerts == []


def test_any_answer_ends_disengagement_and_it_can_fire_again() -> None:
    result = replay([7, None, None, 6, None, None])

    assert result.kinds() == [(2, DISENGAGEMENT), (5, DISENGAGEMENT)]
    assert [(i, r.kind) for i, r in result.recoveries] == [(3, DISENGAGEMENT)]


def test_recovery_ends_a_decline_and_a_later_decline_fires_again() -> None:
    result = replay([8, 8, 7, 4, 4, 8, 8, 4, 4])

    assert result.kinds() == [(4, DECLINE), (8, DECLINE)]
    assert [(i, r.kind) for i, r in result.recoveries] == [(6, DECLINE)]
    assert result.recoveries[0][1].at == checkin(7)


def test_low_mood_recovers_after_two_answers_above_the_threshold() -> None:
    result = replay([3, 3, 4, 2, 5, 6, 3, 3])

    assert result.kinds() == [(1, LOW_MOOD), (7, LOW_MOOD)]
    assert [(i, r.kind) for i, r in result.recoveries] == [(5, LOW_MOOD)]


def test_a_deep_fall_is_both_a_decline_and_low_mood() -> None:
    assert replay([8, 8, 8, 2, 2]).kinds() == [(4, DECLINE), (4, LOW_MOOD)]


def test_low_mood_can_be_left_to_an_open_decline() -> None:
    config = DetectorConfig(low_mood_while_declining=False)

    assert replay([8, 8, 8, 5, 5, 3, 3, 3], config).kinds() == [(4, DECLINE)]


# Episodes, idempotence and inputs ------------------------------------------------------


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


# Configuration -------------------------------------------------------------------------


def test_from_mapping_of_an_empty_table_is_the_defaults() -> None:
    assert DetectorConfig.from_mapping({}) == DetectorConfig()


def test_from_mapping_reads_every_key() -> None:
    table = {
        "baseline_answers": 4,
        "baseline_max_answers": 10,
        "sd_floor": 1,
        "cusum_k": 0.25,
        "cusum_h": 3.5,
        "min_drop": 1.5,
        "confirm_mean_drop": 2.0,
        "confirm_answers": 3,
        "confirm_min_hours": 20,
        "recovery_answers": 3,
        "recovery_margin": 0.5,
        "low_mood_threshold": 2,
        "low_mood_answers": 3,
        "low_mood_recovery_answers": 3,
        "missed_in_a_row": 3,
        "evidence_limit": 8,
        "low_mood_while_declining": False,
    }

    config = DetectorConfig.from_mapping(table)

    assert config.sd_floor == 1.0
    assert isinstance(config.sd_floor, float)
    assert config.low_mood_threshold == 2
    assert config.low_mood_while_declining is False


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"cusum_h": "4"}, "cusum_h"),
        ({"cusum_h": float("nan")}, "cusum_h"),
        ({"min_drop": -1}, "min_drop"),
        ({"baseline_answers": 1}, "baseline_answers"),
        ({"baseline_answers": 3.0}, "baseline_answers"),
        ({"missed_in_a_row": True}, "missed_in_a_row"),
        ({"low_mood_threshold": 10}, "low_mood_threshold"),
        ({"low_mood_while_declining": 1}, "low_mood_while_declining"),
        ({"cusum_hh": 4}, "cusum_hh"),
        ({"confirm_mean_drop": 0.1}, "confirm_mean_drop"),
        ({"baseline_answers": 5, "baseline_max_answers": 4}, "baseline_max_answers"),
    ],
)
def test_from_mapping_names_the_bad_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=f"\\[detection\\].*'?{key}'?"):
        DetectorConfig.from_mapping(table)


def test_the_documented_detection_table_is_the_defaults_and_lists_every_key() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "detection.md"
    block = re.search(r"```toml\n(\[detection\].*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert block is not None

    table = tomllib.loads(block.group(1))["detection"]

    assert set(table) == {item.name for item in fields(DetectorConfig)}
    assert DetectorConfig.from_mapping(table) == DetectorConfig()


def test_constructor_validates_too() -> None:
    with pytest.raises(ValueError, match="sd_floor"):
        DetectorConfig(sd_floor=0.0)


# Properties ----------------------------------------------------------------------------

ABOVE_LOW = st.integers(min_value=CONFIG.low_mood_threshold + 1, max_value=10)
ANY_SCORE = st.integers(min_value=0, max_value=10)


@st.composite
def with_misses(draw: st.DrawFn, scores: list[int]) -> list[int | None]:
    """Interleave missed check-ins (None) among the scores, keeping the scores' order."""
    result: list[int | None] = []
    for score in scores:
        if draw(st.booleans()) and draw(st.booleans()):
            result.append(None)
        result.append(score)
    return result


@settings(max_examples=150, deadline=None)
@given(data=st.data(), scores=st.lists(ABOVE_LOW, min_size=1, max_size=30))
def test_a_stable_or_improving_series_never_alerts(data: st.DataObject, scores: list[int]) -> None:
    """Non-decreasing scores above the low-mood threshold never give decline or low mood."""
    series = data.draw(with_misses(sorted(scores)))

    assert {kind for _, kind in replay(series).kinds()} <= {DISENGAGEMENT}


@settings(max_examples=150, deadline=None)
@given(data=st.data(), level=ABOVE_LOW, length=st.integers(1, 30))
def test_a_constant_series_never_alerts(data: st.DataObject, level: int, length: int) -> None:
    """The same score every time, with missed check-ins anywhere, never gives a mood alert."""
    series = data.draw(with_misses([level] * length))

    assert {kind for _, kind in replay(series).kinds()} <= {DISENGAGEMENT}


@settings(max_examples=300, deadline=None)
@given(
    scores=st.lists(ANY_SCORE, min_size=4, max_size=30),
    position=st.integers(min_value=0),
    drop=st.integers(min_value=1, max_value=10),
    config=st.sampled_from([CONFIG, DetectorConfig(baseline_max_answers=3)]),
)
def test_lowering_a_later_score_never_removes_or_delays_an_alert(
    scores: list[int], position: int, drop: int, config: DetectorConfig
) -> None:
    """The monotonicity property, stated for the first alert of each mood kind.

    If the series first alerts decline at answer i, lowering any answer after the answers
    that may define the patient's own level (the first `baseline_max_answers`) gives a first
    decline alert at answer i or earlier. If it first alerts low mood at answer i, lowering
    any answer gives a first low-mood alert at answer i or earlier.
    """
    original = replay(scores, config)
    index = position % len(scores)
    lowered_scores = list(scores)
    lowered_scores[index] = max(0, scores[index] - drop)
    lowered = replay(lowered_scores, config)

    decline_before, decline_after = original.first(DECLINE), lowered.first(DECLINE)
    if decline_before is not None and index >= config.baseline_max_answers:
        assert decline_after is not None
        assert decline_after <= decline_before
    low_before, low_after = original.first(LOW_MOOD), lowered.first(LOW_MOOD)
    if low_before is not None:
        assert low_after is not None
        assert low_after <= low_before


@settings(max_examples=200, deadline=None)
@given(series=st.lists(st.one_of(st.none(), ANY_SCORE), min_size=1, max_size=40))
def test_at_most_one_alert_per_episode(series: list[int | None]) -> None:
    """Replaying any series never opens a second episode of a kind while one is open.

    `replay` asserts it at every step, and that evaluating again with the findings recorded
    returns nothing; here also each kind alternates alert, recovery, alert.
    """
    result = replay(series)

    for kind in FindingKind:
        events = sorted(
            [(i, 1, "alert") for i, f in result.alerts if f.kind == kind]
            + [(i, 0, "recovery") for i, r in result.recoveries if r.kind == kind]
        )
        labels = [label for _, _, label in events]
        assert labels == ["alert", "recovery"] * (len(labels) // 2) + ["alert"] * (len(labels) % 2)
