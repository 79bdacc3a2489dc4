"""The real words the typo fixer must leave alone: [fuzzy] real_words in crisis_net.toml.

A word list (one word a line; /usr/share/dict/words from Debian's wamerican package was
used) gives every real English word that is as close to a key word as the fixer's limit
(one edit, two for words of nine letters or more), so "giving" is never read as "living".
Run: python -m bot.research.crisis_words /usr/share/dict/words
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from bot.domain.crisis._fuzzy import TypoFixer


def near_words(words: Iterable[str], keywords: Iterable[str]) -> list[str]:
    """Return the words the fixer would change (real words close to a key word)."""
    fixer = TypoFixer(keywords, ())
    return sorted(
        {
            word
            for word in (raw.strip().lower() for raw in words)
            if word.isascii() and word.isalpha() and fixer.word(word) != word
        }
    )


def main(argv: list[str]) -> int:
    """Print the real_words list for the shipped keywords, given a word list path."""
    if len(argv) != 1:
        print("usage: python -m bot.research.crisis_words WORDLIST", file=sys.stderr)
        return 2
    rules = tomllib.loads(
        resources.files("bot").joinpath("data", "crisis_net.toml").read_text(encoding="utf-8")
    )
    lines = Path(argv[0]).read_text(encoding="utf-8", errors="replace").splitlines()
    found = near_words(lines, rules["fuzzy"]["keywords"])
    print("real_words = [" + ", ".join(f'"{word}"' for word in found) + "]")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
