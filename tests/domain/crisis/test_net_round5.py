"""Round 5's rules (written from training batch O's misses) and the near-misses they must not
catch, on the rules alone so that no classifier hides a gap."""

from __future__ import annotations

import pytest

from bot.domain.crisis import CrisisNet, Layer


@pytest.mark.parametrize(
    "text",
    [
        "took an overdose on sunday, spent the day in a&e",
        "no reasn to stay aliv tbh",
        "no reason to stay alive anymore",
        "want to kil my slef",
        "put a cigarette out on my hand after the call",
        "pressed the hot spoon against my arm",
        "dug a safety pin into my ankle in the meeting",
        "booked a hotel so my kids don't find me",
    ],
)
def test_acts_self_harm_and_dropped_pronouns_are_urgent(rules_net: CrisisNet, text: str) -> None:
    assert rules_net.assess(text).layer == Layer.URGENT


@pytest.mark.parametrize(
    "text",
    [
        "standing past the yellow line, waiting for the fast one",
        "on the bridge, been here an hour looking down",
        "skipped lunch as punishment for crying",
        "wrote instructions for my wife so she can manage without me",
        "made a playlist for my funeral",
        "cancelled my trip in may, don't think i'll need it",
        "this is me signing off. don't worry about me",
        "tell my son i was proud of him",
        "wont be at the next infusion. or any",
        "time to cash in my chips",
        "nu mai pot, aș vrea să dispar",
        "tô sem esperança nenhuma",
        "wala na akong pag-asa",
    ],
)
def test_edges_preparation_goodbyes_and_languages_ask(rules_net: CrisisNet, text: str) -> None:
    assert rules_net.assess(text).layer == Layer.CONCERN


@pytest.mark.parametrize(
    "text",
    [
        "signing off for the night, long shift",
        "ok, signing off",
        "the water is up to my chest, lovely swim this morning",
        "tell my mum i said hi",
        "if anyone reads this review, the pizza was great",
        "nu mai pot să mănânc, am mâncat prea mult",
        "took an overdose of caffeine lol",
        "pressed it on my knee with ice, the sprain is better",
        "cashing in my chips at the casino",
        "no point booking the restaurant, it's full",
        "cancelled the gym, dont think ill need it now i run",
    ],
)
def test_their_near_misses_do_not_interrupt(rules_net: CrisisNet, text: str) -> None:
    assert rules_net.assess(text).layer < Layer.CONCERN


def test_someone_elses_overdose_reaches_a_human_without_interrupting(
    rules_net: CrisisNet,
) -> None:
    assessment = rules_net.assess("my colleague took an overdose")

    assert assessment.layer == Layer.REVIEW


def test_refusing_to_say_where_is_not_a_retraction(rules_net: CrisisNet) -> None:
    text = "hotel room so my kids don't find me. no i'm not telling you which hotel"

    assert rules_net.assess(text).layer == Layer.URGENT
    assert rules_net.assess("so my kids don't find me. no i'm not, i'm safe").layer < Layer.URGENT
