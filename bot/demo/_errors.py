"""The demo's one error."""

from __future__ import annotations

from bot.domain.errors import AfterglowError


class DemoError(AfterglowError):
    """Something in the story did not happen."""
