"""Reading the `[detection]` and `[adaptive]` tables of a protocol file, and writing them back.

The research commands accept a whole protocol or a file with only these tables (a clinic's
trial setting). Writing a chosen setting keeps the rest of the file, its comments included:
only the values of the keys that differ from the file are replaced (or added).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import time

from bot.domain.adaptive import AdaptiveConfig
from bot.domain.detection import DetectorConfig
from bot.research.tuning import Setting

_HEADER = re.compile(r"^\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)([^#\n]*?)(\s*#.*)?$")


def read_settings(text: str, source: str) -> Setting:
    """Return the detector and adaptive settings of protocol text; ValueError names the file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{source}: cannot read a TOML protocol ({err})") from None
    tables = {}
    for name in ("detection", "adaptive"):
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ValueError(f"{source}: [{name}] must be a table")
        tables[name] = table
    try:
        return Setting(
            detection=DetectorConfig.from_mapping(tables["detection"]),
            adaptive=AdaptiveConfig.from_mapping(tables["adaptive"]),
        )
    except ValueError as err:
        raise ValueError(f"{source}: {err}") from None


def toml_value(value: object) -> str:
    """Return a config value as TOML text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, time):
        return f'"{value.hour:02d}:{value.minute:02d}"'
    if isinstance(value, float):
        return f"{value:g}" if "." in f"{value:g}" or "e" in f"{value:g}" else f"{value:g}.0"
    return str(value)


def render_protocol(text: str, setting: Setting, keys: Iterable[str]) -> str:
    """Return protocol text with the "table.key" values of `setting` written into it.

    A key already in its table has its value replaced (the comment after it is kept); a
    missing key is added at the end of its table; a missing table is added at the end.
    """
    wanted: dict[str, dict[str, str]] = {}
    for key in keys:
        prefix, name = key.split(".", 1)
        wanted.setdefault(prefix, {})[name] = toml_value(setting.value(key))
    lines = text.splitlines()
    out: list[str] = []
    table: str | None = None
    left: dict[str, dict[str, str]] = {name: dict(values) for name, values in wanted.items()}
    for line in lines:
        header = _HEADER.match(line)
        if header is not None:
            _flush(out, left.pop(table, {}) if table is not None else {})
            table = header.group(1)
            out.append(line)
            continue
        match = _KEY.match(line)
        if match is not None and table in left and match.group(2) in left[table]:
            value = left[table].pop(match.group(2))
            out.append(
                f"{match.group(1)}{match.group(2)}{match.group(3)}{value}{match.group(5) or ''}"
            )
            continue
        out.append(line)
    _flush(out, left.pop(table, {}) if table is not None else {})
    for name, values in left.items():
        if values:
            out.extend(["", f"[{name}]"])
            _flush(out, values)
    rendered = "\n".join(out) + "\n"
    check = read_settings(rendered, "the written protocol")
    if any(check.value(key) != setting.value(key) for key in wanted_keys(wanted)):
        raise ValueError("the written protocol does not read back as the chosen setting")
    return rendered


def wanted_keys(wanted: dict[str, dict[str, str]]) -> list[str]:
    """Return the "table.key" names of a nested mapping."""
    return [f"{table}.{name}" for table, names in wanted.items() for name in names]


def _flush(out: list[str], values: dict[str, str]) -> None:
    """Append keys still to write to the table just ended (before its trailing blank lines)."""
    if not values:
        return
    blanks = 0
    while out and not out[-1].strip():
        out.pop()
        blanks += 1
    out.extend(f"{name} = {value}" for name, value in values.items())
    out.extend([""] * blanks)
