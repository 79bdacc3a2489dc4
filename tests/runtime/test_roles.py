"""Roles: an instance waiting for the lead keeps waiting through database failures."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime import roles as roles_module
from bot.runtime.roles import Roles
from bot.runtime.settings import load_settings
from tests.runtime.test_settings import minimal_env


class FlakyLeaderLock:
    """A leader lock that is taken elsewhere, fails twice while waiting, then is ours."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()
        self.held = False
        self.failures = 2
        self.waits = 0

    async def try_acquire(self) -> bool:
        return False

    async def acquire(self) -> None:
        self.waits += 1
        if self.failures:
            self.failures -= 1
            raise OSError("connection refused")
        self.held = True

    async def release(self) -> None:
        self.held = False


async def test_waiting_for_the_lead_outlasts_a_database_outage(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        {**minimal_env(), "AFTERGLOW_DATABASE_URL": "postgresql://u:secret@127.0.0.1:9/afterglow"}
    )
    roles = Roles(settings, every_instance_serves=True)
    lock = FlakyLeaderLock()
    monkeypatch.setattr(roles, "_leader", lock)
    monkeypatch.setattr(roles_module, "LEAD_RETRY", 0.01)
    led = asyncio.Event()

    async def on_lead() -> None:
        led.set()

    roles.seek_the_lead(on_lead)
    await asyncio.wait_for(led.wait(), timeout=5)
    assert roles.leading
    assert lock.waits == 3
    assert caplog.text.count("bot.lead_wait_failed error=OSError") == 2
    assert "secret" not in caplog.text
    await roles.release()
