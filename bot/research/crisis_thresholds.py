"""Choosing where the crisis net's classifier starts to speak, on the training set alone.

The training set is cut into five stratified folds, messages that read the same once
normalised kept in one fold ("im on the bridge now", "i am on the bridge now"). For each
fold a classifier is trained on
the other four (bot/research/crisis_train.py) and the shipped rules with that classifier judge
the fold; the verdicts are pooled and scored for each review threshold, the concern threshold
held fixed. The rules were written on the training set, so the pooled figures flatter them:
the table is for choosing thresholds, never for reporting (the held-out and fresh sets are
for that). scikit-learn is a development dependency; the bot never imports this module.

Run: python -m bot.research.crisis_thresholds [TRAIN_TOML]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.model_selection import StratifiedGroupKFold

from bot.domain.crisis import CrisisNet, Layer
from bot.research.crisis_corpus import LabelledMessage, read_corpus, shipped_net
from bot.research.crisis_eval import Outcome, Scores, scores
from bot.research.crisis_train import DEFAULT_TRAIN, SEED, train

REVIEW_GRID = (0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)
CONCERN_AT = 0.95


@dataclass(frozen=True, slots=True)
class Row:
    """Pooled out-of-fold figures for one review threshold."""

    review_at: float
    concern_at: float
    scores: Scores
    # Share of the everyday negatives (ordinary life in crisis words) that reach staff.
    everyday: float


def net_with_model(model: dict[str, object]) -> CrisisNet:
    """Return the shipped rules with another classifier (as written by crisis_train.train)."""
    return shipped_net(model=json.dumps(model))


def sweep(
    messages: Sequence[LabelledMessage],
    *,
    folds: int = 5,
    grid: Sequence[float] = REVIEW_GRID,
    concern_at: float = CONCERN_AT,
) -> list[Row]:
    """Return the pooled out-of-fold figures for each review threshold of the grid."""
    labels = [1 if message.positive else 0 for message in messages]
    bare = shipped_net(with_model=False)
    groups = [" ".join(bare.features(message.text)) for message in messages]
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=SEED)
    judged: list[tuple[CrisisNet, list[LabelledMessage]]] = []
    for fit_rows, test_rows in splitter.split(list(range(len(messages))), labels, groups):
        model = train([messages[i] for i in fit_rows], bare)
        judged.append((net_with_model(model), [messages[i] for i in test_rows]))
    rows = []
    for review_at in grid:
        outcomes = [
            Outcome(message, net.with_thresholds(review_at, concern_at).assess(message.text))
            for net, fold in judged
            for message in fold
        ]
        everyday = [item for item in outcomes if item.message.kind == "everyday"]
        flagged = sum(1 for item in everyday if item.assessment.layer > Layer.NONE)
        share = flagged / len(everyday) if everyday else 0.0
        rows.append(Row(review_at, concern_at, scores(outcomes), share))
    return rows


def main(argv: Sequence[str]) -> int:
    """Print the table for a corpus file (the project's training set by default)."""
    source = Path(argv[0]) if argv else DEFAULT_TRAIN
    messages = read_corpus(source)
    print(f"out-of-fold on {source} ({len(messages)} messages), concern at {CONCERN_AT}:")
    for row in sweep(messages):
        print(f"review at {row.review_at:.2f}: {row.scores.line()} everyday={row.everyday:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
