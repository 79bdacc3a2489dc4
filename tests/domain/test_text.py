"""Cleaning what people type before it is stored."""

from __future__ import annotations

import pytest

from bot.domain.text import clean_text


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("\x00slept badly", "slept badly"),
        ("a\x07b\x1bc", "abc"),
        ("line one\r\nline two\rthree", "line one\nline two\nthree"),
        ("tab\tkept", "tab\tkept"),
        ("half an emoji \ud83d", "half an emoji \ufffd"),
        ("\ud83d\ude00 a whole one", "\U0001f600 a whole one"),
        (
            "family \U0001f468\u200d\U0001f469\u200d\U0001f467",
            "family \U0001f468\u200d\U0001f469\u200d\U0001f467",
        ),
        ("ça va, danke, 元気", "ça va, danke, 元気"),
    ],
)
def test_what_cannot_be_stored_is_dropped_and_the_rest_kept(raw: str, kept: str) -> None:
    assert clean_text(raw) == kept


def test_cleaned_text_always_encodes() -> None:
    assert clean_text("\ud800\udfff\ud800x\x00").encode("utf-8")
