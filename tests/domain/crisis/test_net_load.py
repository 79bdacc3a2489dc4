"""The net's rules file is validated when the net is built; errors name the file and entry."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from bot.domain.crisis import CrisisNet, CrisisPatternError, Layer

DATA = resources.files("bot").joinpath("data")
RULES = DATA.joinpath("crisis_net.toml").read_text(encoding="utf-8")


def build(rules: str) -> CrisisNet:
    return CrisisNet.from_texts(
        patterns=DATA.joinpath("crisis_patterns.toml").read_text(encoding="utf-8"),
        rules=rules,
        model=DATA.joinpath("models", "crisis_classifier.json").read_text(encoding="utf-8"),
    )


def test_the_shipped_files_build_a_net() -> None:
    assert build(RULES).source == "bot/data"


BROKEN = [
    ("not TOML", RULES + "\n[[rule]\n", "not valid TOML"),
    ("unknown section", RULES + "\n[extra]\n", "unknown section(s) extra"),
    (
        "example does not fire",
        RULES.replace('examples = ["they pumped my stomach",', 'examples = ["they fed me",'),
        "does not fire on its example 'they fed me'",
    ),
    (
        "bad layer",
        RULES.replace('layer = "review"\nnote = "giving', 'layer = "loud"\nnote = "giving'),
        "layer 'loud'",
    ),
    ("bad language code", RULES.replace('lang = "es"', 'lang = "spanish"', 1), "two-letter code"),
    (
        "bad emoji count",
        RULES.replace("needs = { blade = 1, blood = 1 }", "needs = { blade = 0 }"),
        "'needs'",
    ),
    (
        "emoji example",
        RULES.replace('examples = ["🔪🩸"]', 'examples = ["🙂"]'),
        "does not fire on '🙂'",
    ),
    ("threshold", RULES.replace("review = 0.80", "review = 2.0"), "[model] review"),
    (
        "context regex",
        RULES.replace("present = ' (?:now|", "present = ' (?:now|("),
        "[context] present",
    ),
    ("unknown macro", RULES.replace("{final}", "{finale}", 1), "unknown macro {finale}"),
    ("no keywords", RULES.replace("keywords = [", "keywords_ = [", 1), "[fuzzy] keywords"),
]


@pytest.mark.parametrize(("what", "text", "error"), BROKEN, ids=[item[0] for item in BROKEN])
def test_a_broken_rules_file_is_refused(what: str, text: str, error: str) -> None:
    with pytest.raises(CrisisPatternError, match=r"crisis_net\.toml") as info:
        build(text)

    assert error in str(info.value)


def test_every_shipped_example_reaches_its_layer_once_context_has_spoken(
    rules_net: CrisisNet,
) -> None:
    rules = tomllib.loads(
        resources.files("bot").joinpath("data", "crisis_net.toml").read_text(encoding="utf-8")
    )
    short: list[tuple[str, str, str]] = []
    for entry in [*rules["rule"], *rules["language"]]:
        declared = Layer.named(entry.get("layer", "concern"))
        for example in entry["examples"]:
            reached = rules_net.assess(example).layer
            if reached < declared:
                short.append((example, str(declared), str(reached)))

    assert short == []
