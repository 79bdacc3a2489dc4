"""Emoji: named with the emoji package, grouped, and matched as combinations (knife + blood)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import emoji

from bot.domain.crisis._assessment import Hit, Layer

# Emoji live at U+203C and above; plain text (and curly quotes, accents) skips the package.
_MAYBE_EMOJI = re.compile("[\u203c-\U0010ffff]")
_NAME = re.compile("\x00([^\x00]+)\x00")


@dataclass(frozen=True, slots=True)
class EmojiRule:
    """Fires when the message has at least `needs` emoji of each group (and no laughter)."""

    name: str
    needs: Mapping[str, int]
    layer: Layer
    max_words: int | None


def emoji_names(text: str) -> tuple[str, ...]:
    """Return the names of the emoji in text, in order ("kitchen_knife", "drop_of_blood")."""
    if _MAYBE_EMOJI.search(text) is None:
        return ()
    named = emoji.demojize(text, delimiters=("\x00", "\x00"))
    return tuple(name.casefold() for name in _NAME.findall(named))


class EmojiRules:
    """The [emoji] groups and [[emoji_rule]] entries of the net's rules file."""

    __slots__ = ("_groups", "_laugh", "_rules")

    def __init__(
        self, groups: Mapping[str, frozenset[str]], rules: Sequence[EmojiRule], laugh: str
    ) -> None:
        self._groups = {name: group for group, names in groups.items() for name in names}
        self._rules = tuple(rules)
        self._laugh = laugh

    def groups(self, names: Sequence[str]) -> Counter[str]:
        """Return how many emoji of each group the names hold."""
        return Counter(self._groups[name] for name in names if name in self._groups)

    def hits(self, names: Sequence[str], words: int) -> list[Hit]:
        """Return the emoji rules that fire; words is the message's count of other words."""
        if not names:
            return []
        counts = self.groups(names)
        if counts[self._laugh]:
            return []
        return [
            Hit(
                layer=rule.layer,
                category="emoji",
                reason=f"emoji:{rule.name}",
                matched=" ".join(names),
            )
            for rule in self._rules
            if all(counts[group] >= count for group, count in rule.needs.items())
            and (rule.max_words is None or words <= rule.max_words)
        ]
