"""Patterns as regular expressions: macros, validation, and one trie-factored scanner."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.domain.crisis._errors import CrisisPatternError

_MACRO_NAME = re.compile(r"[a-z_]+")
_MACRO_USE = re.compile(r"\{([a-z_]+)\}")
_LITERAL_START = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 ")
_TRIE_DEPTH = 4
_QUANTIFIERS = frozenset("?*+{")


def read_macros(raw: object, source: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the [macros] table expanded and validated, over the base macros if any.

    A macro may use the ones above it and the base ones.
    """
    if not isinstance(raw, dict):
        raise CrisisPatternError(f"{source}: [macros] must be a table")
    found: dict[str, str] = dict(base or {})
    for name, value in raw.items():
        where = f"{source}: [macros] {name}"
        if _MACRO_NAME.fullmatch(name) is None:
            raise CrisisPatternError(f"{where}: names use only a-z and _")
        if not isinstance(value, str) or not value:
            raise CrisisPatternError(f"{where}: must be a non-empty string")
        value = _expand(value, found, where)
        try:
            re.compile(value)
        except re.error as err:
            raise CrisisPatternError(f"{where}: not a valid regular expression ({err})") from None
        found[name] = value
    return found


def _expand(pattern: str, macros: Mapping[str, str], where: str) -> str:
    def use(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise CrisisPatternError(f"{where}: unknown macro {{{name}}}")
        return macros[name]

    return _MACRO_USE.sub(use, pattern)


def compile_pattern(pattern: str, macros: Mapping[str, str], where: str) -> str:
    """Return a pattern with its macros expanded, after checking it can be matched safely."""
    if pattern != pattern.strip():
        raise CrisisPatternError(f"{where}: must not start or end with a space")
    expanded = _expand(pattern, macros, where)
    try:
        compiled = re.compile(expanded)
    except re.error as err:
        raise CrisisPatternError(f"{where}: not a valid regular expression ({err})") from None
    if compiled.fullmatch("") is not None:
        raise CrisisPatternError(f"{where}: matches empty text")
    if compiled.groups:
        raise CrisisPatternError(f"{where}: use (?:...) instead of capturing groups")
    return expanded


def wrap(pattern: str) -> str:
    """Return pattern as a regex for whole words of normalised text: from a space to one."""
    return " (?:" + pattern + ")(?= )"


def scanner(patterns: Sequence[str]) -> str:
    """Return one regex that matches wherever any of the patterns matches."""
    # Python's re skips an alternative that starts with a literal character cheaply, so
    # factoring the patterns into a character trie makes one scan over all of them about
    # as fast as a scan over a single one.
    alternatives = [branch for pattern in patterns for branch in _alternatives(pattern)]
    return wrap(_trie(alternatives, _TRIE_DEPTH))


def _scan(pattern: str, start: int, stop: str) -> int:
    """Return the index of the first character from stop outside groups and classes."""
    depth = 0
    index = start
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index += 2 if pattern[index + 1 : index + 2] == "^" else 1
            index += 1 if pattern[index : index + 1] == "]" else 0
            while index < len(pattern) and pattern[index] != "]":
                index += 2 if pattern[index] == "\\" else 1
        elif char == ")" and depth == 0 and ")" in stop:
            return index
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char in stop and depth == 0:
            return index
        index += 1
    return len(pattern)


def _alternatives(pattern: str) -> list[str]:
    """Split a regular expression at its top-level '|'."""
    parts: list[str] = []
    start = 0
    while True:
        end = _scan(pattern, start, "|")
        parts.append(pattern[start:end])
        if end == len(pattern):
            return parts
        start = end + 1


def _derivatives(alternative: str, depth: int = 0) -> dict[str, list[str]] | None:
    """Map each possible first character of alternative to what may follow it, or None."""
    # (?:going to|gonna|will)R gives {"g": ["(?:oing to|onna)R"], "w": ["(?:ill)R"]}, and
    # (?:x)?R also adds the derivatives of R: together they match what the alternative does.
    if alternative[:1] in _LITERAL_START:
        return None if alternative[1:2] in _QUANTIFIERS else {alternative[0]: [alternative[1:]]}
    if not alternative.startswith("(?:") or depth > 6:
        return None
    end = _scan(alternative, 3, ")")
    if end == len(alternative):
        return None
    rest = alternative[end + 1 :]
    optional = rest[:1] == "?" and rest[1:2] not in _QUANTIFIERS
    if optional:
        rest = rest[1:]
    elif rest[:1] in _QUANTIFIERS:
        return None
    inner: dict[str, list[str]] = {}
    for branch in _alternatives(alternative[3:end]):
        found = _derivatives(branch, depth + 1)
        if found is None:
            return None
        for char, tails in found.items():
            inner.setdefault(char, []).extend(tails)
    result = {char: ["(?:" + "|".join(tails) + ")" + rest] for char, tails in inner.items()}
    if optional:
        skipped = _derivatives(rest, depth + 1)
        if skipped is None:
            return None
        for char, tails in skipped.items():
            result.setdefault(char, []).extend(tails)
    return result


def _trie(alternatives: Sequence[str], depth: int) -> str:
    """Return the alternatives as one regex, factored by their first characters."""
    if depth == 0 or len(alternatives) < 2:
        return "|".join(alternatives)
    groups: dict[str, list[str]] = {}
    fallback: list[str] = []
    for alternative in alternatives:
        found = _derivatives(alternative)
        if found is None:
            fallback.append(alternative)
            continue
        for char, tails in found.items():
            groups.setdefault(char, []).extend(tails)
    parts = [
        char + "(?:" + _trie(tails, depth - 1) + ")" for char, tails in sorted(groups.items())
    ]
    return "|".join(parts + fallback)
