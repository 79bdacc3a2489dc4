"""The most common crisis phrases in a few other languages, matched on accent-folded text."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Return text as " words " without accents, case or punctuation ("Não!" -> " nao ")."""
    decomposed = unicodedata.normalize("NFKD", text)
    if not decomposed.isascii():
        decomposed = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = _NON_WORD.sub(" ", decomposed.casefold()).split()
    return " " + " ".join(words) + " "


def fold_pattern(pattern: str) -> str:
    """Return a regex with its accents and case folded like text."""
    decomposed = unicodedata.normalize("NFKD", pattern)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
