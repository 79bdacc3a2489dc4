"""Reading and validating a crisis patterns file (TOML) into compiled patterns."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.crisis._compile import compile_pattern, read_macros, scanner, wrap
from bot.domain.crisis._errors import CrisisPatternError
from bot.domain.crisis._negation import NegationRules

CATEGORIES = (
    "plan-or-intent",
    "suicidal-ideation",
    "self-harm",
    "passive-death-wish",
    "indirect",
)
"""Known categories, most severe first; check() reports the most severe one that fires."""

_SECTIONS = frozenset({"macros", "normalise", "negation", "idiom", "pattern"})
_PATTERN_KEYS = frozenset({"category", "pattern", "examples", "note", "layer", "acted", "topic"})
LAYERS = ("urgent", "concern", "review")
"""What a [[pattern]] may set as its `layer`; `indirect` defaults to concern, others urgent."""
_IDIOM_KEYS = frozenset({"pattern", "examples", "note"})
_NEGATION_KEYS = frozenset({"negators", "bridge_words", "max_bridge_words", "not_after"})
_NORMALISE_KEYS = frozenset({"replacements", "censorable"})
_WORD = re.compile(r"[a-z0-9']+")
_PHRASE = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Entry:
    """One [[idiom]] or [[pattern]]: its regex with macros expanded, its examples, its name.

    A pattern also has its category, the layer of the net it raises, whether it says the
    person has already acted, and whether it is a topic word ("suicide") rather than a
    statement ("i want to die"); context may demote a topic word more readily.
    """

    expanded: str
    examples: list[str]
    where: str
    category: str = ""
    layer: str = "urgent"
    acted: bool = False
    topic: bool = False


@dataclass(frozen=True, slots=True)
class PatternsFile:
    """A validated patterns file, compiled; `categories` are in CATEGORIES order."""

    replacements: dict[str, str]
    censorable: list[str]
    macros: dict[str, str]
    negation: NegationRules
    idioms: list[Entry]
    patterns: list[Entry]
    idiom_regex: re.Pattern[str] | None
    categories: list[tuple[str, re.Pattern[str]]]
    scanner: re.Pattern[str]


def parse(text: str, source: str) -> PatternsFile:
    """Parse, validate and compile patterns TOML text; source names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CrisisPatternError(f"{source}: not valid TOML ({err})") from None
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise CrisisPatternError(f"{source}: unknown section(s) {', '.join(unknown)}")
    macros = read_macros(data.get("macros", {}), source)
    replacements, censorable = _normalise_table(data, source)
    negation = _negation(data, source)
    idioms = [
        _idiom(entry, macros, f"{source}: idiom {index}")
        for index, entry in enumerate(_tables(data, "idiom", source), start=1)
    ]
    patterns = [
        _pattern(entry, macros, f"{source}: pattern {index}")
        for index, entry in enumerate(_tables(data, "pattern", source), start=1)
    ]
    if not patterns:
        raise CrisisPatternError(f"{source}: no [[pattern]] entries")
    try:
        return PatternsFile(
            replacements=replacements,
            censorable=censorable,
            macros=macros,
            negation=negation,
            idioms=idioms,
            patterns=[entry for _, entry in patterns],
            idiom_regex=re.compile(scanner([entry.expanded for entry in idioms]))
            if idioms
            else None,
            categories=_categories(patterns),
            scanner=re.compile(scanner([entry.expanded for _, entry in patterns])),
        )
    except re.error as err:
        raise CrisisPatternError(f"{source}: patterns do not combine ({err})") from None


def _categories(patterns: Sequence[tuple[str, Entry]]) -> list[tuple[str, re.Pattern[str]]]:
    """Return one regex per category that has patterns, most severe first."""
    by_category: dict[str, list[str]] = {category: [] for category in CATEGORIES}
    for category, entry in patterns:
        by_category[category].append(entry.expanded)
    return [
        (category, re.compile(wrap("|".join(found))))
        for category, found in by_category.items()
        if found
    ]


def _idiom(entry: dict[str, Any], macros: Mapping[str, str], where: str) -> Entry:
    where = _where(entry, where)
    _known_keys(entry, _IDIOM_KEYS, where)
    return _compiled(entry, macros, where)


def _pattern(entry: dict[str, Any], macros: Mapping[str, str], where: str) -> tuple[str, Entry]:
    where = _where(entry, where)
    _known_keys(entry, _PATTERN_KEYS, where)
    category = entry.get("category")
    if category not in CATEGORIES:
        raise CrisisPatternError(
            f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}"
        )
    layer = entry.get("layer", "concern" if category == "indirect" else "urgent")
    if layer not in LAYERS:
        raise CrisisPatternError(f"{where}: layer {layer!r} is not one of {', '.join(LAYERS)}")
    flags = {key: entry.get(key, False) for key in ("acted", "topic")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise CrisisPatternError(f"{where}: {key!r} must be true or false")
    compiled = _compiled(entry, macros, where)
    return category, Entry(
        expanded=compiled.expanded,
        examples=compiled.examples,
        where=where,
        category=category,
        layer=layer,
        acted=flags["acted"],
        topic=flags["topic"],
    )


def _known_keys(entry: dict[str, Any], keys: frozenset[str], where: str) -> None:
    extra = sorted(set(entry) - keys)
    if extra:
        raise CrisisPatternError(f"{where}: unknown key(s) {', '.join(extra)}")


def _compiled(entry: dict[str, Any], macros: Mapping[str, str], where: str) -> Entry:
    expanded = compile_pattern(entry["pattern"], macros, where)
    examples = _str_list(entry.get("examples"), f"{where}: 'examples'")
    return Entry(expanded=expanded, examples=examples, where=where)


def _where(entry: dict[str, Any], where: str) -> str:
    pattern = entry.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        raise CrisisPatternError(f"{where}: 'pattern' must be a non-empty string")
    shown = pattern if len(pattern) <= 50 else pattern[:47] + "..."
    return f"{where} {shown!r}"


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
