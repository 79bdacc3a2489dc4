"""The one error the crisis package raises on purpose."""

from __future__ import annotations

from bot.domain.errors import ContentError


class CrisisPatternError(ContentError):
    """The crisis patterns file is missing, not TOML, or invalid; the message names the file."""
