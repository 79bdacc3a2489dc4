"""The trie-factored scanner matches exactly what the patterns it combines match."""

from __future__ import annotations

import random
import re

from bot.domain.crisis._compile import scanner, wrap


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
    combined = re.compile(scanner(patterns))
    plain = re.compile(wrap("|".join(patterns)))
    rng = random.Random(4)
    for _ in range(3000):
        text = " " + " ".join(rng.choices(vocabulary, k=rng.randint(1, 6))) + " "
        for index in range(len(text)):
            assert (combined.match(text, index) is None) == (plain.match(text, index) is None), (
                text,
                index,
            )
