"""Normalising patient text before matching: one spelling for the many ways of typing it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

_SPECIAL_CHARS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u02bc": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u00ad": "",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
    "&": " and ",
}
_SPECIAL = re.compile("[" + "".join(_SPECIAL_CHARS) + "]")
_ELONGATED = re.compile(r"([a-z])\1\1+")
_LEET = re.compile(r"[1!|30@4$](?<=[^\W\d_].)(?=[^\W\d_])")
_LEET_LETTERS = {"1": "i", "!": "i", "|": "i", "3": "e", "0": "o", "@": "a", "4": "a", "$": "s"}
_CENSORED = re.compile(r"(?<![^\W\d_*])[^\W\d_]*+\*(?:[^\W\d_]|\*)*+")
_MAX_CENSORED = 24
_JOINERS = re.compile(r"[-/+](?<=\w.)(?=\w)")
_BREAKS = re.compile(r"[^a-z0-9 ']+")


class Normaliser:
    """Turns text into lower-case words separated by single spaces, with a space at each end.

    NFKC, look-alike quotes and dashes folded, letters repeated three or more times cut to
    two, leetspeak and censored words (with `censorable`) spelled out, word joiners as
    spaces, punctuation as " . ", and each word replaced as `replacements` says.
    """

    __slots__ = ("_censorable", "_replacements")

    def __init__(self, replacements: Mapping[str, str], censorable: Sequence[str]) -> None:
        self._replacements = dict(replacements)
        self._censorable = tuple(censorable)

    def __call__(self, text: str) -> str:
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = _SPECIAL.sub(lambda match: _SPECIAL_CHARS[match.group()], text.casefold())
        text = _ELONGATED.sub(r"\1\1", text)
        if _LEET.search(text):
            text = _LEET.sub(lambda match: _LEET_LETTERS[match.group()], text)
        if "*" in text:
            text = _CENSORED.sub(self._uncensor, text)
        text = _JOINERS.sub(" ", text.replace("_", " "))
        text = _BREAKS.sub(" . ", text)
        get = self._replacements.get
        if "'" in text:
            words = [
                get(word) or get(word.replace("'", ""), word.replace("'", "") or ".")
                if "'" in word
                else get(word, word)
                for word in text.split()
            ]
        else:
            words = [get(word, word) for word in text.split()]
        return " " + " ".join(words) + " "

    def _uncensor(self, match: re.Match[str]) -> str:
        token = match.group()
        letters = len(token) - token.count("*")
        if len(token) > _MAX_CENSORED or letters < max(2, token.count("*")):
            return token
        shape = re.compile(re.sub(r"(?:\\\*)+", "[a-z]{1,3}", re.escape(token)))
        return next((word for word in self._censorable if shape.fullmatch(word)), token)
