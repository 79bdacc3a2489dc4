"""Negation: when a negator just before a match suppresses it ("i am not suicidal")."""

from __future__ import annotations

from dataclasses import dataclass

_NOT_AFTER_TOKENS = 3
_WORD_WINDOW = 24


@dataclass(frozen=True, slots=True)
class NegationRules:
    """When a negator before a match suppresses it (see [negation] in the patterns file)."""

    negators: frozenset[str]
    bridge_words: frozenset[str]
    max_bridge_words: int
    not_after: frozenset[str]

    def suppresses(self, text: str, start: int) -> bool:
        """Return whether a negator governs the match at start of normalised text.

        A negator governs it when only bridge words (at most `max_bridge_words`) stand
        between them, and none of the three words before the negator, in its sentence, is a
        `not_after` word.
        """
        words = text[max(0, start - _WORD_WINDOW * 12) : start].split()[-_WORD_WINDOW:]
        for back in range(1, min(self.max_bridge_words + 1, len(words)) + 1):
            word = words[-back]
            if word in self.negators:
                before = words[max(0, len(words) - back - _NOT_AFTER_TOKENS) : len(words) - back]
                if "." in before:
                    before = before[len(before) - before[::-1].index(".") :]
                return not any(item in self.not_after for item in before)
            if word not in self.bridge_words:
                return False
        return False
