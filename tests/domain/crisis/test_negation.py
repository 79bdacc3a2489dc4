"""Negation: a negator that governs the phrase suppresses it; an ambiguous one does not."""

from __future__ import annotations

import pytest

from bot.domain.crisis import CrisisDetector


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
