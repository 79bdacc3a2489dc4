"""The crisis detector: finds the most severe crisis signal in a patient's message."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain.crisis._compile import wrap
from bot.domain.crisis._errors import CrisisPatternError
from bot.domain.crisis._load import Entry, PatternsFile, parse
from bot.domain.crisis._negation import NegationRules
from bot.domain.crisis._normalise import Normaliser


@dataclass(frozen=True, slots=True)
class CrisisSignal:
    """A crisis signal: its category and the normalised words that triggered it."""

    category: str
    matched: str


class CrisisDetector:
    """Checks patient free text for suicide and self-harm language; pure and precompiled."""

    __slots__ = (
        "_categories",
        "_idioms",
        "_negation",
        "_normalise",
        "_scanner",
        "patterns",
        "source",
    )

    def __init__(
        self,
        *,
        replacements: Mapping[str, str],
        censorable: Sequence[str],
        idioms: re.Pattern[str] | None,
        categories: Sequence[tuple[str, re.Pattern[str]]],
        scanner: re.Pattern[str],
        negation: NegationRules,
        source: str,
    ) -> None:
        """Build a detector from compiled parts; use from_text() instead."""
        self._normalise = Normaliser(replacements, censorable)
        self._idioms = idioms
        self._categories = tuple(categories)
        self._scanner = scanner
        self._negation = negation
        self.source = source
        self.patterns: tuple[Entry, ...] = ()

    @classmethod
    def from_text(cls, text: str, *, source: str) -> CrisisDetector:
        """Parse and validate patterns TOML text; source names it in error messages."""
        return cls.from_patterns(parse(text, source), source=source)

    @classmethod
    def from_patterns(cls, patterns: PatternsFile, *, source: str) -> CrisisDetector:
        """Build a detector from a parsed patterns file (see from_text)."""
        detector = cls(
            replacements=patterns.replacements,
            censorable=patterns.censorable,
            idioms=patterns.idiom_regex,
            categories=patterns.categories,
            scanner=patterns.scanner,
            negation=patterns.negation,
            source=source,
        )
        detector._check_examples(patterns)
        detector.patterns = tuple(patterns.patterns)
        return detector

    def normalise(self, text: str) -> str:
        """Return text lower-cased, NFKC, with contractions expanded and punctuation as ' . '."""
        return self._normalise(text).strip()

    @property
    def negation(self) -> NegationRules:
        """Return the negation rules (the net applies them to its own rules too)."""
        return self._negation

    def words(self, text: str) -> str:
        """Return text normalised, with a space at each end, idioms not yet removed."""
        return self._normalise(text)

    def drop_idioms(self, normalised: str) -> str:
        """Return normalised text with every idiom replaced by a clause break."""
        if self._idioms is None:
            return normalised
        return self._idioms.sub(" .", normalised)

    def check(self, text: str) -> CrisisSignal | None:
        """Return the most severe crisis signal in text, or None."""
        prepared = self._prepare(text)
        best: tuple[int, str, str] | None = None
        candidate = self._first(self._scanner, prepared)
        while candidate is not None:
            start = candidate.start()
            for rank, (category, regex) in enumerate(
                self._categories[: best[0] if best else None]
            ):
                match = regex.match(prepared, start)
                if match is not None:
                    best = (rank, category, match.group().strip())
                    break
            if best is not None and best[0] == 0:
                break
            candidate = self._first(self._scanner, prepared, start + 1)
        return None if best is None else CrisisSignal(category=best[1], matched=best[2])

    def _prepare(self, text: str) -> str:
        return self.drop_idioms(self._normalise(text))

    def _first(
        self, regex: re.Pattern[str], prepared: str, start: int = 0
    ) -> re.Match[str] | None:
        match = regex.search(prepared, start)
        while match is not None and self._negation.suppresses(prepared, match.start()):
            match = regex.search(prepared, match.start() + 1)
        return match

    def _check_examples(self, patterns: PatternsFile) -> None:
        """Raise unless every idiom matches, and every pattern fires on, its own examples."""
        for idiom in patterns.idioms:
            regex = re.compile(wrap(idiom.expanded))
            for example in idiom.examples:
                if regex.search(self._normalise(example)) is None:
                    raise CrisisPatternError(
                        f"{idiom.where}: does not match its example {example!r}"
                    )
        for pattern in patterns.patterns:
            regex = re.compile(wrap(pattern.expanded))
            for example in pattern.examples:
                if self._first(regex, self._prepare(example)) is None:
                    raise CrisisPatternError(
                        f"{pattern.where}: does not fire on its example {example!r} "
                        "(check the idioms and negation rules too)"
                    )
