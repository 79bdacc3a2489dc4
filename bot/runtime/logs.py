"""Logging set-up: event lines only, quiet libraries, and the token redacted as a last guard."""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import TextIO


class RedactFilter(logging.Filter):
    """Replaces secrets in a formatted record; a guard behind the rule to never log them."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the message and any traceback in place, and keep the record."""
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            # Format the traceback now so the redacted text is what the formatter prints.
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter()
_OWN = ("bot", "handlers", "storage", "__main__")
# Exceptions whose messages describe the machine, not a person: kept in tracebacks.
_SAFE_MESSAGES: tuple[type[BaseException], ...] = (OSError, sqlite3.Error)


def _is_own(name: str) -> bool:
    return name.split(".", 1)[0] in _OWN


def _traceback(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> str:
    """Return a traceback with its frames, and exception messages only where they are safe.

    A library's exception may quote what it was handling (a raw update, a request with a
    message): its type is kept, its words are not.
    """
    _, error, tb = exc_info
    lines = ["Traceback (most recent call last):\n", *traceback.format_tb(tb)]
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 5:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in chain:
        shown = isinstance(item, _SAFE_MESSAGES)
        lines.append(f"{type(item).__module__}.{type(item).__qualname__}")
        lines.append(f": {item}\n" if shown else " (message withheld)\n")
    return "".join(lines).rstrip()


class ContentFilter(logging.Filter):
    """No log line carries message content, whatever a library logs.

    Afterglow's own lines are event names with codes. A library's line keeps only its
    template (never the values filled into it, where payloads and message text go), and
    every traceback keeps its frames but withholds exception messages that could quote
    content.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Reduce the record to what cannot hold content, and keep it."""
        if not _is_own(record.name) and record.args:
            template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
            record.msg = f"{template} [values withheld]"
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, error, tb = record.exc_info
            assert exc_type is not None
            record.exc_text = _traceback((exc_type, error, tb))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and its key=value fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line."""
        message = record.getMessage()
        event, _, rest = message.partition(" ")
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": event,
        }
        for part in rest.split(" "):
            key, sep, value = part.partition("=")
            if sep and key.isidentifier() and key not in entry:
                entry[key] = value
            elif part:
                entry["message"] = message
                break
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    *,
    token: str,
    level: int = logging.INFO,
    json_lines: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Send one line per event to stderr; silence libraries that log URLs or payloads."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(ContentFilter())
    handler.addFilter(RedactFilter([token]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the URL contains the bot token.
    for name in ("httpx", "httpcore", "apscheduler", "aiosqlite", "sqlalchemy", "asyncpg"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # python-telegram-bot logs request parameters (message text) at DEBUG.
    logging.getLogger("telegram").setLevel(max(level, logging.INFO))
