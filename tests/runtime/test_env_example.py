""".env.example: every setting the bot reads is there, and it loads once filled in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.runtime.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"


def variables_read() -> set[str]:
    source = (ROOT / "bot" / "runtime" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r'"((?:AFTERGLOW|TELEGRAM)_[A-Z_]+)"', source))


def test_every_setting_is_in_the_example_with_a_comment() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    read = variables_read()
    assert len(read) >= 18
    for name in sorted(read):
        at = next((i for i, line in enumerate(lines) if re.match(rf"#? ?{name}=", line)), None)
        assert at is not None, name
        above = lines[at - 1] if at else ""
        assert above.startswith("#"), name


def test_the_example_filled_in_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    values = {k: v or "" for k, v in dotenv_values(EXAMPLE).items()}
    values |= {
        "TELEGRAM_BOT_TOKEN": "123456:ABC-example",
        "AFTERGLOW_STAFF_CHAT_ID": "-1001234567890",
        "AFTERGLOW_ADMIN_IDS": "42",
    }

    settings = load_settings(values)

    assert settings.staff_chat_id == -1001234567890
