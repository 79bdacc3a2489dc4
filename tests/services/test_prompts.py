"""The back-off between attempts to send a check-in prompt."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from bot.services.prompts import RETRY_FIRST, RETRY_MAX, retry_delay


def test_retry_delay_starts_at_thirty_seconds() -> None:
    assert retry_delay(1) == timedelta(seconds=30) == RETRY_FIRST
    assert retry_delay(0) == timedelta(seconds=30)


def test_retry_delay_doubles_then_caps_at_thirty_minutes() -> None:
    delays = [retry_delay(attempts) for attempts in range(1, 60)]

    assert delays[:6] == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 960)]
    assert timedelta(minutes=30) == RETRY_MAX
    assert max(delays) == RETRY_MAX
    assert delays[-1] == RETRY_MAX
    assert all(a <= b for a, b in pairwise(delays))
    assert retry_delay(10**6) == RETRY_MAX
