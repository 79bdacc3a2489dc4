"""Making what people type safe to store: no NUL, no lone surrogates, no control characters."""

from __future__ import annotations

import unicodedata

# Kept: line breaks and tabs are how people lay out a note.
_KEPT = {"\n", "\t"}


def clean_text(text: str) -> str:
    """Return text without what a database or a later message cannot hold.

    NUL and other control characters are dropped (a carriage return becomes a line break),
    and a lone surrogate (half of an emoji, from a malformed client) becomes U+FFFD.
    Everything a person could have meant to write is kept.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return "".join(
        char for char in text if char in _KEPT or unicodedata.category(char) not in {"Cc", "Cs"}
    )
