"""The classifier ships as plain JSON and runs in pure Python, as the training script fit it."""

from __future__ import annotations

import ast
import json
from importlib import resources
from pathlib import Path

import pytest

import bot.domain.crisis as crisis
from bot.domain.crisis import CrisisNet, CrisisPatternError, Layer
from bot.domain.crisis._model import FEATURES_VERSION, LinearModel, features

DATA = resources.files("bot").joinpath("data")
MODEL = DATA.joinpath("models", "crisis_classifier.json")


def shipped_texts() -> dict[str, str]:
    return {
        "patterns": DATA.joinpath("crisis_patterns.toml").read_text(encoding="utf-8"),
        "rules": DATA.joinpath("crisis_net.toml").read_text(encoding="utf-8"),
        "model": MODEL.read_text(encoding="utf-8"),
    }


def test_the_shipped_model_is_plain_json() -> None:
    raw = MODEL.read_bytes()
    data = json.loads(raw)

    assert raw.lstrip().startswith(b"{")
    assert data["features"] == FEATURES_VERSION
    assert len(data["weights"]) > 1000
    assert all(len(pair) == 2 for pair in data["weights"].values())


def test_no_crisis_module_can_unpickle_or_needs_scikit_learn() -> None:
    for path in Path(crisis.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        names |= {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not names & {"pickle", "joblib", "sklearn", "numpy", "dill", "shelve"}, path.name


def test_pure_python_reproduces_the_training_scripts_probabilities(net: CrisisNet) -> None:
    checks = json.loads(MODEL.read_text(encoding="utf-8"))["checks"]

    assert len(checks) >= 5
    for check in checks:
        assert net.probability(check["text"]) == pytest.approx(check["probability"], abs=1e-9)


def test_the_model_separates_a_plain_signal_from_small_talk(net: CrisisNet) -> None:
    signal = net.probability("i just want it all to be over")
    small_talk = net.probability("mood 7, had a nice walk with the dog")

    assert signal is not None
    assert small_talk is not None
    assert signal > 0.8 > 0.2 > small_talk


def test_features_are_words_pairs_character_ngrams_and_emoji() -> None:
    found = features(" i want . out ", ("pill",))

    assert {"w:want", "b:i want", "c: wa", "c:ant ", "e:pill"} <= set(found)
    assert "b:want ." not in found
    assert "w:." not in found


def test_a_message_with_no_known_feature_scores_the_intercept() -> None:
    model = LinearModel(weights={"w:x": (1.0, 2.0)}, intercept=-1.0)

    assert model.decision(["w:unknown"]) == -1.0
    assert model.decision(["w:x"]) == pytest.approx(1.0)
    assert model.decision(["w:x", "w:x"]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("not json", "not valid JSON"),
        ('{"features": "other", "weights": {}, "intercept": 0.0}', "not a words12"),
        (f'{{"features": "{FEATURES_VERSION}", "intercept": 0.0}}', "needs 'weights'"),
        (
            f'{{"features": "{FEATURES_VERSION}", "weights": {{"w:a": [1]}}, "intercept": 0.0}}',
            "[idf, coef]",
        ),
    ],
)
def test_a_broken_model_file_is_refused_by_name(text: str, error: str) -> None:
    with pytest.raises(CrisisPatternError, match=r"models/crisis_classifier\.json") as info:
        CrisisNet.from_texts(**{**shipped_texts(), "model": text})

    assert error in str(info.value)


def test_without_a_model_the_rules_still_decide() -> None:
    net = CrisisNet.from_texts(**{**shipped_texts(), "model": None})

    assert net.probability("i want to die") is None
    assert net.assess("i want to die").layer == Layer.URGENT
    assert net.assess("mood 7").layer == Layer.NONE
