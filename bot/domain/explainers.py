"""Short explainers for patients: loading, validation, menu order and rendering."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.errors import ContentError

GROUPS = ("how-it-works", "why-it-fades", "what-helps", "after-infusion")
MAX_TITLE = 40
MAX_TEXT = 700
MAX_ID = 40
PLACEHOLDERS = ("crisis_line", "emergency_number")
PLACEHOLDER_STAND_IN = "x" * 60
REMINDER_WORDS = ("general information", "not medical advice")
FIELDS = {"id": str, "title": str, "group": str, "order": int, "text": str}
DEFAULT_SCHEDULE = {3: "after-infusion", 7: "why-it-fades", 14: "what-helps"}
"""Explainer pushed on day N after an infusion unless the protocol says otherwise."""

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_BRACES = re.compile(r"\{([^{}]*)\}")


class ExplainerError(ContentError):
    """An explainer file is missing, unreadable or invalid; the message names the file."""


@dataclass(frozen=True, slots=True)
class Explainer:
    """One short explainer, as written in its file."""

    id: str
    title: str
    group: str
    order: int
    text: str


def fill(text: str, *, crisis_line: str, emergency_number: str) -> str:
    """Return text with the crisis-line and emergency-number placeholders filled in."""
    return text.replace("{crisis_line}", crisis_line).replace(
        "{emergency_number}", emergency_number
    )


class ExplainerLibrary:
    """A validated set of explainers in menu order."""

    __slots__ = ("_by_id", "_ordered", "_position")

    def __init__(self, explainers: Iterable[Explainer]) -> None:
        """Keep the explainers sorted by group order, then by their order within the group."""
        self._ordered = tuple(
            sorted(explainers, key=lambda item: (GROUPS.index(item.group), item.order, item.id))
        )
        self._by_id = {item.id: item for item in self._ordered}
        self._position = {item.id: index for index, item in enumerate(self._ordered)}

    def __len__(self) -> int:
        """Return how many explainers there are."""
        return len(self._ordered)

    def get(self, explainer_id: str) -> Explainer | None:
        """Return the explainer with this id, or None."""
        return self._by_id.get(explainer_id)

    def ordered(self) -> list[Explainer]:
        """Return all explainers in menu order."""
        return list(self._ordered)

    def ids(self) -> list[str]:
        """Return all ids in menu order."""
        return [item.id for item in self._ordered]

    def next_after(self, explainer_id: str) -> Explainer | None:
        """Return the explainer after this one in menu order, or None at the end or unknown."""
        index = self._position.get(explainer_id)
        if index is None or index + 1 >= len(self._ordered):
            return None
        return self._ordered[index + 1]

    def previous_before(self, explainer_id: str) -> Explainer | None:
        """Return the explainer before this one in menu order, or None at the start or unknown."""
        index = self._position.get(explainer_id)
        if index is None or index == 0:
            return None
        return self._ordered[index - 1]

    def render(self, explainer_id: str, *, crisis_line: str, emergency_number: str) -> str:
        """Return the text ready to send; raises KeyError for an unknown id."""
        explainer = self._by_id.get(explainer_id)
        if explainer is None:
            raise KeyError(explainer_id)
        return fill(explainer.text, crisis_line=crisis_line, emergency_number=emergency_number)


def assemble(explainers: Sequence[tuple[Explainer, str]]) -> ExplainerLibrary:
    """Return the library of parsed explainers (each with its source), refusing clashes."""
    seen_ids: dict[str, str] = {}
    seen_orders: dict[tuple[str, int], str] = {}
    for explainer, source in explainers:
        if explainer.id in seen_ids:
            raise ExplainerError(
                f"{source}: id '{explainer.id}' is also used by {seen_ids[explainer.id]}"
            )
        slot = (explainer.group, explainer.order)
        if slot in seen_orders:
            raise ExplainerError(
                f"{source}: order {explainer.order} in group '{explainer.group}' "
                f"is also used by {seen_orders[slot]}"
            )
        seen_ids[explainer.id] = source
        seen_orders[slot] = source
    return ExplainerLibrary(explainer for explainer, _ in explainers)


def parse_text(raw: str, *, source: str, stem: str) -> Explainer:
    """Parse and validate one explainer file's TOML text; `stem` is its file name's stem."""
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as err:
        raise ExplainerError(f"{source}: not valid TOML ({err})") from None
    return parse_explainer(data, source=source, stem=stem)


def _field(data: dict[str, Any], key: str, source: str) -> Any:
    if key not in data:
        raise ExplainerError(f"{source}: missing field '{key}'")
    value = data[key]
    kind = FIELDS[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = "a whole number" if kind is int else "a string"
        raise ExplainerError(f"{source}: field '{key}' must be {expected}")
    if isinstance(value, str) and not value.strip():
        raise ExplainerError(f"{source}: field '{key}' is empty")
    return value


def parse_explainer(data: dict[str, Any], *, source: str, stem: str) -> Explainer:
    """Validate one parsed explainer file; stem is the file name without '.toml'."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ExplainerError(f"{source}: unknown field(s) {', '.join(unknown)}")
    explainer_id: str = _field(data, "id", source)
    title: str = _field(data, "title", source).strip()
    group: str = _field(data, "group", source)
    order: int = _field(data, "order", source)
    text: str = _field(data, "text", source).strip()

    if not explainer_id.isascii() or _ID.fullmatch(explainer_id) is None:
        raise ExplainerError(
            f"{source}: id '{explainer_id}' must be lowercase-kebab (a-z, 0-9 and single hyphens)"
        )
    if len(explainer_id) > MAX_ID:
        raise ExplainerError(f"{source}: id is {len(explainer_id)} characters, at most {MAX_ID}")
    if explainer_id != stem:
        raise ExplainerError(
            f"{source}: id '{explainer_id}' does not match the file name '{stem}'"
        )
    if "\n" in title:
        raise ExplainerError(f"{source}: title must be one line")
    if len(title) > MAX_TITLE:
        raise ExplainerError(f"{source}: title is {len(title)} characters, at most {MAX_TITLE}")
    if group not in GROUPS:
        raise ExplainerError(f"{source}: group '{group}' is not one of {', '.join(GROUPS)}")
    if order < 0:
        raise ExplainerError(f"{source}: order must be 0 or more")
    _check_text(text, source)
    return Explainer(id=explainer_id, title=title, group=group, order=order, text=text)


def _check_text(text: str, source: str) -> None:
    unknown = sorted({name for name in _BRACES.findall(text) if name not in PLACEHOLDERS})
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        raise ExplainerError(
            f"{source}: unknown placeholder(s) {names}; only {allowed} are filled"
        )
    outside = _BRACES.sub("", text)
    if "{" in outside or "}" in outside:
        raise ExplainerError(f"{source}: text has an unmatched '{{' or '}}'")
    lines = text.splitlines()
    body = "\n".join(lines[:-1]).strip()
    last = lines[-1].strip().lower()
    if not body or not all(words in last for words in REMINDER_WORDS):
        raise ExplainerError(
            f"{source}: text must end with a one-line reminder that it is general "
            "information, not medical advice, after the explainer itself"
        )
    filled = fill(text, crisis_line=PLACEHOLDER_STAND_IN, emergency_number=PLACEHOLDER_STAND_IN)
    if len(filled) > MAX_TEXT:
        raise ExplainerError(
            f"{source}: text is {len(filled)} characters with placeholders filled, "
            f"at most {MAX_TEXT}"
        )
