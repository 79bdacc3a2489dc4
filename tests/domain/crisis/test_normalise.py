"""Normalisation: one spelling for the many ways of typing the same words."""

from __future__ import annotations

import pytest

from bot.domain.crisis import CrisisDetector, CrisisSignal


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
