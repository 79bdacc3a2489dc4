"""The shipped crisis detector and net, and the example messages, shared by the crisis tests."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.domain.crisis import CrisisDetector, CrisisNet
from bot.research.crisis_corpus import shipped_net
from bot.runtime.content import load_crisis_detector

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "crisis_examples.toml"


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return load_crisis_detector()


@pytest.fixture(scope="module")
def examples() -> dict[str, list[str]]:
    with EXAMPLES.open("rb") as file:
        data = tomllib.load(file)
    return {"positive": data["positive"], "negative": data["negative"]}


@pytest.fixture(scope="module")
def net() -> CrisisNet:
    return shipped_net()


@pytest.fixture(scope="module")
def rules_net() -> CrisisNet:
    """The shipped rules without the classifier: for tests of the rules and context alone."""
    return shipped_net(with_model=False)
