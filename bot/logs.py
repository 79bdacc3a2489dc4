"""Logging set-up: event lines only, quiet libraries, and the token redacted as a last guard."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable


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


def configure_logging(*, token: str, level: int = logging.INFO) -> None:
    """Send one line per event to stderr; silence libraries that log URLs or payloads."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactFilter([token]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the URL contains the bot token.
    for name in ("httpx", "httpcore", "apscheduler", "aiosqlite"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # python-telegram-bot logs request parameters (message text) at DEBUG.
    logging.getLogger("telegram").setLevel(max(level, logging.INFO))
