"""The training script reproduces the shipped classifier exactly (fixed seed, same corpus)."""

from __future__ import annotations

import json
from importlib import resources

import pytest

pytest.importorskip("sklearn")

from bot.research.crisis_corpus import read_corpus, shipped_net
from bot.research.crisis_train import DEFAULT_TRAIN, train


def test_retraining_gives_the_shipped_model() -> None:
    shipped = json.loads(
        resources.files("bot").joinpath("data", "models", "crisis_classifier.json").read_text()
    )

    fresh = train(read_corpus(DEFAULT_TRAIN), shipped_net(with_model=False))

    assert fresh["trained_on"] == shipped["trained_on"]
    assert fresh["weights"].keys() == shipped["weights"].keys()
    assert fresh["intercept"] == pytest.approx(shipped["intercept"], abs=1e-9)
    for feature, (idf, coef) in shipped["weights"].items():
        assert fresh["weights"][feature] == pytest.approx([idf, coef], abs=1e-9), feature
    assert [check["text"] for check in fresh["checks"]] == [
        check["text"] for check in shipped["checks"]
    ]
    assert [check["probability"] for check in fresh["checks"]] == pytest.approx(
        [check["probability"] for check in shipped["checks"]], abs=1e-9
    )
