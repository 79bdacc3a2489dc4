"""Suicide and self-harm language in patient free text: normalise, drop idioms, match, negate."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bot.domain.errors import ContentError

CATEGORIES = (
    "plan-or-intent",
    "suicidal-ideation",
    "self-harm",
    "passive-death-wish",
    "indirect",
)
"""Known categories, most severe first; check() reports the most severe one that fires."""

_SECTIONS = frozenset({"macros", "normalise", "negation", "idiom", "pattern"})
_PATTERN_KEYS = frozenset({"category", "pattern", "examples", "note"})
_IDIOM_KEYS = frozenset({"pattern", "examples", "note"})
_NEGATION_KEYS = frozenset({"negators", "bridge_words", "max_bridge_words", "not_after"})
_NORMALISE_KEYS = frozenset({"replacements", "censorable"})
_WORD = re.compile(r"[a-z0-9']+")
_PHRASE = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")
_MACRO_NAME = re.compile(r"[a-z_]+")
_MACRO_USE = re.compile(r"\{([a-z_]+)\}")
_NOT_AFTER_TOKENS = 3
_WORD_WINDOW = 24

_SPECIAL_CHARS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u02bc": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u00ad": "",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
    "&": " and ",
}
_SPECIAL = re.compile("[" + "".join(_SPECIAL_CHARS) + "]")
_ELONGATED = re.compile(r"([a-z])\1\1+")
_LEET = re.compile(r"[1!|30@4$](?<=[^\W\d_].)(?=[^\W\d_])")
_LEET_LETTERS = {"1": "i", "!": "i", "|": "i", "3": "e", "0": "o", "@": "a", "4": "a", "$": "s"}
_CENSORED = re.compile(r"(?<![^\W\d_*])[^\W\d_]*+\*(?:[^\W\d_]|\*)*+")
_MAX_CENSORED = 24
_JOINERS = re.compile(r"[-/+](?<=\w.)(?=\w)")
_BREAKS = re.compile(r"[^a-z0-9 ']+")
_LITERAL_START = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 ")
_TRIE_DEPTH = 4
_QUANTIFIERS = frozenset("?*+{")


class CrisisPatternError(ContentError):
    """The crisis patterns file is missing, not TOML, or invalid; the message names the file."""


@dataclass(frozen=True, slots=True)
class NegationRules:
    """When a negator before a match suppresses it (see [negation] in the patterns file)."""

    negators: frozenset[str]
    bridge_words: frozenset[str]
    max_bridge_words: int
    not_after: frozenset[str]


@dataclass(frozen=True, slots=True)
class CrisisSignal:
    """A crisis signal: its category and the normalised words that triggered it."""

    category: str
    matched: str


class CrisisDetector:
    """Checks patient free text for suicide and self-harm language; pure and precompiled."""

    __slots__ = (
        "_bridges",
        "_categories",
        "_censorable",
        "_idioms",
        "_max_bridges",
        "_negators",
        "_not_after",
        "_replacements",
        "_scanner",
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
        """Build a detector from compiled parts; use from_file() instead."""
        self._replacements = dict(replacements)
        self._censorable = tuple(censorable)
        self._idioms = idioms
        self._categories = tuple(categories)
        self._scanner = scanner
        self._negators = negation.negators
        self._bridges = negation.bridge_words
        self._max_bridges = negation.max_bridge_words
        self._not_after = negation.not_after
        self.source = source

    @classmethod
    def from_file(cls, path: Path | None = None) -> CrisisDetector:
        """Load and validate a patterns file, or the shipped one when path is None."""
        if path is None:
            text = (
                resources.files("bot")
                .joinpath("data", "crisis_patterns.toml")
                .read_text(encoding="utf-8")
            )
            return cls.from_text(text, source="bot/data/crisis_patterns.toml")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise CrisisPatternError(f"{path}: cannot read ({err.strerror})") from None
        except UnicodeDecodeError:
            raise CrisisPatternError(f"{path}: not UTF-8 text") from None
        return cls.from_text(text, source=str(path))

    @classmethod
    def from_text(cls, text: str, *, source: str) -> CrisisDetector:
        """Parse and validate patterns TOML text; source names it in error messages."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise CrisisPatternError(f"{source}: not valid TOML ({err})") from None
        return _build(data, source)

    def normalise(self, text: str) -> str:
        """Return text lower-cased, NFKC, with contractions expanded and punctuation as ' . '."""
        return self._normalise(text).strip()

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

    def _normalise(self, text: str) -> str:
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = _SPECIAL.sub(lambda match: _SPECIAL_CHARS[match.group()], text.casefold())
        text = _ELONGATED.sub(r"\1\1", text)
        if _LEET.search(text):
            text = _LEET.sub(lambda match: _LEET_LETTERS[match.group()], text)
        if "*" in text:
            text = _CENSORED.sub(self._uncensor, text)
        text = _JOINERS.sub(" ", text.replace("_", " "))
        text = _BREAKS.sub(" . ", text)
        get = self._replacements.get
        if "'" in text:
            words = [
                get(word) or get(word.replace("'", ""), word.replace("'", "") or ".")
                if "'" in word
                else get(word, word)
                for word in text.split()
            ]
        else:
            words = [get(word, word) for word in text.split()]
        return " " + " ".join(words) + " "

    def _uncensor(self, match: re.Match[str]) -> str:
        token = match.group()
        letters = len(token) - token.count("*")
        if len(token) > _MAX_CENSORED or letters < max(2, token.count("*")):
            return token
        shape = re.compile(re.sub(r"(?:\\\*)+", "[a-z]{1,3}", re.escape(token)))
        return next((word for word in self._censorable if shape.fullmatch(word)), token)

    def _prepare(self, text: str) -> str:
        normalised = self._normalise(text)
        if self._idioms is None:
            return normalised
        return self._idioms.sub(" .", normalised)

    def _first(
        self, regex: re.Pattern[str], prepared: str, start: int = 0
    ) -> re.Match[str] | None:
        match = regex.search(prepared, start)
        while match is not None and self._negated(prepared, match.start()):
            match = regex.search(prepared, match.start() + 1)
        return match

    def _negated(self, text: str, start: int) -> bool:
        words = text[max(0, start - _WORD_WINDOW * 12) : start].split()[-_WORD_WINDOW:]
        for back in range(1, min(self._max_bridges + 1, len(words)) + 1):
            word = words[-back]
            if word in self._negators:
                before = words[max(0, len(words) - back - _NOT_AFTER_TOKENS) : len(words) - back]
                if "." in before:
                    before = before[len(before) - before[::-1].index(".") :]
                return not any(item in self._not_after for item in before)
            if word not in self._bridges:
                return False
        return False


def _wrap(pattern: str) -> str:
    return " (?:" + pattern + ")(?= )"


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


def _scanner(patterns: Sequence[str]) -> str:
    """Return one regex that matches wherever any of the patterns matches."""
    # Python's re skips an alternative that starts with a literal character cheaply, so
    # factoring the patterns into a character trie makes one scan over all of them about
    # as fast as a scan over a single one.
    alternatives = [branch for pattern in patterns for branch in _alternatives(pattern)]
    return _wrap(_trie(alternatives, _TRIE_DEPTH))


def _str_list(value: object, where: str, *, allow_empty: bool = False) -> list[str]:
    if (
        not isinstance(value, list)
        or not all(isinstance(item, str) and item.strip() for item in value)
        or (not value and not allow_empty)
    ):
        raise CrisisPatternError(f"{where} must be a list of non-empty strings")
    return list(value)


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise CrisisPatternError(f"{source}: missing [{key}] table")
    return value


def _tables(data: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise CrisisPatternError(f"{source}: [[{key}]] entries must be tables")
    return value


def _macros(data: dict[str, Any], source: str) -> dict[str, str]:
    raw = data.get("macros", {})
    if not isinstance(raw, dict):
        raise CrisisPatternError(f"{source}: [macros] must be a table")
    macros: dict[str, str] = {}
    for name, value in raw.items():
        where = f"{source}: [macros] {name}"
        if _MACRO_NAME.fullmatch(name) is None:
            raise CrisisPatternError(f"{where}: names use only a-z and _")
        if not isinstance(value, str) or not value:
            raise CrisisPatternError(f"{where}: must be a non-empty string")
        value = _expand(value, macros, where)
        try:
            re.compile(value)
        except re.error as err:
            raise CrisisPatternError(f"{where}: not a valid regular expression ({err})") from None
        macros[name] = value
    return macros


def _expand(pattern: str, macros: Mapping[str, str], where: str) -> str:
    def use(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise CrisisPatternError(f"{where}: unknown macro {{{name}}}")
        return macros[name]

    return _MACRO_USE.sub(use, pattern)


def _where(entry: dict[str, Any], where: str) -> str:
    pattern = entry.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        raise CrisisPatternError(f"{where}: 'pattern' must be a non-empty string")
    shown = pattern if len(pattern) <= 50 else pattern[:47] + "..."
    return f"{where} {shown!r}"


def _compile(entry: dict[str, Any], macros: Mapping[str, str], where: str) -> str:
    pattern: str = entry["pattern"]
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


def _normalise_table(data: dict[str, Any], source: str) -> tuple[dict[str, str], list[str]]:
    table = _table(data, "normalise", source)
    unknown = sorted(set(table) - _NORMALISE_KEYS)
    if unknown:
        raise CrisisPatternError(f"{source}: [normalise] unknown key(s) {', '.join(unknown)}")
    raw = table.get("replacements")
    if not isinstance(raw, dict):
        raise CrisisPatternError(f"{source}: [normalise] needs a 'replacements' table")
    replacements: dict[str, str] = {}
    for key, value in raw.items():
        if _WORD.fullmatch(key) is None:
            raise CrisisPatternError(
                f"{source}: [normalise] replacement key {key!r} must be one lower-case word"
            )
        if not isinstance(value, str) or _PHRASE.fullmatch(value) is None:
            raise CrisisPatternError(
                f"{source}: [normalise] replacement for {key!r} must be lower-case words"
            )
        replacements[key] = value
    censorable = _str_list(
        table.get("censorable", []), f"{source}: [normalise] censorable", allow_empty=True
    )
    for word in censorable:
        if not word.isalpha() or not word.islower():
            raise CrisisPatternError(f"{source}: [normalise] censorable {word!r} must be a word")
    return replacements, censorable


def _negation(data: dict[str, Any], source: str) -> NegationRules:
    table = _table(data, "negation", source)
    where = f"{source}: [negation]"
    unknown = sorted(set(table) - _NEGATION_KEYS)
    if unknown:
        raise CrisisPatternError(f"{where} unknown key(s) {', '.join(unknown)}")
    negators = _str_list(table.get("negators"), f"{where} negators")
    bridges = _str_list(table.get("bridge_words"), f"{where} bridge_words", allow_empty=True)
    not_after = _str_list(table.get("not_after"), f"{where} not_after", allow_empty=True)
    for word in (*negators, *bridges, *not_after):
        if _WORD.fullmatch(word) is None or "'" in word:
            raise CrisisPatternError(f"{where} {word!r} must be one lower-case word")
    limit = table.get("max_bridge_words")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 8:
        raise CrisisPatternError(f"{where} max_bridge_words must be a whole number from 0 to 8")
    return NegationRules(
        negators=frozenset(negators),
        bridge_words=frozenset(bridges),
        max_bridge_words=limit,
        not_after=frozenset(not_after),
    )


def _build(data: dict[str, Any], source: str) -> CrisisDetector:
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise CrisisPatternError(f"{source}: unknown section(s) {', '.join(unknown)}")
    macros = _macros(data, source)
    replacements, censorable = _normalise_table(data, source)
    negation = _negation(data, source)

    idioms: list[tuple[str, list[str], str]] = []
    for index, entry in enumerate(_tables(data, "idiom", source), start=1):
        where = _where(entry, f"{source}: idiom {index}")
        extra = sorted(set(entry) - _IDIOM_KEYS)
        if extra:
            raise CrisisPatternError(f"{where}: unknown key(s) {', '.join(extra)}")
        expanded = _compile(entry, macros, where)
        examples = _str_list(entry.get("examples"), f"{where}: 'examples'")
        idioms.append((expanded, examples, where))

    by_category: dict[str, list[str]] = {category: [] for category in CATEGORIES}
    patterns: list[tuple[str, list[str], str]] = []
    for index, entry in enumerate(_tables(data, "pattern", source), start=1):
        where = _where(entry, f"{source}: pattern {index}")
        extra = sorted(set(entry) - _PATTERN_KEYS)
        if extra:
            raise CrisisPatternError(f"{where}: unknown key(s) {', '.join(extra)}")
        category = entry.get("category")
        if category not in CATEGORIES:
            raise CrisisPatternError(
                f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}"
            )
        expanded = _compile(entry, macros, where)
        examples = _str_list(entry.get("examples"), f"{where}: 'examples'")
        by_category[category].append(expanded)
        patterns.append((expanded, examples, where))
    if not patterns:
        raise CrisisPatternError(f"{source}: no [[pattern]] entries")

    try:
        detector = CrisisDetector(
            replacements=replacements,
            censorable=censorable,
            idioms=re.compile(_scanner([item[0] for item in idioms])) if idioms else None,
            categories=[
                (category, re.compile(_wrap("|".join(found))))
                for category, found in by_category.items()
                if found
            ],
            scanner=re.compile(_scanner([item[0] for item in patterns])),
            negation=negation,
            source=source,
        )
    except re.error as err:
        raise CrisisPatternError(f"{source}: patterns do not combine ({err})") from None
    _check_examples(detector, idioms, patterns)
    return detector


def _check_examples(
    detector: CrisisDetector,
    idioms: Sequence[tuple[str, list[str], str]],
    patterns: Sequence[tuple[str, list[str], str]],
) -> None:
    for expanded, examples, where in idioms:
        regex = re.compile(_wrap(expanded))
        for example in examples:
            if regex.search(detector._normalise(example)) is None:
                raise CrisisPatternError(f"{where}: does not match its example {example!r}")
    for expanded, examples, where in patterns:
        regex = re.compile(_wrap(expanded))
        for example in examples:
            if detector._first(regex, detector._prepare(example)) is None:
                raise CrisisPatternError(
                    f"{where}: does not fire on its example {example!r} "
                    "(check the idioms and negation rules too)"
                )
