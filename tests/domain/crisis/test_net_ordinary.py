"""Ordinary messages that the rule families of 2026-12-01 once flagged: a reviewer wrote them
to provoke those rules (doses in mg, sunburn, sports, sign-offs, medicines taken as
prescribed in five languages). The rules alone may not interrupt the patient on any of them
(the classifier, retrained since, asks about a few: see the README's crisis section)."""

from __future__ import annotations

import pytest

from bot.domain.crisis import CrisisNet, Layer

# The first three tests use the rules alone (rules_net): they test how far the rules were
# narrowed, and must not pass or fail on a retrained classifier's last decimal.


@pytest.mark.parametrize(
    "text",
    [
        "Figured out how.",
        "I've taken the whole week off work",
        "Odd on my way home after the infusion",
        "took 12 of my friends out for dinner",
        "its done. took them to the vet",
        "my nose is bleeding a lot",
        "i tried it last night and it was delicious",
        "my dad found me in the garage fixing the bike",
        "they kept me on a long hold on the phone",
        "haven't eaten since lunch, i deserve a big dinner",
        "the marks on my arm are from the cannula",
        "the nurse took a lot of blood",
        "got a cut on my arm",
        "back to the cutting board",
        "Burnt again. forgot the sunscreen",
        "yes, going through with it. see you thursday for the infusion",
        "won't be needing any more sessions. thanks!",
        "i know where and when. see you at 2",
        "the hose is in the garage",
        "Ya me tomé todas mis pastillas de la mañana",
        "J'ai pris tous mes médicaments aujourd'hui",
        "penso spesso alla morte di mio padre",
        "Doctor upped my sertraline, I took 100 mg this morning",
        "I ate 20 of them lol, the dumplings were amazing",
        "Ate the whole box of chocolates, no regrets",
        "Took handfuls of photos at the beach",
        "Took them an hour ago",
        "Forms? I just did it.",
        "Period came early and I'm bleeding heavily",
        "Odd last night, felt floaty after the infusion",
        "I od'd on sugar at my nephew's party lol",
        "I did try, honestly",
        "Tried to drive the car but the battery was dead",
        "The rope snapped while we were towing the car",
        "My belt broke.",
        "You'll find me in the car, I'm waiting outside",
        "Wrote down the steps.",
        "What way is the quickest from the motorway?",
        "Yes Thursday at 2, that's when",
        "Parking is tricky but I've got a plan for it",
        "The date is set!",
        "Tuesday 2-4, that's my window.",
        "The bus doesn't slow down at my stop",
        "Jumping off the side of the boat into the sea today",
        "My car won't last another winter",
        "If I'm still here at noon I'll text you",
        "Annoyed that I woke up at 5am again",
        "See you on the other side of the holidays!",
        "Ok, signing off.",
        "I won't get the chance to call before Friday",
        "You tried your best with the insurance, thank you",
        "Final check in!",
        "Sorry, the car is in the way.",
        "One less thing to worry about!",
        "All I do is take naps these days",
        "Going to see my mum.",
        "I'm going to see my dad again this weekend",
        "Nosebleed, blood all over my shirt",
        "Power cut again.",
        "The massage went too deep, I'm sore",
        "Back to the razor after trying an electric shaver",
        "Thanks for the tips, I acted on them",
        "Slammed my fingers in the door this morning, ouch",
        "Holding a hot water bottle against my stomach for cramps",
        "Haven't eaten since midnight on purpose, fasting for the infusion",
        "Can't log in to the app. Please help!",
        "Roads are icy, not safe tonight, can I do a video call instead?",
        "Never doing another round. Golf is not my sport",
        "Me quemé ayer en la playa",
        "Me corté ayer con un papel",
        "Ya me tomé mis pastillas",
        "Ich hab mich gestern verletzt, beim Fußball",
        "J'ai pris mes médicaments",
        "Je me suis brûlé la main en repassant",
        "Já tomei os remédios",
        "Ho preso le mie medicine",
        "no more",
        "hello there",
        "see you there",
    ],
)
def test_an_ordinary_message_does_not_interrupt(rules_net: CrisisNet, text: str) -> None:
    assert rules_net.assess(text).layer < Layer.CONCERN


@pytest.mark.parametrize(
    ("text", "acted"),
    [
        ("took 50 tylenol about an hour ago", True),
        ("injected all my insulin just now", True),
        ("its done. took them an hour ago", True),
        ("relapsed on the blade. 8 months clean and gone", False),
        ("overdosed tuesday, spent the night in a&e", False),
        ("i want to be dead right now", False),
        ("me corté otra vez anoche", False),
        ("ich habe mich wieder geritzt", False),
    ],
)
def test_the_new_families_are_urgent(net: CrisisNet, text: str, acted: bool) -> None:
    assessment = net.assess(text)

    assert assessment.layer == Layer.URGENT
    assert assessment.acted is acted


@pytest.mark.parametrize(
    "text",
    [
        "i'll do it, sorry i forgot the questionnaire",
        "I'll do it. Sorry for the late reply!",
        "Goodbye everyone, see you Thursday",
        "This is my last message for today, off to bed",
    ],
)
def test_a_bare_phrase_is_asked_about_not_answered_with_the_crisis_reply(
    rules_net: CrisisNet, text: str
) -> None:
    assessment = rules_net.assess(text)

    assert assessment.layer == Layer.CONCERN
    assert "bare" in assessment.reasons


@pytest.mark.parametrize(
    "text",
    [
        "im going to do it tonight",
        "i will do it when the kids are asleep",
        "i want to die. i will do it",
        "I am on the bridge now. I am going to do it",
    ],
)
def test_a_phrase_with_a_when_or_a_crisis_word_stays_urgent(
    rules_net: CrisisNet, text: str
) -> None:
    assert rules_net.assess(text).layer == Layer.URGENT
