"""Parse modes as the Bot API applies them: plain text, entities in UTF-16 units, errors."""

from __future__ import annotations

import pytest

from bot.fake_telegram._formatting import FormattingError, command_entities, render, utf16_len


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("a😊é") == 4


def test_no_parse_mode_keeps_the_text() -> None:
    assert render("<b>*x*</b>", None) == ("<b>*x*</b>", [])


def test_html_offsets_are_utf16_units() -> None:
    text, entities = render(
        "😊 <b>bold <i>both</i></b> &amp; <a href='https://x.org'>link</a>", "HTML"
    )
    assert text == "😊 bold both & link"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 15, "length": 4, "url": "https://x.org"},
    ]


def test_html_pre_with_language() -> None:
    text, entities = render('<pre><code class="language-python">x = 1</code></pre>', "html")
    assert text == "x = 1"
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<blink>x</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("</b>", "Unexpected end tag at byte offset 0"),
    ],
)
def test_html_errors_are_worded_like_telegram(markup: str, error: str) -> None:
    with pytest.raises(FormattingError) as caught:
        render(markup, "HTML")
    assert str(caught.value) == error


def test_markdown_v2_entities_and_escapes() -> None:
    text, entities = render(
        r"*bold* _it_ __under__ [link](https://x.org) `c\`` 1\.5", "MarkdownV2"
    )
    assert text == "bold it under link c` 1.5"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 5, "length": 2},
        {"type": "underline", "offset": 8, "length": 5},
        {"type": "text_link", "offset": 14, "length": 4, "url": "https://x.org"},
        {"type": "code", "offset": 19, "length": 2},
    ]


def test_markdown_v2_errors_are_worded_like_telegram() -> None:
    with pytest.raises(FormattingError, match=r"Character '!' is reserved"):
        render("Hi!", "MarkdownV2")
    with pytest.raises(FormattingError, match="Can't find end of Bold entity at byte offset 0"):
        render("*open", "MarkdownV2")


def test_only_html_and_markdown_v2_are_supported() -> None:
    with pytest.raises(FormattingError, match="Unsupported parse_mode: Markdown"):
        render("*x*", "Markdown")


def test_command_entities() -> None:
    assert command_entities("😊 /start@afterglow_bot now, not a/path or /x/y") == [
        {"type": "bot_command", "offset": 3, "length": 20}
    ]
