"""The training script reproduces the three shipped classifiers exactly (fixed seed, same
corpus)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from bot.research import crisis_train
from bot.research.crisis_corpus import LabelledMessage, read_corpus, shipped_net
from bot.research.crisis_train import (
    ACTED_FILE,
    DEFAULT_TRAIN,
    FILES,
    SIGNAL_FILE,
    URGENT_FILE,
    Target,
    train,
)


@pytest.mark.parametrize(("name", "target"), FILES)
def test_retraining_gives_the_shipped_model(name: str, target: Target) -> None:
    shipped = json.loads(resources.files("bot").joinpath("data", "models", name).read_text())

    fresh = train(read_corpus(DEFAULT_TRAIN), shipped_net(with_model=False), target=target)

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


def test_each_model_learns_its_own_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[tuple[bool, list[int]]] = []

    def recording_fit(docs: object, labels: list[int], c: float, vocabulary: object) -> object:
        seen.append((vocabulary is None, list(labels)))
        return real_fit(docs, labels, c, vocabulary)

    real_fit = crisis_train._fit
    monkeypatch.setattr(crisis_train, "_fit", recording_fit)
    messages = [
        LabelledMessage(text, label, kind)
        for text, label, kind in [
            ("i am going to jump off the bridge tonight", "urgent", "intent"),
            ("bought the rope, it is in the car", "urgent", "means"),
            ("took all my pills just now", "urgent", "act_taken"),
            ("sometimes i wish i would not wake up", "concern", "passive"),
            ("everyone would be better off without me", "concern", "burden"),
            ("what is the point of anything", "concern", "hopeless"),
            ("mood 7, nice walk with the dog", "negative", "everyday"),
            ("this traffic is killing me", "negative", "figurative"),
            ("my friend attempted years ago, she is fine now", "negative", "other_person"),
            ("the infusion made me feel floaty", "negative", "side_effects"),
        ]
    ]
    corpus = tmp_path / "train.toml"
    corpus.write_text(
        "".join(
            f'[[message]]\ntext = "{m.text}"\nlabel = "{m.label}"\nkind = "{m.kind}"\n\n'
            for m in messages
        ),
        encoding="utf-8",
    )
    out = tmp_path / "models"
    monkeypatch.setattr(crisis_train, "choose_c", lambda docs, labels: 1.0)

    assert crisis_train.main([str(corpus), str(out)]) == 0

    assert sorted(path.name for path in out.iterdir()) == sorted(
        [SIGNAL_FILE, URGENT_FILE, ACTED_FILE]
    )
    signal_labels, urgent_labels, acted_labels = seen[0][1], seen[2][1], seen[4][1]
    assert signal_labels == [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert urgent_labels == [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert acted_labels == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert "3 urgent" in json.loads((out / URGENT_FILE).read_text())["trained_on"]
    assert "6 signals" in json.loads((out / SIGNAL_FILE).read_text())["trained_on"]
    assert "1 acts taken" in json.loads((out / ACTED_FILE).read_text())["trained_on"]
