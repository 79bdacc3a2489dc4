"""The crisis net's layers and rule families, the acted flag, typos, emoji, other languages."""

from __future__ import annotations

import logging

import pytest

from bot.domain.crisis import Assessment, CrisisNet, Layer


def layer(net: CrisisNet, text: str) -> Layer:
    return net.assess(text).layer


# Layers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("i want to kill myself", "suicidal-ideation"),
        ("i'm going to end it tonight", "plan-or-intent"),
        ("i have a plan, i know exactly how i would do it", "plan-or-intent"),
        ("the pills are lined up on the table", "plan-or-intent"),
        ("i cut myself again last night", "self-harm"),
        ("i tried to kill myself on saturday", "plan-or-intent"),
        ("i wish i was dead", "passive-death-wish"),
    ],
)
def test_explicit_language_is_urgent(net: CrisisNet, text: str, category: str) -> None:
    assessment = net.assess(text)

    assert assessment.layer == Layer.URGENT
    assert assessment.category == category
    assert assessment.matched


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("they pumped my stomach", "aftermath"),
        ("woke up in the icu", "aftermath"),
        ("thinking about checking out early", "euphemism"),
        ("i'm ready to check out", "euphemism"),
        ("nothing is ever going to get better", "hopeless"),
        ("i'm beyond help", "hopeless"),
        ("they'd cope fine without me, better even", "burden"),
        ("thank you for everything, goodbye", "goodbye"),
        ("tell my mum i love her", "goodbye"),
        ("i'm holding on but barely", "ambivalent"),
        ("i have these thoughts but i would never act on them", "ambivalent"),
        ("it would be a relief if i got sick and died", "passive"),
        ("wrote letters to my kids last night, just in case", "preparation"),
        ("i've been putting my affairs in order", "preparation"),
        ("gave my dog to my sister, she'll love him more than i can", "preparation"),
        ("the urges are really bad tonight", "harm"),
        ("i wanna dye", "typo"),
    ],
)
def test_each_concern_family_asks_directly(
    net: CrisisNet, rules_net: CrisisNet, text: str, family: str
) -> None:
    assessment = rules_net.assess(text)

    assert assessment.layer == Layer.CONCERN
    assert f"concern:{family}" in assessment.reasons
    # The urgent classifier may raise it (an attempt's aftermath is urgent), never lower it.
    assert net.assess(text).layer >= Layer.CONCERN


def test_the_urgent_classifier_raises_an_attempts_aftermath(net: CrisisNet) -> None:
    assessment = net.assess("they pumped my stomach")

    assert assessment.layer == Layer.URGENT
    assert "concern:aftermath" in assessment.reasons
    assert any(reason.startswith("urgent-model:") for reason in assessment.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "bought a rope",
        "been stockpiling my lithium",
        "i've been saving my oxycodone for months",
        "i have a rope in my car for it",
        "i have a gun at home and i keep looking at it",
    ],
)
def test_means_with_acquiring_or_keeping_them_is_urgent(net: CrisisNet, text: str) -> None:
    assert layer(net, text) == Layer.URGENT


def test_harm_verbs_with_a_body_part_fire(net: CrisisNet) -> None:
    assert "concern:harm" in net.assess("burned my arm with a lighter").reasons
    assert layer(net, "scratched my thighs on purpose") >= Layer.CONCERN
    assert layer(net, "burned my arm on the stove making dinner") == Layer.NONE


def test_bare_preparation_is_read_by_a_human_but_does_not_interrupt(net: CrisisNet) -> None:
    assessment = net.assess("i gave away my guitar and most of my books this week")

    assert assessment.layer == Layer.REVIEW
    assert "review:preparation" in assessment.reasons


@pytest.mark.parametrize(
    "text",
    [
        "mood 7 today, went for a walk",
        "this commute is killing me",
        "i'm not suicidal, just tired",
        "no thoughts of hurting myself",
        "cut myself shaving",
        "is nausea normal after the infusion?",
        "my phone died so i missed the check in",
        "",
        "💀 lol",
    ],
)
def test_everyday_figurative_and_negated_messages_are_nothing(net: CrisisNet, text: str) -> None:
    assert net.assess(text) == Assessment(layer=Layer.NONE)


def test_a_heavy_drink_may_reach_a_human_but_never_interrupts(net: CrisisNet) -> None:
    # A whole bottle from someone in treatment for depression is worth a nurse's glance;
    # it is not a reason to send the crisis reply or the direct question.
    assert net.assess("i drank a whole bottle of wine lol").layer <= Layer.REVIEW


def test_the_most_severe_hit_decides(net: CrisisNet) -> None:
    assessment = net.assess("nothing will ever get better. i have a plan to end my life")

    assert assessment.layer == Layer.URGENT
    assert {"concern:hopeless", "urgent:plan-or-intent"} <= set(assessment.reasons)


# Acted -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I took all my pills",
        "swallowed the bottle",
        "i just took 30 sleeping pills",
        "i've taken an overdose",
        "i just drank bleach",
        "i've cut my wrists",
        "i took the lot",
    ],
)
def test_an_act_already_taken_is_urgent_and_acted(net: CrisisNet, text: str) -> None:
    assessment = net.assess(text)

    assert assessment.layer == Layer.URGENT
    assert assessment.acted


@pytest.mark.parametrize(
    "text",
    [
        "i want to take all my pills",
        "i'm thinking about overdosing",
        "i took all my pills in 2012, i'm fine now",
        "i take all my meds in the morning",
        "they pumped my stomach",
    ],
)
def test_intentions_history_and_aftermath_are_not_acted(net: CrisisNet, text: str) -> None:
    assert not net.assess(text).acted


# Typos, emoji, other languages -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["feeling suicdal tonight", "im thinkng about killng myself", "i want to overdoze"],
)
def test_misspelt_key_words_are_read_with_rapidfuzz(net: CrisisNet, text: str) -> None:
    assessment = net.assess(text)

    assert assessment.layer == Layer.URGENT
    assert "typo" in assessment.reasons


@pytest.mark.parametrize("text", ["i am giving up", "the filling fell out", "living well"])
def test_real_words_near_a_key_word_are_left_alone(net: CrisisNet, text: str) -> None:
    assert "typo" not in net.assess(text).reasons


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("🔪🩸", "emoji:blade-blood"),
        ("💊💊💊💊 tonight", "emoji:pills"),
        ("⚰️⚰️", "emoji:death"),
        ("i'm done 🔫", "emoji:gun"),
        ("💊🥃", "emoji:pill-drink"),
    ],
)
def test_emoji_combinations_ask_directly(net: CrisisNet, text: str, rule: str) -> None:
    assessment = net.assess(text)

    assert assessment.layer == Layer.CONCERN
    assert rule in assessment.reasons


@pytest.mark.parametrize("text", ["🔪🩸😂", "💀💀", "pizza 🍕 tonight 🥳", "❤️🙏"])
def test_laughing_and_harmless_emoji_do_not_interrupt(net: CrisisNet, text: str) -> None:
    assert layer(net, text) < Layer.CONCERN


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("quiero morirme", "es"),
        ("Ya no quiero vivir", "es"),
        ("je veux mourir", "fr"),
        ("J'ai envie d'en finir", "fr"),
        ("ich will nicht mehr leben", "de"),
        ("Não quero mais viver", "pt"),
        ("voglio morire", "it"),
        ("ik wil dood", "nl"),
        ("chcę umrzeć", "pl"),
        ("хочу умереть", "ru"),
    ],
)
def test_the_commonest_phrases_in_other_languages_are_urgent(
    net: CrisisNet, text: str, lang: str
) -> None:
    assessment = net.assess(text)

    assert assessment.layer == Layer.URGENT
    assert f"lang:{lang}" in assessment.reasons


def test_other_language_hopelessness_asks_directly(net: CrisisNet) -> None:
    assert layer(net, "ya no aguanto más") == Layer.CONCERN
    assert layer(net, "je n'en peux plus") == Layer.CONCERN


# The same normalisation everywhere -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["I WANT TO DIE", "i want to die!!!", "i\u2019m done, i want to die", "i wanna dieeee"],
)
def test_case_punctuation_and_spelling_variants_agree(net: CrisisNet, text: str) -> None:
    assert layer(net, text) == Layer.URGENT


def test_the_old_check_still_works_beside_the_net(net: CrisisNet) -> None:
    signal = net.detector.check("i want to die")

    assert signal is not None
    assert signal.category == "passive-death-wish"


# Purity (speed: benchmarks/bench_crisis_speed.py) ----------------------------------------


def test_assess_logs_nothing(net: CrisisNet, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        net.assess("i want to kill myself")
        net.assess("fine today")

    assert caplog.records == []
