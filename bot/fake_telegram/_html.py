"""The Bot API's HTML parse mode."""

from __future__ import annotations

import re

from ._models import JSONDict
from ._text import FormattingError, OpenEntity, Output, byte_offset, sorted_entities

__all__ = ["parse_html"]

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
                        f"Unexpected end of name token at byte offset {byte_offset(text, index)}"
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


def _html_entities(open_tag: OpenEntity, end: int, parent: OpenEntity | None) -> list[JSONDict]:
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
    out = Output()
    stack: list[OpenEntity] = []
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
        tag_offset = byte_offset(text, index)
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
        stack.append(OpenEntity(name, out.pos, tag_offset, attrs))
    if stack:
        raise FormattingError(f'Can\'t find end tag corresponding to start tag "{stack[-1].kind}"')
    return out.text(), sorted_entities(entities)
