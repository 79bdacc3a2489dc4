"""The check-in protocol: which days after an infusion a patient is asked, and the windows."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any, TypeVar

from bot.domain.adaptive import AdaptiveConfig
from bot.domain.detection import DetectorConfig
from bot.domain.errors import ContentError
from bot.domain.explainers import ExplainerLibrary
from bot.domain.questionnaire_plan import QuestionnairePlan

_T = TypeVar("_T")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
MAX_DAY = 366


class ProtocolError(ContentError):
    """The protocol file is missing, not TOML, or does not describe a usable plan."""


def parse_hhmm(value: str) -> time | None:
    """Return the time for a strict 'HH:MM' string, or None."""
    match = _HHMM.fullmatch(value.strip())
    if match is None:
        return None
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True, slots=True)
class Protocol:
    """A validated check-in protocol."""

    days: tuple[int, ...]
    default_time: time
    time_choices: tuple[time, ...]
    send_window: timedelta
    answer_window: timedelta
    source: str
    detection: DetectorConfig = field(default_factory=DetectorConfig)
    adaptive: AdaptiveConfig = field(default_factory=AdaptiveConfig)
    # A patient paused for longer than this is told to the staff.
    pause_alert_after: timedelta = timedelta(days=7)
    # An URGENT alert nobody acknowledged for this long goes to the on-call staff privately.
    urgent_escalate_after: timedelta = timedelta(minutes=15)
    explainers: tuple[tuple[int, str], ...] = ()
    questionnaires: QuestionnairePlan = field(default_factory=QuestionnairePlan)


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ProtocolError(f"{source}: missing [{key}] table")
    return value


def _int(table: dict[str, Any], key: str, where: str, low: int, high: int) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ProtocolError(f"{where}: '{key}' must be a whole number from {low} to {high}")
    return value


def _time(value: object, where: str) -> time:
    parsed = parse_hhmm(value) if isinstance(value, str) else None
    if parsed is None:
        raise ProtocolError(f"{where}: times must be 'HH:MM' strings, got {value!r}")
    return parsed


def parse_protocol(text: str, *, source: str) -> Protocol:
    """Parse and validate protocol TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ProtocolError(f"{source}: not valid TOML ({err})") from None
    checkins = _table(data, "checkins", source)
    send_window, answer_window = _windows(_table(data, "dispatch", source), source)
    return Protocol(
        days=_days(checkins, source),
        default_time=_time(checkins.get("default_time"), f"{source}: [checkins] default_time"),
        time_choices=_time_choices(checkins, source),
        send_window=send_window,
        answer_window=answer_window,
        source=source,
        detection=_detection(data, source),
        adaptive=_adaptive(data, source),
        questionnaires=_questionnaires(data, source),
        pause_alert_after=_pause_alert_after(data, source),
        urgent_escalate_after=_urgent_escalate_after(data, source),
        explainers=_explainer_schedule(data, source),
    )


def _days(checkins: dict[str, Any], source: str) -> tuple[int, ...]:
    schedule = checkins.get("schedule")
    if not isinstance(schedule, list) or not schedule:
        raise ProtocolError(f"{source}: [checkins] needs a non-empty 'schedule' list")
    days: set[int] = set()
    for index, block in enumerate(schedule, start=1):
        where = f"{source}: schedule block {index}"
        if not isinstance(block, dict):
            raise ProtocolError(
                f"{where}: must be a table like {{ first = 1, last = 14, every = 1 }}"
            )
        unknown = set(block) - {"first", "last", "every"}
        if unknown:
            raise ProtocolError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        first = _int(block, "first", where, 1, MAX_DAY)
        last = _int(block, "last", where, 1, MAX_DAY)
        every = _int(block, "every", where, 1, MAX_DAY)
        if last < first:
            raise ProtocolError(f"{where}: 'last' ({last}) is before 'first' ({first})")
        days.update(range(first, last + 1, every))
    return tuple(sorted(days))


def _time_choices(checkins: dict[str, Any], source: str) -> tuple[time, ...]:
    choices = checkins.get("time_choices")
    if not isinstance(choices, list) or not 1 <= len(choices) <= 12:
        raise ProtocolError(f"{source}: [checkins] time_choices must list 1 to 12 'HH:MM' times")
    return tuple(
        sorted({_time(choice, f"{source}: [checkins] time_choices") for choice in choices})
    )


def _optional_table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ProtocolError(f"{source}: [{key}] must be a table")
    return table


def _parsed(
    data: dict[str, Any], key: str, source: str, parse: Callable[[dict[str, Any]], _T]
) -> _T:
    """Parse an optional table with its config's from_mapping, naming the file in errors."""
    table = _optional_table(data, key, source)
    try:
        return parse(table)
    except ValueError as err:
        # The detector's messages do not name their table; the others do.
        where = f"[{key}] " if key == "detection" else ""
        raise ProtocolError(f"{source}: {where}{err}") from None


def _single(
    data: dict[str, Any], key: str, name: str, source: str, *, default: int, high: int
) -> int:
    """Read a table with one whole-number setting (1 to high), or its default."""
    table = _optional_table(data, key, source)
    unknown = set(table) - {name}
    if unknown:
        raise ProtocolError(f"{source}: [{key}] unknown key(s) {', '.join(sorted(unknown))}")
    if name not in table:
        return default
    return _int(table, name, f"{source}: [{key}]", 1, high)


def _detection(data: dict[str, Any], source: str) -> DetectorConfig:
    return _parsed(data, "detection", source, DetectorConfig.from_mapping)


def _pause_alert_after(data: dict[str, Any], source: str) -> timedelta:
    days = _single(data, "silence", "pause_alert_days", source, default=7, high=90)
    return timedelta(days=days)


def _urgent_escalate_after(data: dict[str, Any], source: str) -> timedelta:
    minutes = _single(data, "alerts", "urgent_escalate_minutes", source, default=15, high=240)
    return timedelta(minutes=minutes)


def _adaptive(data: dict[str, Any], source: str) -> AdaptiveConfig:
    return _parsed(data, "adaptive", source, AdaptiveConfig.from_mapping)


def _questionnaires(data: dict[str, Any], source: str) -> QuestionnairePlan:
    return _parsed(data, "questionnaires", source, QuestionnairePlan.from_mapping)


def _windows(dispatch: dict[str, Any], source: str) -> tuple[timedelta, timedelta]:
    send_hours = _int(dispatch, "send_window_hours", f"{source}: [dispatch]", 1, 24)
    answer_hours = _int(dispatch, "answer_window_hours", f"{source}: [dispatch]", 1, 72)
    if answer_hours <= send_hours:
        # Both count from the due time: a check-in sent late in its send window must still
        # leave the patient time to answer.
        raise ProtocolError(
            f"{source}: [dispatch] answer_window_hours ({answer_hours}) must be longer than"
            f" send_window_hours ({send_hours})"
        )
    return timedelta(hours=send_hours), timedelta(hours=answer_hours)


def _explainer_schedule(data: dict[str, Any], source: str) -> tuple[tuple[int, str], ...]:
    table = _optional_table(data, "explainers", source)
    entries = table.get("schedule", [])
    if not isinstance(entries, list):
        raise ProtocolError(f"{source}: [explainers] schedule must be a list")
    schedule: list[tuple[int, str]] = []
    for index, entry in enumerate(entries, start=1):
        where = f"{source}: [explainers] schedule entry {index}"
        if not isinstance(entry, dict) or set(entry) != {"day", "id"}:
            raise ProtocolError(f'{where}: must be a table {{ day = .., id = ".." }}')
        day = _int(entry, "day", where, 1, MAX_DAY)
        explainer_id = entry["id"]
        if not isinstance(explainer_id, str) or not explainer_id:
            raise ProtocolError(f"{where}: 'id' must name an explainer")
        schedule.append((day, explainer_id))
    return tuple(sorted(schedule))


def check_schedule(protocol: Protocol, library: ExplainerLibrary) -> None:
    """Refuse a protocol whose explainer schedule names explainers that do not exist."""
    for day, explainer_id in protocol.explainers:
        if library.get(explainer_id) is None:
            raise ProtocolError(
                f"{protocol.source}: [explainers] day {day} names {explainer_id!r}, which is"
                " not in the explainer folder"
            )
