"""Labelled crisis-net corpora (TOML [[message]] tables with text, label and kind)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.domain.crisis import ACTED_MODEL, SIGNAL_MODEL, URGENT_MODEL, CrisisNet

LABELS = ("urgent", "concern", "negative")
KINDS: dict[str, tuple[str, ...]] = {
    "urgent": ("ideation", "intent", "plan", "means", "self_harm", "attempt", "act_taken"),
    "concern": (
        "passive",
        "hopeless",
        "burden",
        "euphemism",
        "preparation",
        "goodbye",
        "emoji",
        "typo",
        "other_language",
        "ambivalent",
    ),
    "negative": (
        "figurative",
        "other_person",
        "resolved_history",
        "negation",
        "side_effects",
        "dark_humour",
        "treatment_question",
        "everyday",
        "media",
    ),
}


class CorpusError(ValueError):
    """A corpus file is missing, not TOML, or has a malformed message; names the file."""


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    """One message of a corpus."""

    text: str
    label: str
    kind: str

    @property
    def positive(self) -> bool:
        """Return whether the message is a signal (urgent or concern)."""
        return self.label != "negative"


def read_corpus(path: Path) -> list[LabelledMessage]:
    """Read a corpus file; raise CorpusError with a one-line reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise CorpusError(f"{path}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: not UTF-8 text") from None
    return parse_corpus(text, str(path))


def parse_corpus(text: str, source: str) -> list[LabelledMessage]:
    """Parse corpus TOML text; source names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CorpusError(f"{source}: not valid TOML ({err})") from None
    entries = data.get("message")
    if not isinstance(entries, list) or not entries:
        raise CorpusError(f"{source}: no [[message]] tables")
    return [
        _message(entry, f"{source}: message {index}") for index, entry in enumerate(entries, 1)
    ]


def _message(entry: object, where: str) -> LabelledMessage:
    if not isinstance(entry, dict):
        raise CorpusError(f"{where}: must be a table")
    text, label, kind = entry.get("text"), entry.get("label"), entry.get("kind")
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"{where}: 'text' must be a non-empty string")
    if label not in LABELS:
        raise CorpusError(f"{where}: unknown label {label!r} (urgent, concern or negative)")
    if kind not in KINDS[label]:
        raise CorpusError(f"{where}: unknown kind {kind!r} for label {label!r}")
    return LabelledMessage(text=text, label=label, kind=kind)


def shipped_net(
    *,
    with_model: bool = True,
    model: str | None = None,
    urgent_model: str | None = None,
    acted_model: str | None = None,
) -> CrisisNet:
    """Return the net built from the files shipped in bot/data: with the shipped
    classifiers, with none (with_model=False), or with others given as their JSON text
    (model, urgent_model, acted_model; those not given are left out)."""
    data = resources.files("bot").joinpath("data")
    if model is None and urgent_model is None and acted_model is None and with_model:
        models = data.joinpath("models")
        model = models.joinpath(SIGNAL_MODEL).read_text(encoding="utf-8")
        urgent_model = models.joinpath(URGENT_MODEL).read_text(encoding="utf-8")
        acted_model = models.joinpath(ACTED_MODEL).read_text(encoding="utf-8")
    return CrisisNet.from_texts(
        patterns=data.joinpath("crisis_patterns.toml").read_text(encoding="utf-8"),
        rules=data.joinpath("crisis_net.toml").read_text(encoding="utf-8"),
        model=model,
        urgent_model=urgent_model,
        acted_model=acted_model,
        source="bot/data",
    )
