"""Choosing the classifier's thresholds out of fold, on the training set alone."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from collections.abc import Sequence
from typing import Any

from bot.domain.crisis import Assessment, CrisisNet, Layer
from bot.research import crisis_thresholds
from bot.research.crisis_corpus import LabelledMessage, read_corpus, shipped_net
from bot.research.crisis_thresholds import judge, sweep, urgent_sweep
from bot.research.crisis_train import DEFAULT_TRAIN, Target


def test_a_lower_review_threshold_never_catches_less_nor_alarms_less() -> None:
    messages = read_corpus(DEFAULT_TRAIN)[::20]

    rows = sweep(messages, folds=3, grid=(0.9, 0.6, 0.3))

    assert [row.review_at for row in rows] == [0.9, 0.6, 0.3]
    recalls = [row.scores.recall_any for row in rows]
    alarms = [row.scores.false_any for row in rows]
    assert recalls == sorted(recalls)
    assert alarms == sorted(alarms)
    assert recalls[-1] > recalls[0]
    assert len({row.scores.false_interrupting for row in rows}) == 1
    everyday = [row.everyday for row in rows]
    assert everyday == sorted(everyday)
    assert all(0.0 <= share <= 1.0 for share in everyday)


def test_other_thresholds_change_only_the_classifier_layer() -> None:
    net = shipped_net()
    text = "mood 6, had a nice walk with the dog"
    eager = net.with_thresholds(0.0, 0.0)

    assert net.assess(text).layer == Layer.NONE
    assert eager.assess(text).layer == Layer.CONCERN
    assert eager.assess("i want to kill myself").layer == Layer.URGENT
    assert net.assess(text).layer == Layer.NONE


def test_every_message_is_judged_once_by_a_model_that_never_saw_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages = read_corpus(DEFAULT_TRAIN)[::25]
    fitted: list[set[str]] = []
    judged: list[str] = []
    real_train = crisis_thresholds.train

    def recording_train(
        fit: Sequence[LabelledMessage], net: CrisisNet, *, target: Target = "signal"
    ) -> dict[str, Any]:
        if target == "signal":
            fitted.append({message.text for message in fit})
        return real_train(fit, net, target=target)

    class RecordingNet:
        def __init__(self, inner: CrisisNet, seen: set[str]) -> None:
            self._inner, self._seen = inner, seen

        def with_thresholds(
            self, review_at: float | None = None, concern_at: float | None = None
        ) -> RecordingNet:
            return RecordingNet(self._inner.with_thresholds(review_at, concern_at), self._seen)

        def assess(self, text: str) -> Assessment:
            assert text not in self._seen
            judged.append(text)
            return self._inner.assess(text)

    real_net = crisis_thresholds.net_with_model
    monkeypatch.setattr(crisis_thresholds, "train", recording_train)
    monkeypatch.setattr(
        crisis_thresholds,
        "net_with_model",
        lambda model, urgent, acted: RecordingNet(real_net(model, urgent, acted), fitted[-1]),
    )

    sweep(messages, folds=3, grid=(0.5,))

    assert len(fitted) == 3
    assert sorted(judged) == sorted(message.text for message in messages)


def test_a_lower_urgent_threshold_raises_more_to_urgent_and_changes_no_alarm_count() -> None:
    judged = judge(read_corpus(DEFAULT_TRAIN)[::20], folds=3)

    rows = urgent_sweep(judged, ask=False, grid=(0.99, 0.7, 0.3))

    recalls = [row.scores.urgent_recall for row in rows]
    assert recalls == sorted(recalls)
    assert recalls[-1] > recalls[0]
    assert [row.concern_urgent for row in rows] == sorted(row.concern_urgent for row in rows)
    assert len({(row.scores.recall_any, row.scores.false_any) for row in rows}) == 1
    assert len({row.scores.false_interrupting for row in rows}) == 1


def test_a_lower_ask_threshold_catches_more_and_interrupts_more() -> None:
    judged = judge(read_corpus(DEFAULT_TRAIN)[::20], folds=3)

    rows = urgent_sweep(judged, ask=True, grid=(0.999, 0.6, 0.2))

    recalls = [row.scores.recall_any for row in rows]
    interrupting = [row.scores.false_interrupting for row in rows]
    assert recalls == sorted(recalls)
    assert recalls[-1] > recalls[0]
    assert interrupting == sorted(interrupting)
    assert [row.everyday_interrupted for row in rows] == sorted(
        row.everyday_interrupted for row in rows
    )
