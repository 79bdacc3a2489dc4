"""Loading and validating a patterns file: a clinic's copy, the shipped one, bad ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.crisis import CrisisPatternError, CrisisSignal
from bot.runtime.content import load_crisis_detector

MINIMAL = """
[normalise]
replacements = { "dont" = "do not" }

[negation]
negators = ["not"]
bridge_words = ["really"]
max_bridge_words = 2
not_after = []

[[pattern]]
category = "passive-death-wish"
pattern = 'want to die'
examples = ["i want to die"]
"""


def patterns_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "clinic_patterns.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CrisisPatternError) as info:
        load_crisis_detector(path)
    return str(info.value)


def test_a_clinic_copy_is_read(tmp_path: Path) -> None:
    path = tmp_path / "clinic_patterns.toml"
    path.write_text(MINIMAL, encoding="utf-8")

    detector = load_crisis_detector(path)

    assert detector.source == str(path)
    assert detector.check("i dont really want to die") is None
    assert detector.check("i really want to die") == CrisisSignal(
        category="passive-death-wish", matched="want to die"
    )


def test_the_shipped_file_loads_from_the_package() -> None:
    assert load_crisis_detector().source == "bot/data/crisis_patterns.toml"


BAD_PATTERN_FILES = [
    ("not TOML", "[[pattern]\n", "not valid TOML"),
    ("invalid regex", MINIMAL.replace("'want to die'", "'want to (die'"), "not a valid regular"),
    (
        "unknown category",
        MINIMAL.replace('"passive-death-wish"', '"sadness"'),
        "category 'sadness' is not one of",
    ),
    ("missing category", MINIMAL.replace('category = "passive-death-wish"', ""), "category None"),
    ("unknown macro", MINIMAL.replace("'want to die'", "'want to {die}'"), "unknown macro {die}"),
    (
        "example does not fire",
        MINIMAL.replace('["i want to die"]', '["i wish to die"]'),
        "does not fire on its example 'i wish to die'",
    ),
    (
        "example negated",
        MINIMAL.replace('["i want to die"]', '["i do not want to die"]'),
        "does not fire on its example",
    ),
    ("no examples", MINIMAL.replace('examples = ["i want to die"]', ""), "'examples' must be"),
    ("matches empty text", MINIMAL.replace("'want to die'", "'(?:want to die)?'"), "empty text"),
    ("capturing group", MINIMAL.replace("'want to die'", "'want to (die)'"), "capturing"),
    ("leading space", MINIMAL.replace("'want to die'", "' want to die'"), "start or end"),
    ("unknown key", MINIMAL.replace("examples =", "severity = 3\nexamples ="), "severity"),
    ("unknown section", MINIMAL + "\n[extra]\n", "unknown section(s) extra"),
    ("no negation", MINIMAL.replace("[negation]", "[negations]"), "unknown section"),
    ("no patterns", MINIMAL.split("[[pattern]]")[0], "no [[pattern]] entries"),
    (
        "bad replacement",
        MINIMAL.replace('"dont" = "do not"', '"Dont" = "do not"'),
        "must be one lower-case word",
    ),
    (
        "bad bridge limit",
        MINIMAL.replace("max_bridge_words = 2", "max_bridge_words = 20"),
        "max_bridge_words",
    ),
    (
        "idiom without its example",
        MINIMAL + "\n[[idiom]]\npattern = 'dead tired'\nexamples = ['so tired']\n",
        "does not match its example 'so tired'",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in BAD_PATTERN_FILES],
    ids=[case[0] for case in BAD_PATTERN_FILES],
)
def test_a_bad_patterns_file_names_the_file_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = patterns_error(tmp_path, text)

    assert "clinic_patterns.toml" in message
    assert expected in message


def test_a_missing_patterns_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"

    with pytest.raises(CrisisPatternError, match=re.escape("absent.toml: cannot read")):
        load_crisis_detector(path)
