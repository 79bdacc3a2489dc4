"""A whole flow at DEBUG level: the logs carry events and codes, never text, scores or token."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.runtime.logs import configure_logging
from tests.integration.conftest import TOKEN, Harness

NOTE = "my neighbour Gerald keeps me awake"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Install the production logging set-up at DEBUG into a buffer; restore afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    named = ["httpx", "httpcore", "apscheduler", "aiosqlite", "telegram"]
    saved_named = {name: logging.getLogger(name).level for name in named}
    buffer = io.StringIO()
    configure_logging(token=TOKEN, level=logging.DEBUG, json_lines=True, stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_named.items():
            logging.getLogger(name).setLevel(level)


async def test_debug_logs_never_hold_text_scores_or_token(
    harness: Harness, captured: io.StringIO
) -> None:
    h = harness
    pat = h.server.add_user(first_name="Penelope", username="penny_secret")
    code = await h.enrol(pat)
    await h.say(h.staff, f"/infusion {code}")
    patient = await h.svc.storage.patients.by_code(code)
    assert patient is not None
    rows = await h.svc.storage.checkins.for_patient(patient.id)
    h.clock.set(rows[0].due_at)
    waiting = h.expect(pat.id, lambda m: len(m.buttons()) == 11)
    await h.tick()
    prompt = await waiting
    await h.press(pat, prompt, prompt.button("7"))
    await h.say(pat, NOTE)
    await h.say(pat, "/checkin")
    await h.say(pat, "3/10")

    output = captured.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    events = {line["event"] for line in lines}
    assert {"patient.enrolled", "infusion.recorded", "checkin.sent", "checkin.answered"} <= events
    assert any(line.get("code") == code for line in lines)
    for secret in (TOKEN, TOKEN.split(":")[1], NOTE, "Gerald", "Penelope", "penny_secret"):
        assert secret not in output, secret
    for line in lines:
        assert "score" not in line
        assert "text" not in line
        assert "7/10" not in json.dumps(line)
        assert "3/10" not in json.dumps(line)
