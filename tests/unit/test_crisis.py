"""Crisis-language detection: example sets, normalisation, idioms, negation, loading, speed."""

from __future__ import annotations

import dataclasses
import logging
import random
import re
import timeit
import tomllib
from pathlib import Path

import pytest

from bot.domain.crisis import (
    CATEGORIES,
    CrisisDetector,
    CrisisPatternError,
    CrisisSignal,
    _scanner,
    _wrap,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "crisis_examples.toml"
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


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector.from_file()


@pytest.fixture(scope="module")
def examples() -> dict[str, list[str]]:
    with EXAMPLES.open("rb") as file:
        data = tomllib.load(file)
    return {"positive": data["positive"], "negative": data["negative"]}


def patterns_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "clinic_patterns.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CrisisPatternError) as info:
        CrisisDetector.from_file(path)
    return str(info.value)


# The example sets ------------------------------------------------------------------------


def test_example_sets_are_large_and_distinct(examples: dict[str, list[str]]) -> None:
    assert len(examples["positive"]) >= 60
    assert len(examples["negative"]) >= 60
    assert not set(examples["positive"]) & set(examples["negative"])


def test_recall_on_the_positive_examples_is_one(
    detector: CrisisDetector, examples: dict[str, list[str]]
) -> None:
    missed = [text for text in examples["positive"] if detector.check(text) is None]

    assert missed == [], f"{len(missed)} positive examples did not fire: {missed}"


def test_false_positive_rate_on_the_negative_examples_is_at_most_ten_percent(
    detector: CrisisDetector, examples: dict[str, list[str]]
) -> None:
    fired = [
        f"{text!r} -> {signal.category} ({signal.matched!r})"
        for text in examples["negative"]
        if (signal := detector.check(text)) is not None
    ]
    rate = len(fired) / len(examples["negative"])

    assert rate <= 0.10, f"false-positive rate {rate:.1%}: {fired}"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("honestly id be better off dead", "passive-death-wish"),
        ("i wish i wasn't here", "passive-death-wish"),
        ("there is no reason to live", "passive-death-wish"),
        ("i want to end it all", "suicidal-ideation"),
        ("i want to kill myself", "suicidal-ideation"),
        ("kms", "suicidal-ideation"),
        ("thinking about how to unalive myself", "plan-or-intent"),
        ("i'm going to take all my pills", "plan-or-intent"),
        ("i cut myself", "self-harm"),
        ("i keep wanting to hurt myself", "self-harm"),
        ("i can't go on", "indirect"),
        ("i need to say goodbye to everyone", "plan-or-intent"),
    ],
)
def test_the_phrases_from_the_brief_fire(
    detector: CrisisDetector, text: str, category: str
) -> None:
    signal = detector.check(text)

    assert signal is not None
    assert signal.category == category


def test_every_reported_category_is_known(
    detector: CrisisDetector, examples: dict[str, list[str]]
) -> None:
    found = {
        signal.category
        for text in examples["positive"]
        if (signal := detector.check(text)) is not None
    }

    assert found == set(CATEGORIES)


# What check() returns --------------------------------------------------------------------


def test_signal_names_the_normalised_words_that_fired(detector: CrisisDetector) -> None:
    assert detector.check("7 today... but I WANT TO DIE!!!") == CrisisSignal(
        category="passive-death-wish", matched="want to die"
    )


def test_the_most_severe_category_wins_wherever_it_is(detector: CrisisDetector) -> None:
    signal = detector.check("i want to die. i have a plan to end it on friday")

    assert signal is not None
    assert signal.category == "plan-or-intent"


def test_signal_is_frozen() -> None:
    signal = CrisisSignal(category="self-harm", matched="cut myself")

    with pytest.raises(dataclasses.FrozenInstanceError):
        signal.category = "other"  # type: ignore[misc]


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "😊😊", "...", "6", "ok thanks"])
def test_empty_and_trivial_texts_do_not_fire(detector: CrisisDetector, text: str) -> None:
    assert detector.check(text) is None


def test_a_signal_at_the_end_of_a_very_long_text_fires(detector: CrisisDetector) -> None:
    text = "mood 6 today, slept ok. " * 1000 + "honestly i want to die"

    assert detector.check(text) is not None


# Normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("I\u2019m NOT okay", "i am not okay"),
        ("\u201cdon\u2019t\u201d", ". do not ."),
        ("dont  do   not\t\tdon't", "do not do not . do not"),
        ("cant cannot can't", "can not can not can not"),
        ("\uff4b\uff49\uff4c\uff4c \uff4d\uff59\uff53\uff45\uff4c\uff46", "kill myself"),
        ("i wanna dieeeeee", "i want to die"),
        ("self-harm and/or self_harm", "self harm and or self harm"),
        ("sui\u200bcidal", "suicidal"),
        ("k1ll mys3lf", "kill myself"),
        ("k*ll myself, su**ide", "kill myself . suicide"),
        ("*** d* ok *sigh*", ". d . ok . sigh ."),
        ("rock & roll", "rock and roll"),
        ("ok.\n\nnot ok!!", "ok . not ok ."),
        ("everyone's tired", "everyones tired"),
        ("5/10 '", "5 10 ."),
    ],
)
def test_normalisation(detector: CrisisDetector, raw: str, normalised: str) -> None:
    assert detector.normalise(raw) == normalised


def test_contractions_with_and_without_apostrophes_match_alike(detector: CrisisDetector) -> None:
    forms = ["i don't want to live", "i dont want to live", "i do not want to live"]

    assert {detector.check(text) for text in forms} == {
        CrisisSignal(category="passive-death-wish", matched="do not want to live")
    }


# Negation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I'm not suicidal",
        "i'm not suicidal just exhausted",
        "no thoughts of hurting myself",
        "i have never wanted to die",
        "i would never kill myself",
        "i haven't had any suicidal thoughts",
        "im not going to hurt myself",
        "no suicidal thoughts or self harm",
        "i dont want to die, i want to get better",
    ],
)
def test_a_negation_that_governs_the_phrase_suppresses_it(
    detector: CrisisDetector, text: str
) -> None:
    assert detector.check(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "I'm not sure I want to live",
        "I don't want to be here anymore",
        "not going to lie, I want to die",
        "ngl i want to die",
        "i'm not suicidal but i want to die",
        "i'm not suicidal. i want to die",
        "no i want to die",
        "if i don't get help i will kill myself",
        "why do i not want to live",
        "i can't stop thinking about killing myself",
        "i never thought i would want to die",
        "i'm not ok and i want to hurt myself",
    ],
)
def test_an_ambiguous_or_distant_negation_still_fires(detector: CrisisDetector, text: str) -> None:
    assert detector.check(text) is not None


# Idioms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "this commute is killing me",
        "my feet are killing me",
        "dying to know how the next one goes",
        "this cake is to die for",
        "i would kill for a coffee",
        "im dead 😂",
        "dead tired",
        "killer workout",
        "slay",
        "killing it at work",
        "cut myself shaving",
        "i take all my meds in the morning",
        "ran 10 kms",
    ],
)
def test_idioms_do_not_fire(detector: CrisisDetector, text: str) -> None:
    assert detector.check(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "this pain is killing me, I want to die",
        "my feet are killing me and i want to kill myself",
        "cut myself shaving and then cut myself on purpose",
        "i take all my meds in the morning, tonight i will take all of them at once",
    ],
)
def test_an_idiom_does_not_hide_a_signal_next_to_it(detector: CrisisDetector, text: str) -> None:
    assert detector.check(text) is not None


# The combined scanner --------------------------------------------------------------------


def test_the_combined_scanner_fires_exactly_where_a_category_does(
    detector: CrisisDetector, examples: dict[str, list[str]]
) -> None:
    disagree = []
    for text in examples["positive"] + examples["negative"]:
        prepared = detector._prepare(text)
        for index, char in enumerate(prepared):
            if char != " ":
                continue
            combined = detector._scanner.match(prepared, index) is not None
            separate = any(regex.match(prepared, index) for _, regex in detector._categories)
            if combined != separate:
                disagree.append((text, index))

    assert disagree == []


def test_the_trie_rewrite_keeps_the_language_of_tricky_patterns() -> None:
    patterns = [
        "(?:going to|gonna|will) (?:just )?die",
        "(?:a|an)? ?b c",
        "x(?:y|z)?",
        "[0-9]+ kms",
        r"(?:(?:very|so) )?sad(?= (?:\.|$))",
        "(?:ab|ac)(?:d|e)f",
        r"q\w*",
        "(?:(?:i|me) ){0,2}go(?! on)",
    ]
    vocabulary = [
        "going",
        "to",
        "gonna",
        "will",
        "just",
        "die",
        "a",
        "an",
        "b",
        "c",
        "x",
        "xy",
        "xz",
        "5",
        "kms",
        "very",
        "so",
        "sad",
        ".",
        "abdf",
        "acef",
        "q",
        "qq",
        "i",
        "me",
        "go",
        "on",
    ]
    combined = re.compile(_scanner(patterns))
    plain = re.compile(_wrap("|".join(patterns)))
    rng = random.Random(4)
    for _ in range(3000):
        text = " " + " ".join(rng.choices(vocabulary, k=rng.randint(1, 6))) + " "
        for index in range(len(text)):
            assert (combined.match(text, index) is None) == (plain.match(text, index) is None), (
                text,
                index,
            )


# Speed and purity ------------------------------------------------------------------------


def test_a_4096_character_text_is_checked_in_well_under_a_millisecond(
    detector: CrisisDetector, examples: dict[str, list[str]]
) -> None:
    quiet = [text for text in examples["negative"] if detector.check(text) is None]
    text = ". ".join(quiet * 4)[:4096]
    assert len(text) == 4096
    assert detector.check(text) is None

    seconds = min(timeit.repeat(lambda: detector.check(text), number=20, repeat=5)) / 20

    assert seconds < 0.001


@pytest.mark.parametrize(
    "text",
    ["*" * 4096, "a*" * 2048, "a" * 4094 + " *", "want to " * 512, "not " * 1024, "1a" * 2048],
    ids=["stars", "censored-run", "letters-then-star", "want-to", "not", "leet"],
)
def test_pathological_texts_stay_fast(detector: CrisisDetector, text: str) -> None:
    seconds = min(timeit.repeat(lambda: detector.check(text[:4096]), number=3, repeat=3)) / 3

    assert seconds < 0.005


def test_check_logs_nothing(detector: CrisisDetector, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        detector.check("i want to kill myself")
        detector.check("fine today")

    assert caplog.records == []


# Loading and validating a patterns file --------------------------------------------------


def test_from_file_reads_a_clinic_copy(tmp_path: Path) -> None:
    path = tmp_path / "clinic_patterns.toml"
    path.write_text(MINIMAL, encoding="utf-8")

    detector = CrisisDetector.from_file(path)

    assert detector.source == str(path)
    assert detector.check("i dont really want to die") is None
    assert detector.check("i really want to die") == CrisisSignal(
        category="passive-death-wish", matched="want to die"
    )


def test_the_shipped_file_loads_from_the_package() -> None:
    assert CrisisDetector.from_file().source == "bot/data/crisis_patterns.toml"


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
        CrisisDetector.from_file(path)
