"""The acted classifier marks an URGENT verdict as an act being taken now, so the reply says
to call the emergency number now; it never changes a layer, and ships as plain JSON."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from bot.domain.crisis import CrisisNet, CrisisPatternError, Layer
from bot.domain.crisis._model import FEATURES_VERSION
from bot.research.crisis_corpus import shipped_net

DATA = resources.files("bot").joinpath("data")
ACTED = DATA.joinpath("models", "crisis_acted.json")


def sure_of(word: str) -> str:
    """Return a model sure (about 0.9999) of any message with word in it, 0.27 of others."""
    return json.dumps(
        {"features": FEATURES_VERSION, "intercept": -1.0, "weights": {f"w:{word}": [1.0, 10.0]}}
    )


def make(*, acted: str | None, urgent: str | None = None) -> CrisisNet:
    """Return the shipped rules with these models alone (no signal classifier)."""
    if acted is None and urgent is None:
        return shipped_net(with_model=False)
    return shipped_net(urgent_model=urgent, acted_model=acted)


def test_an_urgent_verdict_the_acted_model_is_sure_of_is_an_act_taken() -> None:
    text = "i have a plan to end my life, the tablets are all gone now"
    plain = make(acted=None).assess(text)

    assessment = make(acted=sure_of("gone")).assess(text)

    assert plain.layer == assessment.layer == Layer.URGENT
    assert not plain.acted
    assert assessment.acted
    assert "acted-model:1.00" in assessment.reasons


def test_an_urgent_verdict_the_acted_model_doubts_is_not() -> None:
    assessment = make(acted=sure_of("bridge")).assess("i have a plan to end my life")

    assert assessment.layer == Layer.URGENT
    assert not assessment.acted


def test_a_verdict_below_urgent_is_never_marked() -> None:
    net = make(acted=sure_of("early"))

    for text in ("checking out early", "gave my dog away early", "left work early today"):
        assessment = net.assess(text)
        assert assessment.layer < Layer.URGENT
        assert not assessment.acted


def test_an_urgent_raised_by_the_urgent_model_can_be_marked() -> None:
    net = make(acted=sure_of("early"), urgent=sure_of("early"))

    assessment = net.assess("checking out early")

    assert assessment.layer == Layer.URGENT
    assert assessment.acted


def test_under_three_words_the_acted_model_is_silent() -> None:
    assert not make(acted=sure_of("suicidal")).assess("suicidal").acted


def test_the_shipped_acted_model_reproduces_the_training_scripts_probabilities() -> None:
    data = json.loads(ACTED.read_text(encoding="utf-8"))
    net = make(acted=ACTED.read_text(encoding="utf-8"))

    assert data["features"] == FEATURES_VERSION
    assert "acts taken" in data["trained_on"]
    for check in data["checks"]:
        assert net.acted_probability(check["text"]) == pytest.approx(
            check["probability"], abs=1e-9
        )


def test_the_shipped_acted_model_tells_an_act_now_from_a_plan() -> None:
    net = make(acted=ACTED.read_text(encoding="utf-8"))
    act = net.acted_probability("already swallowed the whole box an hour ago, feeling sick")
    plan = net.acted_probability("picked the spot, the multi storey car park, friday night")

    assert act is not None
    assert plan is not None
    assert act > 0.7 > 0.3 > plan


def test_a_broken_acted_model_is_refused_by_name() -> None:
    with pytest.raises(CrisisPatternError, match=r"models/crisis_acted\.json: not valid JSON"):
        make(acted="{")


def test_a_bad_acted_threshold_is_refused_by_name() -> None:
    rules = DATA.joinpath("crisis_net.toml").read_text(encoding="utf-8")
    assert "\nacted = 0." in rules

    with pytest.raises(CrisisPatternError, match=r"\[model\] acted must be a number"):
        CrisisNet.from_texts(
            patterns=DATA.joinpath("crisis_patterns.toml").read_text(encoding="utf-8"),
            rules=rules.replace("\nacted = 0.", "\nacted = 1.5 #", 1),
            model=None,
        )
