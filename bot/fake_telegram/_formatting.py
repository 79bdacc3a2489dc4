"""Text formatting like the Bot API does it: parse modes, entity offsets, command detection."""

from __future__ import annotations

import re

from ._html import parse_html
from ._markdown_v2 import parse_markdown_v2
from ._models import JSONDict
from ._text import FormattingError, utf16_len

__all__ = ["FormattingError", "command_entities", "render", "utf16_len"]

_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?(?![A-Za-z0-9_@/])")


def command_entities(text: str) -> list[JSONDict]:
    """Return ``bot_command`` entities for every command token in ``text``."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group(0)),
        }
        for match in _COMMAND_RE.finditer(text)
    ]


def render(text: str, parse_mode: str | None) -> tuple[str, list[JSONDict]]:
    """Apply ``parse_mode`` (HTML or MarkdownV2) to ``text``; errors are worded like Telegram's."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    raise FormattingError(f"Unsupported parse_mode: {parse_mode}")
