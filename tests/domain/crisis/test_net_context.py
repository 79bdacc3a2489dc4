"""Context moves a hit down a layer, never to nothing."""

from __future__ import annotations

import pytest

from bot.domain.crisis import CrisisNet, Layer


def verdict(net: CrisisNet, text: str) -> tuple[Layer, tuple[str, ...]]:
    assessment = net.assess(text)
    return assessment.layer, assessment.reasons


@pytest.mark.parametrize(
    "text",
    [
        "my friend attempted suicide",
        "my brother has been suicidal and i'm worried",
        "my son said he wants to die when he lost his game",
        "my mum has been self harming again",
        "a classmate of mine committed suicide",
        "my son said 'i want to die' when his team lost",
    ],
)
def test_about_someone_else_is_review(net: CrisisNet, text: str) -> None:
    layer, reasons = verdict(net, text)

    assert layer == Layer.REVIEW
    assert "other-person" in reasons


@pytest.mark.parametrize(
    "text",
    [
        "i tried to kill myself in 2010, i'm in a much better place now",
        "i used to self harm as a teen but that was years ago",
        "years ago i was suicidal but therapy changed that",
        "thoughts of suicide haven't come back since june",
        "i took an overdose after my divorce, that was ages ago",
    ],
)
def test_history_that_is_long_over_is_review(net: CrisisNet, text: str) -> None:
    layer, reasons = verdict(net, text)

    assert layer == Layer.REVIEW
    assert "history" in reasons


@pytest.mark.parametrize(
    "text",
    [
        "i tried to kill myself years ago and now i feel like that again",
        "i used to self harm years ago and now i want to die",
        "i used to cut, the urges are coming back",
    ],
)
def test_history_coming_back_is_not_demoted(net: CrisisNet, text: str) -> None:
    assert net.assess(text).layer >= Layer.CONCERN


@pytest.mark.parametrize(
    "text", ["suicidal thoughts? no", "self harm: none", "thoughts of ending my life - no, never"]
)
def test_a_no_to_a_screening_question_is_review(net: CrisisNet, text: str) -> None:
    layer, reasons = verdict(net, text)

    assert layer == Layer.REVIEW
    assert "screening-no" in reasons


@pytest.mark.parametrize(
    "text",
    [
        "i want to kill myself. no, i'm not",
        "i want to die lol jk",
        "i want to end it all... not serious",
        "i want to die but i'm safe",
    ],
)
def test_an_urgent_phrase_then_a_retraction_is_concern(net: CrisisNet, text: str) -> None:
    layer, reasons = verdict(net, text)

    assert layer == Layer.CONCERN
    assert "retracted" in reasons


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("the suicide scene in 13 reasons why was hard to watch", "media"),
        ("read an article about suicide rates in men", "media"),
        ("if i have to sit through one more meeting i'll kill myself lol", "humour"),
        ("this spreadsheet makes me want to die 😂", "humour"),
        ("does ketamine help with suicidal thoughts?", "question"),
        ("can i overdose on my antidepressants if i take them with ketamine?", "question"),
    ],
)
def test_media_jokes_and_treatment_questions_are_review(
    net: CrisisNet, text: str, cause: str
) -> None:
    layer, reasons = verdict(net, text)

    assert layer == Layer.REVIEW
    assert cause in reasons


@pytest.mark.parametrize(
    "text",
    [
        "is it normal to feel suicidal after the infusion?",
        "i'm fine, just tired. i want to die lol",
        "my friend attempted suicide and honestly i want to die too",
        "my mum doesn't know i want to die",
    ],
)
def test_the_patient_speaking_of_themselves_stays_urgent(net: CrisisNet, text: str) -> None:
    assert net.assess(text).layer == Layer.URGENT


def test_context_never_demotes_to_nothing(net: CrisisNet) -> None:
    demoted = [
        "my friend attempted suicide",
        "self harm? no",
        "i used to self harm as a teen but that was years ago",
        "watching a film about suicide",
        "monday again, i want to die lol",
    ]

    assert all(net.assess(text).layer >= Layer.REVIEW for text in demoted)


def test_an_acted_report_in_the_past_is_not_acted(net: CrisisNet) -> None:
    assessment = net.assess("back in 2014 i took all my pills, i'm glad i survived")

    assert assessment.layer == Layer.REVIEW
    assert not assessment.acted
