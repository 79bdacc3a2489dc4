"""What check() returns, idioms, the combined scanner, speed and purity."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from bot.domain.crisis import CrisisDetector, CrisisSignal

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


# Pathological input and purity (speed: benchmarks/bench_crisis_speed.py) -----------------


@pytest.mark.parametrize(
    "text",
    ["*" * 4096, "a*" * 2048, "a" * 4094 + " *", "want to " * 512, "not " * 1024, "1a" * 2048],
    ids=["stars", "censored-run", "letters-then-star", "want-to", "not", "leet"],
)
def test_pathological_texts_are_checked_without_firing(
    detector: CrisisDetector, text: str
) -> None:
    assert detector.check(text[:4096]) is None


def test_check_logs_nothing(detector: CrisisDetector, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        detector.check("i want to kill myself")
        detector.check("fine today")

    assert caplog.records == []
