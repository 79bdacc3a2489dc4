"""Typo tolerance: misspelt key words ("myslef", "suicdal", "killng") read as the word meant."""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

_SHORTEST = 5
_LONG = 9


class TypoFixer:
    """Replaces a word that is one edit (two, for long words) from a key word.

    An edit is an insertion, deletion, substitution or swap of neighbours (optimal string
    alignment, computed by rapidfuzz). Only words of five letters or more are touched, and
    never a real word: `known` lists the real English words that are that close to a key
    word ("filling" is not "killing"); nor a key word with an s ("everyones", "bridges"),
    which is how possessives look once apostrophes are dropped.
    """

    __slots__ = ("_cache", "_keywords", "_known")

    def __init__(self, keywords: Iterable[str], known: Iterable[str]) -> None:
        self._keywords = tuple(sorted(set(keywords)))
        self._known = frozenset(known) | frozenset(self._keywords)
        self._cache: dict[str, str] = {}

    def fix(self, prepared: str) -> str:
        """Return normalised text with misspelt key words corrected (the same text if none)."""
        changed = False
        words = prepared.split(" ")
        for index, word in enumerate(words):
            if (
                len(word) < _SHORTEST
                or word in self._known
                or word[:-1] in self._known
                or not word.isalpha()
            ):
                continue
            fixed = self.word(word)
            if fixed != word:
                words[index] = fixed
                changed = True
        return " ".join(words) if changed else prepared

    def word(self, word: str) -> str:
        """Return the key word that word misspells, or word itself."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        limit = 1 if len(word) < _LONG else 2
        found = process.extractOne(word, self._keywords, scorer=OSA.distance, score_cutoff=limit)
        fixed = word if found is None else found[0]
        if len(self._cache) < 4096:
            self._cache[word] = fixed
        return fixed
