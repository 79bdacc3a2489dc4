"""Building blocks of the Bot API text parsers: UTF-16 lengths, output and open entities."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._models import JSONDict

__all__ = [
    "FormattingError",
    "OpenEntity",
    "Output",
    "byte_offset",
    "sorted_entities",
    "utf16_len",
]


class FormattingError(ValueError):
    """Raised when text cannot be parsed with the requested parse mode."""


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def byte_offset(text: str, index: int) -> int:
    """Return the UTF-8 byte offset of ``text[index]``, the unit of parse error positions."""
    return len(text[:index].encode("utf-8"))


def sorted_entities(entities: list[JSONDict]) -> list[JSONDict]:
    """Return the non-empty entities in the order Telegram lists them."""
    return sorted(
        (entity for entity in entities if entity["length"] > 0),
        key=lambda entity: (entity["offset"], -entity["length"]),
    )


@dataclass
class Output:
    """Plain text being built, with its length in UTF-16 units."""

    parts: list[str] = field(default_factory=list)
    pos: int = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos += utf16_len(chunk)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class OpenEntity:
    """An entity whose start was seen and whose end was not (yet)."""

    kind: str
    start: int
    byte_offset: int
    attrs: dict[str, str] = field(default_factory=dict)
    pending: JSONDict | None = None
    language: str = ""
