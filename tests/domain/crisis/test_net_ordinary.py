"""Ordinary messages that the rule families of 2026-12-01 once flagged: a reviewer wrote them
to provoke those rules (doses in mg, sunburn, sports, sign-offs, medicines taken as
prescribed in five languages). None may interrupt the patient now. Two more that the
rules no longer flag, "Figured out how." and "I've taken the whole week off work", are left
out: since the second retraining the classifier asks about them (README, crisis section)."""

from __future__ import annotations

import pytest

from bot.domain.crisis import CrisisNet, Layer


@pytest.mark.parametrize(
    "text",
    [
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
def test_an_ordinary_message_does_not_interrupt(net: CrisisNet, text: str) -> None:
    assert net.assess(text).layer < Layer.CONCERN


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
