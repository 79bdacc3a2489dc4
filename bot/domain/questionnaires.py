"""Questionnaires driven by data files (PHQ-9, GAD-7): parsing, scoring, one administration.

Items are addressed by their 0-based index in the file; an answer is the score of the
chosen option. Messages about the data file name the file and the item, band or option
counting from 1, as a person editing the file would.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from bot.domain.errors import AfterglowError, ContentError

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LOINC = re.compile(r"([0-9]{1,7})-([0-9])")
_TOP_KEYS = {
    "id",
    "title",
    "stem",
    "notice",
    "loinc_panel",
    "loinc_total",
    "options",
    "bands",
    "items",
}
_ITEM_KEYS = {"text", "loinc", "scored", "optional", "safety_threshold", "options"}
_OPTION_KEYS = {"label", "score"}
_BAND_KEYS = {"low", "high", "label"}


class QuestionnaireError(ContentError):
    """A questionnaire file is not TOML or does not describe a usable questionnaire."""


class AnswerError(AfterglowError):
    """Answers that do not fit the questionnaire: no such item, no such option, missing."""


@dataclass(frozen=True, slots=True)
class Option:
    """One answer choice: its exact label and its score."""

    label: str
    score: int


@dataclass(frozen=True, slots=True)
class Item:
    """One question and the choices offered for it."""

    text: str
    options: tuple[Option, ...]
    loinc: str | None = None
    scored: bool = True
    """Whether the answer counts towards the total."""
    optional: bool = False
    """Whether the patient may skip it; an optional item is never scored."""
    safety_threshold: int | None = None
    """An answer above this is a safety event; None for an ordinary item."""

    def scores(self) -> tuple[int, ...]:
        """Return the scores of the options, in the order they are offered."""
        return tuple(option.score for option in self.options)

    def label_of(self, score: int) -> str | None:
        """Return the label of the option scored `score`, or None if there is none."""
        return next((option.label for option in self.options if option.score == score), None)


@dataclass(frozen=True, slots=True)
class Band:
    """A severity band: totals from low to high inclusive, and its plain-words label."""

    low: int
    high: int
    label: str


@dataclass(frozen=True, slots=True)
class Questionnaire:
    """A validated questionnaire; bands are in ascending order and cover every total."""

    id: str
    title: str
    stem: str
    items: tuple[Item, ...]
    options: tuple[Option, ...]
    """The options shared by items without their own; empty when every item has its own."""
    bands: tuple[Band, ...]
    notice: str
    loinc_panel: str | None
    loinc_total: str | None
    source: str = ""

    @property
    def min_total(self) -> int:
        """Return the lowest possible total."""
        return sum(min(item.scores()) for item in self.items if item.scored)

    @property
    def max_total(self) -> int:
        """Return the highest possible total."""
        return sum(max(item.scores()) for item in self.items if item.scored)

    def check(self, index: int, value: int) -> Item:
        """Return the item at index, or raise AnswerError if it has no option scored value."""
        if not 0 <= index < len(self.items):
            raise AnswerError(f"{self.id}: no item at index {index}")
        item = self.items[index]
        if isinstance(value, bool) or value not in item.scores():
            raise AnswerError(f"{self.id}: item at index {index} has no option scored {value}")
        return item

    def score(self, answers: Mapping[int, int]) -> int:
        """Return the total of the scored items; every scored item must be answered."""
        for index, value in answers.items():
            self.check(index, value)
        missing = [
            str(index)
            for index, item in enumerate(self.items)
            if item.scored and index not in answers
        ]
        if missing:
            raise AnswerError(f"{self.id}: not answered: item index(es) {', '.join(missing)}")
        return sum(value for index, value in answers.items() if self.items[index].scored)

    def band(self, total: int) -> Band:
        """Return the band a total falls in; raises AnswerError for an impossible total."""
        for band in self.bands:
            if band.low <= total <= band.high:
                return band
        raise AnswerError(f"{self.id}: {total} is not a possible total")

    def safety_flag(self, index: int, value: int) -> bool:
        """Return whether this answer to this item is a safety event."""
        threshold = self.check(index, value).safety_threshold
        return threshold is not None and value > threshold


@dataclass(frozen=True, slots=True)
class Progress:
    """One administration so far: the answers in item order, None for a skipped item.

    The current item is the one after the last answer. Every step returns a new Progress.
    """

    questionnaire: Questionnaire
    answers: tuple[int | None, ...] = ()

    def __post_init__(self) -> None:
        """Refuse answers that do not fit the questionnaire (for example stored ones)."""
        items = self.questionnaire.items
        if len(self.answers) > len(items):
            raise AnswerError(f"{self.questionnaire.id}: more answers than items")
        for index, value in enumerate(self.answers):
            if value is None:
                if not items[index].optional:
                    raise AnswerError(
                        f"{self.questionnaire.id}: item at index {index} cannot be skipped"
                    )
            else:
                self.questionnaire.check(index, value)

    @property
    def index(self) -> int:
        """Return the index of the current item; len(items) once complete."""
        return len(self.answers)

    @property
    def is_complete(self) -> bool:
        """Return whether every item has been answered or skipped."""
        return self.index == len(self.questionnaire.items)

    @property
    def next_item(self) -> Item | None:
        """Return the item to ask now, or None once complete."""
        return None if self.is_complete else self.questionnaire.items[self.index]

    def answer(self, value: int) -> Progress:
        """Return the progress after answering the current item with an option's score."""
        if self.is_complete:
            raise AnswerError(f"{self.questionnaire.id}: already complete")
        return Progress(self.questionnaire, (*self.answers, value))

    def skip(self) -> Progress:
        """Return the progress after skipping the current item, which must be optional."""
        item = self.next_item
        if item is None:
            raise AnswerError(f"{self.questionnaire.id}: already complete")
        if not item.optional:
            raise AnswerError(f"{self.questionnaire.id}: item at index {self.index} is required")
        return Progress(self.questionnaire, (*self.answers, None))

    def back(self) -> Progress:
        """Return the progress at the previous item, its answer undone; unchanged at the first."""
        if not self.answers:
            return self
        return Progress(self.questionnaire, self.answers[:-1])

    def answered(self) -> dict[int, int]:
        """Return the answers given so far by item index, skipped items left out."""
        return {index: value for index, value in enumerate(self.answers) if value is not None}


def parse_questionnaire(text: str, *, source: str) -> Questionnaire:
    """Parse and validate questionnaire TOML text; source names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise QuestionnaireError(f"{source}: not valid TOML ({err})") from None
    _known(data, _TOP_KEYS, source)
    questionnaire_id = _text(data, "id", source)
    if _ID.fullmatch(questionnaire_id) is None:
        raise QuestionnaireError(
            f"{source}: id '{questionnaire_id}' must be lowercase letters, digits and hyphens"
        )
    shared = _options(data["options"], f"{source}: [[options]]") if "options" in data else ()
    items = _items(data, shared, source)
    min_total = sum(min(item.scores()) for item in items if item.scored)
    max_total = sum(max(item.scores()) for item in items if item.scored)
    return Questionnaire(
        id=questionnaire_id,
        title=_text(data, "title", source),
        stem=_text(data, "stem", source),
        items=items,
        options=shared,
        bands=_bands(data, min_total, max_total, source),
        notice=_text(data, "notice", source),
        loinc_panel=_loinc(data, "loinc_panel", source),
        loinc_total=_loinc(data, "loinc_total", source),
        source=source,
    )


def _known(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise QuestionnaireError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise QuestionnaireError(f"{where}: '{key}' must be a non-empty string")
    if "\n" in value.strip():
        raise QuestionnaireError(f"{where}: '{key}' must be one line")
    return value.strip()


def _whole(table: dict[str, Any], key: str, where: str) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise QuestionnaireError(f"{where}: '{key}' must be a whole number, 0 or more")
    return value


def _flag(table: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise QuestionnaireError(f"{where}: '{key}' must be true or false")
    return value


def _tables(value: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise QuestionnaireError(f"{where}: must be a non-empty list of tables")
    return value


def _loinc(table: dict[str, Any], key: str, where: str) -> str | None:
    """Return a LOINC code checked for shape and check digit, or None when absent."""
    if key not in table:
        return None
    value = table[key]
    match = _LOINC.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise QuestionnaireError(f"{where}: '{key}' must be a LOINC code like \"44249-1\"")
    if _check_digit(match.group(1)) != int(match.group(2)):
        raise QuestionnaireError(f"{where}: '{key}' {value} has a wrong check digit")
    return match.group(0)


def _check_digit(number: str) -> int:
    """Return LOINC's mod-10 check digit for the part before the hyphen."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return (10 - total % 10) % 10


def _options(raw: object, where: str) -> tuple[Option, ...]:
    options: list[Option] = []
    for number, table in enumerate(_tables(raw, where), start=1):
        at = f"{where} option {number}"
        _known(table, _OPTION_KEYS, at)
        options.append(Option(label=_text(table, "label", at), score=_whole(table, "score", at)))
    if len(options) < 2:
        raise QuestionnaireError(f"{where}: needs at least 2 options")
    labels = [option.label for option in options]
    if len(set(labels)) != len(labels):
        raise QuestionnaireError(f"{where}: option labels must be different")
    scores = [option.score for option in options]
    if len(set(scores)) != len(scores):
        raise QuestionnaireError(f"{where}: option scores must be different")
    return tuple(options)


def _items(data: dict[str, Any], shared: tuple[Option, ...], source: str) -> tuple[Item, ...]:
    items = tuple(
        _item(table, shared, f"{source}: item {number}")
        for number, table in enumerate(_tables(data.get("items"), f"{source}: [[items]]"), 1)
    )
    texts = [item.text for item in items]
    if len(set(texts)) != len(texts):
        raise QuestionnaireError(f"{source}: two items have the same text")
    codes = [item.loinc for item in items if item.loinc is not None]
    if len(set(codes)) != len(codes):
        raise QuestionnaireError(f"{source}: two items have the same LOINC code")
    if not any(item.scored for item in items):
        raise QuestionnaireError(f"{source}: no item is scored")
    return items


def _item(table: dict[str, Any], shared: tuple[Option, ...], where: str) -> Item:
    _known(table, _ITEM_KEYS, where)
    if "options" in table:
        options = _options(table["options"], f"{where} [[items.options]]")
    elif shared:
        options = shared
    else:
        raise QuestionnaireError(f"{where}: no options, and no shared [[options]]")
    scored = _flag(table, "scored", where, True)
    optional = _flag(table, "optional", where, False)
    if scored and optional:
        raise QuestionnaireError(f"{where}: an optional item must have scored = false")
    threshold = None
    if "safety_threshold" in table:
        threshold = _whole(table, "safety_threshold", where)
        low, high = min(o.score for o in options), max(o.score for o in options)
        if not low <= threshold < high:
            raise QuestionnaireError(
                f"{where}: 'safety_threshold' must be from {low} to {high - 1}"
            )
    return Item(
        text=_text(table, "text", where),
        options=options,
        loinc=_loinc(table, "loinc", where),
        scored=scored,
        optional=optional,
        safety_threshold=threshold,
    )


def _bands(data: dict[str, Any], min_total: int, max_total: int, source: str) -> tuple[Band, ...]:
    """Return the bands in ascending order, refusing gaps, overlaps and impossible totals."""
    bands: list[Band] = []
    for number, table in enumerate(_tables(data.get("bands"), f"{source}: [[bands]]"), 1):
        where = f"{source}: band {number}"
        _known(table, _BAND_KEYS, where)
        low, high = _whole(table, "low", where), _whole(table, "high", where)
        if high < low:
            raise QuestionnaireError(f"{where}: 'high' ({high}) is below 'low' ({low})")
        bands.append(Band(low, high, _text(table, "label", where)))
    bands.sort(key=lambda band: (band.low, band.high))
    lowest, highest = bands[0], bands[-1]
    if lowest.low < min_total:
        raise QuestionnaireError(
            f"{source}: band '{lowest.label}' starts at {lowest.low}, below the lowest total"
            f" {min_total}"
        )
    if lowest.low > min_total:
        raise QuestionnaireError(f"{source}: no band covers {min_total} to {lowest.low - 1}")
    for before, after in pairwise(bands):
        if after.low <= before.high:
            raise QuestionnaireError(
                f"{source}: bands '{before.label}' and '{after.label}' overlap at {after.low}"
            )
        if after.low > before.high + 1:
            raise QuestionnaireError(
                f"{source}: no band covers {before.high + 1} to {after.low - 1}"
            )
    if highest.high > max_total:
        raise QuestionnaireError(
            f"{source}: bands go up to {highest.high}, above the highest total {max_total}"
        )
    if highest.high < max_total:
        raise QuestionnaireError(f"{source}: no band covers {highest.high + 1} to {max_total}")
    return tuple(bands)
