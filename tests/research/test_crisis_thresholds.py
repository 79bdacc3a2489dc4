"""Choosing the classifier's thresholds out of fold, on the training set alone."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from bot.domain.crisis import Layer
from bot.research.crisis_corpus import read_corpus, shipped_net
from bot.research.crisis_thresholds import sweep
from bot.research.crisis_train import DEFAULT_TRAIN


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


def test_other_thresholds_change_only_the_classifier_layer() -> None:
    net = shipped_net()
    text = "mood 6, had a nice walk with the dog"
    eager = net.with_thresholds(0.0, 0.0)

    assert net.assess(text).layer == Layer.NONE
    assert eager.assess(text).layer == Layer.CONCERN
    assert eager.assess("i want to kill myself").layer == Layer.URGENT
    assert net.assess(text).layer == Layer.NONE
