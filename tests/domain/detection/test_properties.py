"""Properties of the detector over generated series."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.codes import EpisodeKind
from bot.domain.detection import DetectorConfig
from tests.domain.detection.replay import CONFIG, DECLINE, DISENGAGEMENT, LOW_MOOD, replay

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

    for kind in EpisodeKind:
        events = sorted(
            [(i, 1, "alert") for i, f in result.alerts if f.kind == kind]
            + [(i, 0, "recovery") for i, r in result.recoveries if r.kind == kind]
        )
        labels = [label for _, _, label in events]
        assert labels == ["alert", "recovery"] * (len(labels) // 2) + ["alert"] * (len(labels) % 2)
