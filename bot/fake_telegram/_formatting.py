"""Text formatting like the Bot API does it: parse modes, entity offsets, command detection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]

_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?(?![A-Za-z0-9_@/])")
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,8};?|#[xX][0-9a-fA-F]{1,8};?|[A-Za-z]+;?)")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
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


class FormattingError(ValueError):
    """Raised when text cannot be parsed with the requested parse mode."""


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


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


def _sorted(entities: list[JSONDict]) -> list[JSONDict]:
    return sorted(
        (entity for entity in entities if entity["length"] > 0),
        key=lambda entity: (entity["offset"], -entity["length"]),
    )


@dataclass
class _Out:
    parts: list[str] = field(default_factory=list)
    pos: int = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos += utf16_len(chunk)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _Open:
    kind: str
    start: int
    byte_offset: int
    attrs: dict[str, str] = field(default_factory=dict)
    pending: JSONDict | None = None
    language: str = ""


def _decode_html_entity(text: str, index: int) -> tuple[str, int]:
    match = _HTML_ENTITY_RE.match(text, index)
    if match is None:
        return "&", 1
    body = match.group(1).rstrip(";")
    if body.startswith(("#x", "#X")):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    elif body in _HTML_NAMED:
        return _HTML_NAMED[body], len(match.group(0))
    else:
        return "&", 1
    if 0xD800 <= code <= 0xDFFF:
        raise FormattingError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    if code == 0 or code > 0x10FFFF:
        return match.group(0), len(match.group(0))
    return chr(code), len(match.group(0))


def _parse_html_attrs(
    text: str, index: int, tag: str, tag_offset: int
) -> tuple[dict[str, str], int]:
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while index < n and text[index].isspace():
            index += 1
        if index >= n:
            raise FormattingError(f'Unclosed start tag "{tag}" at byte offset {tag_offset}')
        if text[index] == ">":
            return attrs, index + 1
        start = index
        while index < n and (text[index].isalnum() or text[index] in "-_:"):
            index += 1
        name = text[start:index].lower()
        if not name:
            raise FormattingError(
                f'Empty attribute name in the tag "{tag}" at byte offset {tag_offset}'
            )
        while index < n and text[index].isspace():
            index += 1
        if index < n and text[index] == "=":
            index += 1
            while index < n and text[index].isspace():
                index += 1
            if index >= n:
                raise FormattingError(f'Unclosed start tag "{tag}" at byte offset {tag_offset}')
            if text[index] in "\"'":
                quote = text[index]
                end = text.find(quote, index + 1)
                if end == -1:
                    raise FormattingError(f"Unclosed start tag at byte offset {tag_offset}")
                value = _html_unescape(text[index + 1 : end])
                index = end + 1
            else:
                start = index
                while index < n and (text[index].isalnum() or text[index] in "-_.,:/?=&#%+"):
                    index += 1
                if index >= n:
                    raise FormattingError(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, index)}"
                    )
                value = text[start:index]
        else:
            value = ""
        attrs[name] = value


def _html_unescape(value: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(value):
        if value[index] == "&":
            chunk, used = _decode_html_entity(value, index)
            out.append(chunk)
            index += used
        else:
            out.append(value[index])
            index += 1
    return "".join(out)


def _html_entities(open_tag: _Open, end: int, parent: _Open | None) -> list[JSONDict]:
    kind = _HTML_TAGS[open_tag.kind]
    entity: JSONDict = {"type": kind, "offset": open_tag.start, "length": end - open_tag.start}
    if kind == "text_link":
        href = open_tag.attrs.get("href", "")
        if not href:
            return []
        entity["url"] = href
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = open_tag.attrs["emoji-id"]
    elif kind == "blockquote" and "expandable" in open_tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "code":
        css_class = open_tag.attrs.get("class", "")
        language = css_class.removeprefix("language-")
        if parent is not None and parent.kind == "pre" and language and language != css_class:
            parent.pending = entity
            parent.language = language
            return []
    elif kind == "pre" and open_tag.pending is not None:
        code = open_tag.pending
        if code["offset"] == entity["offset"] and code["length"] == entity["length"]:
            entity["language"] = open_tag.language
            return [entity]
        return [entity, code]
    return [entity]


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Bot API HTML markup into plain text and entities."""
    out = _Out()
    stack: list[_Open] = []
    entities: list[JSONDict] = []
    index = 0
    n = len(text)
    while index < n:
        char = text[index]
        if char == "&":
            chunk, used = _decode_html_entity(text, index)
            out.add(chunk)
            index += used
            continue
        if char != "<":
            out.add(char)
            index += 1
            continue
        tag_offset = _byte_offset(text, index)
        if index + 1 < n and text[index + 1] == "/":
            end = text.find(">", index)
            if not stack:
                raise FormattingError(f"Unexpected end tag at byte offset {tag_offset}")
            if end == -1:
                raise FormattingError(f"Unclosed end tag at byte offset {tag_offset}")
            name = text[index + 2 : end].strip().lower()
            top = stack.pop()
            if name and name != top.kind:
                raise FormattingError(
                    f'Unmatched end tag at byte offset {tag_offset}, expected "</{top.kind}>", '
                    f'found "</{name}>"'
                )
            entities.extend(_html_entities(top, out.pos, stack[-1] if stack else None))
            index = end + 1
            continue
        start = index + 1
        index = start
        while index < n and not text[index].isspace() and text[index] != ">":
            index += 1
        if index >= n:
            raise FormattingError(f"Unclosed start tag at byte offset {tag_offset}")
        name = text[start:index].lower()
        if name not in _HTML_TAGS:
            raise FormattingError(f'Unsupported start tag "{name}" at byte offset {tag_offset}')
        attrs, index = _parse_html_attrs(text, index, name, tag_offset)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise FormattingError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {tag_offset}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise FormattingError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {tag_offset}'
            )
        stack.append(_Open(name, out.pos, tag_offset, attrs))
    if stack:
        raise FormattingError(f'Can\'t find end tag corresponding to start tag "{stack[-1].kind}"')
    return out.text(), _sorted(entities)


class _MarkdownV2:
    """A close approximation of tdlib's MarkdownV2 parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.out = _Out()
        self.stack: list[_Open] = []
        self.entities: list[JSONDict] = []
        self.quote: _Open | None = None
        self.quote_expandable = False

    def _reserved(self, char: str) -> FormattingError:
        return FormattingError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    def _unclosed(self, entry: _Open) -> FormattingError:
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
                        self.quote = _Open("blockquote", self.out.pos, _byte_offset(text, index))
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
        return self.out.text(), _sorted(self.entities)

    def _finish(self, entry: _Open) -> None:
        self.stack.pop()
        entity: JSONDict = {
            "type": entry.kind,
            "offset": entry.start,
            "length": self.out.pos - entry.start,
        }
        if entry.kind == "pre" and entry.attrs.get("language"):
            entity["language"] = entry.attrs["language"]
        self.entities.append(entity)

    def _special(self, index: int, top: _Open | None) -> int:
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
        offset = _byte_offset(text, index)
        start = self.out.pos
        if char == "_" and nxt == "_":
            self.stack.append(_Open("underline", start, offset))
            return index + 2
        simple = {"_": "italic", "*": "bold", "~": "strikethrough", "[": "text_link"}
        if char in simple:
            self.stack.append(_Open(simple[char], start, offset))
            return index + 1
        if char == "|" and nxt == "|":
            self.stack.append(_Open("spoiler", start, offset))
            return index + 2
        if char == "!" and nxt == "[":
            self.stack.append(_Open("custom_emoji", start, offset))
            return index + 2
        if char == "`":
            if text.startswith("```", index):
                return self._open_pre(index, offset)
            self.stack.append(_Open("code", start, offset))
            return index + 1
        raise self._reserved(char)

    def _open_pre(self, index: int, offset: int) -> int:
        text = self.text
        index += 3
        lang_end = index
        while lang_end < len(text) and not text[lang_end].isspace() and text[lang_end] != "`":
            lang_end += 1
        entry = _Open("pre", 0, offset)
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

    def _finish_link(self, entry: _Open, index: int) -> int:
        text = self.text
        self.stack.pop()
        index += 1
        url = ""
        if index < len(text) and text[index] == "(":
            url_offset = _byte_offset(text, index + 1)
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


def parse_markdown(text: str) -> tuple[str, list[JSONDict]]:
    """Parse legacy Bot API Markdown markup into plain text and entities."""
    out = _Out()
    entities: list[JSONDict] = []
    index = 0
    n = len(text)
    delimiters = {"*": "bold", "_": "italic", "`": "code"}
    while index < n:
        char = text[index]
        if char == "\\" and index + 1 < n and text[index + 1] in "_*`[":
            out.add(text[index + 1])
            index += 2
            continue
        if char not in "_*`[":
            out.add(char)
            index += 1
            continue
        offset = _byte_offset(text, index)
        unclosed = FormattingError(
            f"Can't find end of the entity starting at byte offset {offset}"
        )
        start = out.pos
        if text.startswith("```", index):
            end = text.find("```", index + 3)
            if end == -1:
                raise unclosed
            body = text[index + 3 : end]
            language = ""
            first_line, newline, rest = body.partition("\n")
            if newline and first_line and not any(c.isspace() for c in first_line):
                language, body = first_line, rest
            out.add(body)
            entity: JSONDict = {"type": "pre", "offset": start, "length": out.pos - start}
            if language:
                entity["language"] = language
            entities.append(entity)
            index = end + 3
            continue
        if char == "[":
            close = text.find("]", index + 1)
            if close == -1:
                raise unclosed
            label = text[index + 1 : close]
            url = ""
            index = close + 1
            if index < n and text[index] == "(":
                end = text.find(")", index + 1)
                if end == -1:
                    raise unclosed
                url = text[index + 1 : end]
                index = end + 1
            out.add(label)
            if url and label:
                entities.append(
                    {"type": "text_link", "offset": start, "length": out.pos - start, "url": url}
                )
            continue
        end = text.find(char, index + 1)
        if end == -1:
            raise unclosed
        out.add(text[index + 1 : end])
        entities.append({"type": delimiters[char], "offset": start, "length": out.pos - start})
        index = end + 1
    return out.text(), _sorted(entities)


def render(text: str, parse_mode: str | None) -> tuple[str, list[JSONDict]]:
    """Apply ``parse_mode`` to ``text``, raising FormattingError worded like the Bot API."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise FormattingError(f"Unsupported parse_mode: {parse_mode}")
