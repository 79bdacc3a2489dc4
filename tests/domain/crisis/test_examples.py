"""The shipped patterns on the example messages: recall, false positives, the brief's phrases."""

from __future__ import annotations

import pytest

from bot.domain.crisis import CATEGORIES, CrisisDetector


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
