"""Fixtures: a fake server per test, a PTB Bot pointed at it, and a simulated user."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.fake_telegram import FakeTelegramServer, FakeUser
from tests.fake_telegram.helpers import TOKEN, make_bot


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """Run a fake server for one test."""
    async with FakeTelegramServer(
        token=TOKEN, bot_username="afterglow_test_bot", bot_id=123456
    ) as running:
        yield running


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    """Return an initialized PTB Bot pointed at the fake server."""
    async with make_bot(server) as ptb_bot:
        yield ptb_bot


@pytest.fixture
def alice(server: FakeTelegramServer) -> FakeUser:
    """Return a simulated user."""
    return server.add_user(first_name="Alice", username="alice")
