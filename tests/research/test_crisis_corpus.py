"""The crisis-net corpora: they parse, carry the right labels, and training shares no text
with any set the net is judged on.

The held-out and fresh sets are opened here only to compare their texts with training;
their verdicts are read by hand, after the net is frozen.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from bot.research.crisis_corpus import KINDS, CorpusError, parse_corpus, read_corpus

DATA = Path(__file__).resolve().parents[1] / "data"
TRAIN = DATA / "crisis_train.toml"
DEV = DATA / "crisis_dev.toml"


def key(text: str) -> str:
    """Return text compared loosely: case, apostrophes, punctuation and spacing do not count
    ("wouldnt" is "wouldn't")."""
    folded = re.sub(r"['\u2019]", "", unicodedata.normalize("NFKC", text).casefold())
    return re.sub(r"[\s.,!?\"-]+", " ", folded).strip()


@pytest.mark.parametrize("path", [TRAIN, DEV], ids=["train", "dev"])
def test_the_corpus_parses_with_known_labels_and_kinds(path: Path) -> None:
    messages = read_corpus(path)

    assert all(message.kind in KINDS[message.label] for message in messages)
    assert len({message.text for message in messages}) == len(messages)


def test_the_dev_set_is_large_enough_and_heavy_in_hard_negatives() -> None:
    labels = Counter(message.label for message in read_corpus(DEV))

    assert labels["urgent"] + labels["concern"] >= 150
    assert labels["negative"] >= 150


@pytest.mark.parametrize("path", [TRAIN, DEV], ids=["train", "dev"])
def test_every_kind_is_represented(path: Path) -> None:
    kinds = {message.kind for message in read_corpus(path)}

    assert kinds == {kind for group in KINDS.values() for kind in group}


@pytest.mark.parametrize(
    "name",
    [
        "dev",
        "heldout",
        "fresh",
        "fresh2",
        "fresh3",
        "fresh4",
        "fresh5",
        "fresh6",
        "fresh7",
        "fresh8",
        "fresh9",
        "fresh10",
        "fresh11",
        "fresh12",
        "fresh13",
        "fresh14",
        "ordinary",
    ],
)
def test_no_text_is_shared_between_train_and_a_judging_set(name: str) -> None:
    train = {key(message.text) for message in read_corpus(TRAIN)}
    judged = {key(message.text) for message in read_corpus(DATA / f"crisis_{name}.toml")}

    assert len(train & judged) == 0


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[[message]\n", "not valid TOML"),
        ("title = 'x'\n", "no [[message]] tables"),
        (
            '[[message]]\ntext = "hi"\nlabel = "maybe"\nkind = "everyday"\n',
            "unknown label 'maybe'",
        ),
        ('[[message]]\ntext = "hi"\nlabel = "negative"\nkind = "plan"\n', "unknown kind 'plan'"),
        ('[[message]]\ntext = ""\nlabel = "negative"\nkind = "everyday"\n', "'text' must be"),
    ],
)
def test_a_malformed_corpus_is_refused_with_one_line(text: str, error: str) -> None:
    with pytest.raises(CorpusError, match=r"corpus\.toml") as info:
        parse_corpus(text, "corpus.toml")

    assert error in str(info.value)
    assert "\n" not in str(info.value)


def test_a_missing_corpus_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="cannot read"):
        read_corpus(tmp_path / "absent.toml")
