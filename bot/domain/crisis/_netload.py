"""Reading and validating the net's rules file (TOML): concern rules, other languages,
emoji, typo key words, context and the classifier's thresholds."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.crisis._assessment import Layer
from bot.domain.crisis._compile import _expand, compile_pattern, read_macros
from bot.domain.crisis._context import ContextRules
from bot.domain.crisis._emoji import EmojiRule
from bot.domain.crisis._errors import CrisisPatternError
from bot.domain.crisis._languages import fold_pattern
from bot.domain.crisis._load import _known_keys, _str_list, _table, _tables, _where
from bot.domain.crisis._match import Rule

_SECTIONS = frozenset(
    {"macros", "model", "fuzzy", "context", "emoji", "emoji_rule", "rule", "language"}
)
_RULE_KEYS = frozenset({"family", "layer", "acted", "pattern", "examples", "note"})
_LANGUAGE_KEYS = frozenset({"lang", "layer", "category", "pattern", "examples", "note"})
_EMOJI_RULE_KEYS = frozenset({"name", "needs", "layer", "max_words", "examples", "note"})
_WORD_SETS = (
    "first_person",
    "implicit_self",
    "third_person",
    "media",
    "speech",
    "my_self",
    "self_families",
    "objects",
)
_REGEXES = (
    "history",
    "relapse",
    "present",
    "screening_no",
    "retraction",
    "laugh",
    "trivial",
    "mundane",
    "question",
    "asking",
    "topic_frame",
    "topic_noun",
    "bare",
    "lethal",
)


@dataclass(frozen=True, slots=True)
class Examples:
    """A rule and the messages it must fire on (checked when the net is built)."""

    rule: Rule
    examples: list[str]
    where: str


@dataclass(frozen=True, slots=True)
class NetRules:
    """A validated rules file."""

    rules: list[Examples]
    languages: list[Examples]
    emoji_groups: dict[str, frozenset[str]]
    emoji_laugh: str
    emoji_rules: list[tuple[EmojiRule, list[str]]]
    keywords: list[str]
    real_words: list[str]
    context: ContextRules
    review_at: float
    concern_at: float
    urgent_at: float
    ask_at: float
    acted_at: float


def parse_net(text: str, source: str, macros: Mapping[str, str]) -> NetRules:
    """Parse and validate the rules file; macros are those of the patterns file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CrisisPatternError(f"{source}: not valid TOML ({err})") from None
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise CrisisPatternError(f"{source}: unknown section(s) {', '.join(unknown)}")
    macros = read_macros(data.get("macros", {}), source, macros)
    model = _table(data, "model", source)
    fuzzy = _table(data, "fuzzy", source)
    emoji = _table(data, "emoji", source)
    return NetRules(
        rules=[
            _rule(entry, macros, f"{source}: rule {index}")
            for index, entry in enumerate(_tables(data, "rule", source), start=1)
        ],
        languages=[
            _language(entry, f"{source}: language {index}")
            for index, entry in enumerate(_tables(data, "language", source), start=1)
        ],
        emoji_groups=_emoji_groups(emoji, source),
        emoji_laugh=str(emoji.get("laugh", "laugh")),
        emoji_rules=[
            _emoji_rule(entry, f"{source}: emoji_rule {index}")
            for index, entry in enumerate(_tables(data, "emoji_rule", source), start=1)
        ],
        keywords=_str_list(fuzzy.get("keywords"), f"{source}: [fuzzy] keywords"),
        real_words=_str_list(fuzzy.get("real_words", []), f"{source}: [fuzzy]", allow_empty=True),
        context=_context(_table(data, "context", source), macros, f"{source}: [context]"),
        review_at=_threshold(model, "review", source),
        concern_at=_threshold(model, "concern", source),
        urgent_at=_threshold(model, "urgent", source),
        ask_at=_threshold(model, "ask", source),
        acted_at=_threshold(model, "acted", source),
    )


def _layer(entry: dict[str, Any], where: str) -> Layer:
    name = entry.get("layer", "concern")
    if name not in ("urgent", "concern", "review"):
        raise CrisisPatternError(f"{where}: layer {name!r} is not urgent, concern or review")
    return Layer.named(name)


def _rule(entry: dict[str, Any], macros: Mapping[str, str], where: str) -> Examples:
    where = _where(entry, where)
    _known_keys(entry, _RULE_KEYS, where)
    family = entry.get("family")
    if not isinstance(family, str) or re.fullmatch(r"[a-z][a-z-]*", family) is None:
        raise CrisisPatternError(f"{where}: 'family' must be a lower-case name")
    acted = entry.get("acted", False)
    if not isinstance(acted, bool):
        raise CrisisPatternError(f"{where}: 'acted' must be true or false")
    layer = _layer(entry, where)
    rule = Rule(
        expanded=compile_pattern(entry["pattern"], macros, where),
        layer=layer,
        category=family,
        reason=f"{layer}:{family}",
        acted=acted,
    )
    return Examples(rule, _str_list(entry.get("examples"), f"{where}: 'examples'"), where)


def _language(entry: dict[str, Any], where: str) -> Examples:
    where = _where(entry, where)
    _known_keys(entry, _LANGUAGE_KEYS, where)
    lang, category = entry.get("lang"), entry.get("category")
    if not isinstance(lang, str) or re.fullmatch(r"[a-z]{2}", lang) is None:
        raise CrisisPatternError(f"{where}: 'lang' must be a two-letter code")
    if not isinstance(category, str) or not category:
        raise CrisisPatternError(f"{where}: 'category' must be a name")
    rule = Rule(
        expanded=compile_pattern(fold_pattern(entry["pattern"]), {}, where),
        layer=_layer(entry, where),
        category=category,
        reason=f"lang:{lang}",
    )
    return Examples(rule, _str_list(entry.get("examples"), f"{where}: 'examples'"), where)


def _emoji_groups(table: dict[str, Any], source: str) -> dict[str, frozenset[str]]:
    groups = table.get("groups")
    if not isinstance(groups, dict) or not groups:
        raise CrisisPatternError(f"{source}: [emoji] needs a 'groups' table")
    return {
        name: frozenset(_str_list(names, f"{source}: [emoji] groups.{name}"))
        for name, names in groups.items()
    }


def _emoji_rule(entry: dict[str, Any], where: str) -> tuple[EmojiRule, list[str]]:
    _known_keys(entry, _EMOJI_RULE_KEYS, where)
    name, needs, max_words = entry.get("name"), entry.get("needs"), entry.get("max_words")
    if not isinstance(name, str) or not name:
        raise CrisisPatternError(f"{where}: 'name' must be a non-empty string")
    if (
        not isinstance(needs, dict)
        or not needs
        or not all(isinstance(count, int) and count > 0 for count in needs.values())
    ):
        raise CrisisPatternError(f"{where}: 'needs' must map groups to counts")
    if max_words is not None and not isinstance(max_words, int):
        raise CrisisPatternError(f"{where}: 'max_words' must be a whole number")
    rule = EmojiRule(name=name, needs=dict(needs), layer=_layer(entry, where), max_words=max_words)
    return rule, _str_list(entry.get("examples"), f"{where}: 'examples'")


def _context(table: dict[str, Any], macros: Mapping[str, str], where: str) -> ContextRules:
    words = {key: frozenset(_str_list(table.get(key), f"{where} {key}")) for key in _WORD_SETS}
    # Nouns also in the plural and possessive ("friends", "mums"; apostrophes are dropped).
    for key in ("third_person", "media"):
        words[key] = words[key] | {word + "s" for word in words[key]}
    regexes: dict[str, re.Pattern[str]] = {}
    for key in _REGEXES:
        value = table.get(key)
        if not isinstance(value, str) or not value:
            raise CrisisPatternError(f"{where} {key} must be a regular expression")
        # Unlike patterns, context regexes are not wrapped as whole words: they are
        # written with their own spaces (" no ", "(?:^| \\. ) can i ").
        try:
            regexes[key] = re.compile(_expand(value, macros, f"{where} {key}"))
        except re.error as err:
            raise CrisisPatternError(
                f"{where} {key}: not a valid regular expression ({err})"
            ) from None
    return ContextRules(
        first_person=words["first_person"],
        implicit_self=words["implicit_self"],
        third_person=words["third_person"],
        media=words["media"],
        speech=words["speech"],
        my_self=words["my_self"],
        self_families=words["self_families"],
        objects=words["objects"],
        history=regexes["history"],
        relapse=regexes["relapse"],
        present=regexes["present"],
        screening_no=regexes["screening_no"],
        retraction=regexes["retraction"],
        laugh=regexes["laugh"],
        trivial=regexes["trivial"],
        mundane=regexes["mundane"],
        question=regexes["question"],
        asking=regexes["asking"],
        topic_frame=regexes["topic_frame"],
        topic_noun=regexes["topic_noun"],
        bare=regexes["bare"],
        lethal=regexes["lethal"],
    )


def _threshold(table: dict[str, Any], key: str, source: str) -> float:
    value = table.get(key)
    if not isinstance(value, float) or not 0.0 < value <= 1.0:
        raise CrisisPatternError(f"{source}: [model] {key} must be a number in (0, 1]")
    return value
