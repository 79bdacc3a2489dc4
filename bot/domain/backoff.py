"""Exponential back-off: the wait before the next attempt after some failed ones."""

from __future__ import annotations

from datetime import timedelta

MAX_DOUBLINGS = 10


def backoff(attempts: int, *, first: timedelta, ceiling: timedelta) -> timedelta:
    """Return `first` doubled for each failed attempt after the first, at most `ceiling`.

    After one failed attempt the wait is `first`, after two it is twice that, and so on.
    """
    exponent = max(0, min(attempts - 1, MAX_DOUBLINGS))
    return min(first * (1 << exponent), ceiling)
