"""Log lines carry no message content, whatever a library logs, and never the token."""

from __future__ import annotations

import io
import logging
import sqlite3
from collections.abc import Iterator

import pytest

from bot.runtime.logs import configure_logging

TOKEN = "123456:SECRET-token-in-a-url"
WORDS = "i want to die, says Penelope"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging(token=TOKEN, level=logging.DEBUG, stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        logging.getLogger("telegram").setLevel(logging.NOTSET)


def test_a_library_line_keeps_its_template_not_its_values(lines: io.StringIO) -> None:
    logging.getLogger("telegram.ext.Updater").critical("Received data was %r", {"text": WORDS})
    logging.getLogger("aiohttp.access").warning("%s %s", "POST", f"/bot{TOKEN}/x")

    out = lines.getvalue()
    assert "Received data was %r [values withheld]" in out
    assert "Penelope" not in out
    assert TOKEN not in out


def test_a_traceback_withholds_what_an_exception_quotes(lines: io.StringIO) -> None:
    try:
        try:
            raise KeyError(WORDS)
        except KeyError as inner:
            raise ValueError(f"could not parse {WORDS}") from inner
    except ValueError:
        logging.getLogger("telegram.ext.Application").exception("No error handlers")

    out = lines.getvalue()
    assert "builtins.ValueError (message withheld)" in out
    assert "builtins.KeyError (message withheld)" in out
    assert "test_a_traceback_withholds" in out  # the frames are still there
    assert "Penelope" not in out


def test_machine_errors_keep_their_message(lines: io.StringIO) -> None:
    try:
        raise sqlite3.OperationalError("database is locked")
    except sqlite3.OperationalError:
        logging.getLogger("storage._database").exception("database.write_failed")

    assert "database is locked" in lines.getvalue()


def test_afterglow_lines_are_kept_as_they_are(lines: io.StringIO) -> None:
    logging.getLogger("bot.services.dispatcher").info(
        "checkin.sent code=%s checkin=%d", "P-7K3Q", 4
    )

    assert "checkin.sent code=P-7K3Q checkin=4" in lines.getvalue()
