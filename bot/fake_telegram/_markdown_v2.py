"""The Bot API's MarkdownV2 parse mode."""

from __future__ import annotations

import re

from ._models import JSONDict
from ._text import FormattingError, OpenEntity, Output, byte_offset, sorted_entities

__all__ = ["parse_markdown_v2"]

_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_CUSTOM_EMOJI_RE = re.compile(
    r"tg://emoji/?\?(?:.*&)?id=([1-9][0-9]{0,18})(?:[&#].*)?", re.IGNORECASE
)


class _MarkdownV2:
    """A close approximation of tdlib's MarkdownV2 parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.out = Output()
        self.stack: list[OpenEntity] = []
        self.entities: list[JSONDict] = []
        self.quote: OpenEntity | None = None
        self.quote_expandable = False

    def _reserved(self, char: str) -> FormattingError:
        return FormattingError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    def _unclosed(self, entry: OpenEntity) -> FormattingError:
        name = _MD2_NAMES.get(entry.kind, entry.kind)
        if entry.kind == "pre" and entry.attrs.get("language"):
            name = "PreCode"
        return FormattingError(
            f"Can't find end of {name} entity at byte offset {entry.byte_offset}"
        )

    def _close_quote(self) -> None:
        quote = self.quote
        if quote is None:
            return
        inner = [entry for entry in self.stack if entry.start >= quote.start]
        if inner and inner[-1].byte_offset > quote.byte_offset:
            raise self._unclosed(inner[-1])
        kind = "expandable_blockquote" if self.quote_expandable else "blockquote"
        self.entities.append(
            {"type": kind, "offset": quote.start, "length": self.out.pos - quote.start}
        )
        self.quote = None
        self.quote_expandable = False

    def _at_line_start(self, index: int) -> bool:
        return index == 0 or self.text[index - 1] in "\r\n"

    def _next_line_quoted(self, index: int) -> bool:
        text = self.text
        if index >= len(text):
            return False
        newline = text.find("\n", index)
        if newline == -1:
            return False
        return text.startswith((">", "**>"), newline + 1)

    def parse(self) -> tuple[str, list[JSONDict]]:
        text = self.text
        n = len(text)
        index = 0
        while index < n:
            char = text[index]
            top = self.stack[-1] if self.stack else None
            in_code = top is not None and top.kind in ("code", "pre")
            if not in_code and self._at_line_start(index):
                if (
                    index > 0
                    and text[index - 1] == "\n"
                    and self.quote is not None
                    and not text.startswith((">", "**>"), index)
                ):
                    self._close_quote()
                if text.startswith("**>", index) or char == ">":
                    if self.quote is None:
                        self.quote = OpenEntity(
                            "blockquote", self.out.pos, byte_offset(text, index)
                        )
                    index += 3 if char == "*" else 1
                    continue
            if char == "\\" and index + 1 < n and 0 < ord(text[index + 1]) <= 126:
                self.out.add(text[index + 1])
                index += 2
                continue
            if in_code:
                assert top is not None
                if top.kind == "code" and char == "`":
                    self._finish(top)
                    index += 1
                    continue
                if top.kind == "pre" and text.startswith("```", index):
                    self._finish(top)
                    index += 3
                    continue
                self.out.add(char)
                index += 1
                continue
            if char not in _MD2_RESERVED:
                self.out.add(char)
                index += 1
                continue
            index = self._special(index, top)
        if self.stack:
            raise self._unclosed(self.stack[-1])
        self._close_quote()
        return self.out.text(), sorted_entities(self.entities)

    def _finish(self, entry: OpenEntity) -> None:
        self.stack.pop()
        entity: JSONDict = {
            "type": entry.kind,
            "offset": entry.start,
            "length": self.out.pos - entry.start,
        }
        if entry.kind == "pre" and entry.attrs.get("language"):
            entity["language"] = entry.attrs["language"]
        self.entities.append(entity)

    def _special(self, index: int, top: OpenEntity | None) -> int:
        text = self.text
        char = text[index]
        nxt = text[index + 1] if index + 1 < len(text) else ""
        if top is not None:
            kind = top.kind
            if (
                (kind == "bold" and char == "*")
                or (kind == "italic" and char == "_" and nxt != "_")
                or (kind == "strikethrough" and char == "~")
            ):
                self._finish(top)
                return index + 1
            if (kind == "underline" and text.startswith("__", index)) or (
                kind == "spoiler" and text.startswith("||", index)
            ):
                self._finish(top)
                return index + 2
            if kind in ("text_link", "custom_emoji") and char == "]":
                return self._finish_link(top, index)
        if char == "|" and nxt == "|" and self.quote is not None:
            after = index + 2
            at_end = after >= len(text) or (
                text[after] in "\r\n" and not self._next_line_quoted(after)
            )
            if at_end and (top is None or top.kind != "spoiler"):
                self.quote_expandable = True
                return after
        offset = byte_offset(text, index)
        start = self.out.pos
        if char == "_" and nxt == "_":
            self.stack.append(OpenEntity("underline", start, offset))
            return index + 2
        simple = {"_": "italic", "*": "bold", "~": "strikethrough", "[": "text_link"}
        if char in simple:
            self.stack.append(OpenEntity(simple[char], start, offset))
            return index + 1
        if char == "|" and nxt == "|":
            self.stack.append(OpenEntity("spoiler", start, offset))
            return index + 2
        if char == "!" and nxt == "[":
            self.stack.append(OpenEntity("custom_emoji", start, offset))
            return index + 2
        if char == "`":
            if text.startswith("```", index):
                return self._open_pre(index, offset)
            self.stack.append(OpenEntity("code", start, offset))
            return index + 1
        raise self._reserved(char)

    def _open_pre(self, index: int, offset: int) -> int:
        text = self.text
        index += 3
        lang_end = index
        while lang_end < len(text) and not text[lang_end].isspace() and text[lang_end] != "`":
            lang_end += 1
        entry = OpenEntity("pre", 0, offset)
        if lang_end < len(text) and text[lang_end].isspace() and lang_end > index:
            entry.attrs["language"] = text[index:lang_end]
            index = lang_end
        for newline in ("\r\n", "\n\r", "\n", "\r"):
            if text.startswith(newline, index):
                index += len(newline)
                break
        entry.start = self.out.pos
        self.stack.append(entry)
        return index

    def _finish_link(self, entry: OpenEntity, index: int) -> int:
        text = self.text
        self.stack.pop()
        index += 1
        url = ""
        if index < len(text) and text[index] == "(":
            url_offset = byte_offset(text, index + 1)
            index += 1
            chars: list[str] = []
            while True:
                if index >= len(text):
                    what = "a custom emoji URL" if entry.kind == "custom_emoji" else "a URL"
                    raise FormattingError(f"Can't find end of {what} at byte offset {url_offset}")
                char = text[index]
                if char == "\\" and index + 1 < len(text) and text[index + 1] in ")\\":
                    chars.append(text[index + 1])
                    index += 2
                    continue
                if char == ")":
                    index += 1
                    break
                chars.append(char)
                index += 1
            url = "".join(chars)
        length = self.out.pos - entry.start
        if entry.kind == "custom_emoji":
            if not url:
                raise FormattingError("Custom emoji entity must contain a tg://emoji URL")
            match = _CUSTOM_EMOJI_RE.fullmatch(url)
            if match is None:
                raise FormattingError("Custom emoji URL must have an emoji identifier")
            self.entities.append(
                {
                    "type": "custom_emoji",
                    "offset": entry.start,
                    "length": length,
                    "custom_emoji_id": match.group(1),
                }
            )
            return index
        if url and length:
            self.entities.append(
                {"type": "text_link", "offset": entry.start, "length": length, "url": url}
            )
        return index


def parse_markdown_v2(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Bot API MarkdownV2 markup into plain text and entities."""
    return _MarkdownV2(text).parse()
