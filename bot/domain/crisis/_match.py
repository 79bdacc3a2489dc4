"""Finding every rule that fires in normalised text, with where it fired."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.crisis._assessment import Hit, Layer
from bot.domain.crisis._compile import scanner, wrap
from bot.domain.crisis._negation import NegationRules


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled-to-be rule: its regex (macros expanded) and what a match means."""

    expanded: str
    layer: Layer
    category: str
    reason: str
    acted: bool = False
    topic: bool = False


class Matcher:
    """Runs many rules over normalised text in one scan; rules with the same meaning share
    one regex."""

    __slots__ = ("_groups", "_scanner")

    def __init__(self, rules: Sequence[Rule]) -> None:
        merged: dict[tuple[Layer, str, str, bool, bool], list[str]] = {}
        for rule in rules:
            key = (rule.layer, rule.category, rule.reason, rule.acted, rule.topic)
            merged.setdefault(key, []).append(rule.expanded)
        ordered = sorted(merged.items(), key=lambda item: -item[0][0])
        self._groups = tuple(
            (Rule("", *key), re.compile(wrap("|".join(found)))) for key, found in ordered
        )
        self._scanner = re.compile(scanner([rule.expanded for rule in rules])) if rules else None

    def hits(self, prepared: str, negation: NegationRules) -> list[Hit]:
        """Return every (rule group, position) that fires and is not negated."""
        found: list[Hit] = []
        if self._scanner is None:
            return found
        candidate = self._scanner.search(prepared)
        while candidate is not None:
            start = candidate.start()
            if not negation.suppresses(prepared, start):
                for rule, regex in self._groups:
                    match = regex.match(prepared, start)
                    if match is not None:
                        found.append(
                            Hit(
                                layer=rule.layer,
                                category=rule.category,
                                reason=rule.reason,
                                matched=match.group().strip(),
                                acted=rule.acted,
                                start=start,
                                end=match.end(),
                                topic=rule.topic,
                            )
                        )
            candidate = self._scanner.search(prepared, start + 1)
        return found
