"""The urgent classifier: it raises a CONCERN context left alone to URGENT, and where no rule
fired it asks; it never overrides context, and it ships as plain JSON like the other one."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from bot.domain.crisis import CrisisNet, CrisisPatternError, Layer
from bot.domain.crisis._model import FEATURES_VERSION

DATA = resources.files("bot").joinpath("data")
URGENT = DATA.joinpath("models", "crisis_urgent.json")


RULES = DATA.joinpath("crisis_net.toml").read_text(encoding="utf-8")


def make(*, urgent_model: str | None = None, rules: str = RULES) -> CrisisNet:
    """Return the shipped rules without the signal classifier, with this urgent model."""
    return CrisisNet.from_texts(
        patterns=DATA.joinpath("crisis_patterns.toml").read_text(encoding="utf-8"),
        rules=rules,
        model=None,
        urgent_model=urgent_model,
    )


def sure_of(word: str) -> str:
    """Return an urgent model that is sure (about 0.9999) of any message with word in it,
    and gives 0.27 to any other."""
    return json.dumps(
        {"features": FEATURES_VERSION, "intercept": -1.0, "weights": {f"w:{word}": [1.0, 10.0]}}
    )


def build(word: str) -> CrisisNet:
    return make(urgent_model=sure_of(word))


def test_a_concern_the_urgent_model_is_sure_of_becomes_urgent() -> None:
    plain = make()
    net = build("early")

    before = plain.assess("checking out early")
    after = net.assess("checking out early")

    assert before.layer == Layer.CONCERN
    assert after.layer == Layer.URGENT
    assert after.category == before.category == "euphemism"
    assert "urgent-model:1.00" in after.reasons
    assert not after.acted


def test_a_concern_the_urgent_model_doubts_stays_a_concern() -> None:
    assessment = build("bridge").assess("checking out early")

    assert assessment.layer == Layer.CONCERN
    assert not any(reason.startswith("urgent-model") for reason in assessment.reasons)


@pytest.mark.parametrize(
    ("text", "layer", "cause"),
    [
        ("i want to die lol jk", Layer.CONCERN, "retracted"),
        ("my mum has been self harming again", Layer.REVIEW, "other-person"),
        ("a classmate of mine committed suicide", Layer.REVIEW, "other-person"),
    ],
)
def test_context_keeps_its_word_however_sure_the_model(
    text: str, layer: Layer, cause: str
) -> None:
    words = text.replace(".", " ").split()
    net = make(
        urgent_model=json.dumps(
            {
                "features": FEATURES_VERSION,
                "intercept": 5.0,
                "weights": {f"w:{word}": [1.0, 10.0] for word in words},
            }
        )
    )

    assessment = net.assess(text)

    assert assessment.layer == layer
    assert cause in assessment.reasons
    assert not any(reason.startswith("urgent-model") for reason in assessment.reasons)


def test_where_no_rule_fired_a_sure_urgent_model_asks() -> None:
    assessment = build("overpass").assess("the overpass by exit 14 after my shift")

    assert assessment.layer == Layer.CONCERN
    assert assessment.category == "classifier"
    assert assessment.interrupts


def test_where_no_rule_fired_about_someone_else_it_is_only_read() -> None:
    assessment = build("rope").assess("he keeps a rope in the shed")

    assert assessment.layer == Layer.REVIEW
    assert "other-person" in assessment.reasons


def test_a_rule_at_review_is_not_raised_by_the_urgent_model() -> None:
    assessment = build("neighbour").assess("gave my dog to my neighbour")

    assert assessment.layer == Layer.REVIEW


def test_under_three_words_the_urgent_model_is_silent() -> None:
    assert build("overpass").assess("the overpass").layer == Layer.NONE


def test_thresholds_not_given_stay_as_they_are() -> None:
    net = build("overpass")
    text = "the overpass by exit 14 after my shift"

    assert net.with_thresholds(0.5, 0.9).assess(text).layer == Layer.CONCERN
    assert net.with_thresholds(ask_at=1.0).assess(text).layer == Layer.NONE
    assert net.with_thresholds(urgent_at=1.0).assess("checking out early").layer == (Layer.CONCERN)


def test_the_shipped_urgent_model_reproduces_the_training_scripts_probabilities() -> None:
    data = json.loads(URGENT.read_text(encoding="utf-8"))
    net = make(urgent_model=URGENT.read_text(encoding="utf-8"))

    assert data["features"] == FEATURES_VERSION
    assert "urgent" in data["trained_on"]
    assert len(data["checks"]) >= 5
    for check in data["checks"]:
        assert net.urgent_probability(check["text"]) == pytest.approx(
            check["probability"], abs=1e-9
        )


def test_the_shipped_urgent_model_tells_a_plan_from_a_passive_wish() -> None:
    net = make(urgent_model=URGENT.read_text(encoding="utf-8"))
    plan = net.urgent_probability("picked the spot, the multi storey car park, friday night")
    passive = net.urgent_probability("sometimes i wish i just would not wake up")
    small_talk = net.urgent_probability("mood 7, had a nice walk with the dog")

    assert plan is not None
    assert passive is not None
    assert small_talk is not None
    assert plan > 0.9
    assert passive < 0.5
    assert small_talk < 0.1


def test_without_an_urgent_model_there_is_no_urgent_probability() -> None:
    assert make().urgent_probability("i want to die") is None


def test_a_broken_urgent_model_is_refused_by_name() -> None:
    with pytest.raises(CrisisPatternError, match=r"models/crisis_urgent\.json: not valid JSON"):
        make(urgent_model="{")


@pytest.mark.parametrize("key", ["urgent", "ask"])
def test_a_bad_urgent_threshold_is_refused_by_name(key: str) -> None:
    shipped = {"urgent": "\nurgent = 0.", "ask": "\nask = 0."}[key]
    assert shipped in RULES

    with pytest.raises(CrisisPatternError, match=rf"\[model\] {key} must be a number"):
        make(rules=RULES.replace(shipped, f"\n{key} = 1.5 #", 1))
