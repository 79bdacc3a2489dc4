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
URGENT_GRID = (0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5)
ASK_GRID = (0.99, 0.97, 0.95, 0.9, 0.85, 0.8)
ACTED_GRID = (0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4)
CONCERN_AT = 0.95

Judged = list[tuple[CrisisNet, list[LabelledMessage]]]


@dataclass(frozen=True, slots=True)
class Row:
    """Pooled out-of-fold figures for one review threshold."""

    review_at: float
    concern_at: float
    scores: Scores
    # Share of the everyday negatives (ordinary life in crisis words) that reach staff.
    everyday: float


@dataclass(frozen=True, slots=True)
class UrgentRow:
    """Pooled out-of-fold figures for one threshold of the urgent classifier."""

    threshold: float
    scores: Scores
    # How many urgent-labelled, concern-labelled and negative messages are put at URGENT.
    at_urgent: tuple[int, int, int]
    # Shares of the concern-labelled messages and of the negatives put at URGENT.
    concern_urgent: float
    negative_urgent: float
    # Share of the everyday negatives that get the crisis reply or the direct question.
    everyday_interrupted: float
    # Share of the urgent-labelled messages that get the crisis reply or the question.
    urgent_interrupted: float


def net_with_model(
    model: dict[str, object], urgent: dict[str, object], acted: dict[str, object]
) -> CrisisNet:
    """Return the shipped rules with other classifiers (as written by crisis_train.train)."""
    return shipped_net(
        model=json.dumps(model), urgent_model=json.dumps(urgent), acted_model=json.dumps(acted)
    )


def judge(messages: Sequence[LabelledMessage], *, folds: int = 5) -> Judged:
    """Return, for each fold, the net whose three classifiers were fitted on the others."""
    labels = [message.label for message in messages]
    bare = shipped_net(with_model=False)
    groups = [" ".join(bare.features(message.text)) for message in messages]
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=SEED)
    judged: Judged = []
    for fit_rows, test_rows in splitter.split(list(range(len(messages))), labels, groups):
        fit = [messages[i] for i in fit_rows]
        net = net_with_model(
            train(fit, bare), train(fit, bare, target="urgent"), train(fit, bare, target="acted")
        )
        judged.append((net, [messages[i] for i in test_rows]))
    return judged


def sweep(
    messages: Sequence[LabelledMessage],
    *,
    folds: int = 5,
    grid: Sequence[float] = REVIEW_GRID,
    concern_at: float = CONCERN_AT,
    judged: Judged | None = None,
) -> list[Row]:
    """Return the pooled out-of-fold figures for each review threshold of the grid."""
    judged = judge(messages, folds=folds) if judged is None else judged
    rows = []
    for review_at in grid:
        outcomes = [
            Outcome(message, net.with_thresholds(review_at, concern_at).assess(message.text))
            for net, fold in judged
            for message in fold
        ]
        rows.append(
            Row(review_at, concern_at, scores(outcomes), _everyday(outcomes, Layer.REVIEW))
        )
    return rows


def urgent_sweep(judged: Judged, *, ask: bool, grid: Sequence[float]) -> list[UrgentRow]:
    """Return the pooled figures for each urgent_at (or, with ask, each ask_at) of the grid."""
    rows = []
    for threshold in grid:
        outcomes = [
            Outcome(
                message,
                net.with_thresholds(**{"ask_at" if ask else "urgent_at": threshold}).assess(
                    message.text
                ),
            )
            for net, fold in judged
            for message in fold
        ]
        urgent = [item for item in outcomes if item.message.label == "urgent"]
        concern = [item for item in outcomes if item.message.label == "concern"]
        negative = [item for item in outcomes if not item.message.positive]
        rows.append(
            UrgentRow(
                threshold,
                scores(outcomes),
                (_count_urgent(urgent), _count_urgent(concern), _count_urgent(negative)),
                _at_urgent(concern),
                _at_urgent(negative),
                _everyday(outcomes, Layer.CONCERN),
                sum(1 for item in urgent if item.assessment.interrupts) / max(1, len(urgent)),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class ActedRow:
    """Pooled out-of-fold figures for one threshold of the acted classifier, over the
    messages put at URGENT: how many are marked as an act taken now, how many of those are
    acts taken (kind act_taken), and the share of the acts taken at URGENT so marked."""

    threshold: float
    marked: int
    marked_acts: int
    acts_marked: float


def acted_sweep(judged: Judged, *, grid: Sequence[float] = ACTED_GRID) -> list[ActedRow]:
    """Return the pooled figures for each acted_at of the grid."""
    rows = []
    for threshold in grid:
        urgent = [
            (message, assessment)
            for net, fold in judged
            for message in fold
            if (assessment := net.with_thresholds(acted_at=threshold).assess(message.text)).layer
            == Layer.URGENT
        ]
        marked = [message for message, assessment in urgent if assessment.acted]
        acts = [message for message, _ in urgent if message.kind == "act_taken"]
        marked_acts = sum(1 for message in marked if message.kind == "act_taken")
        rows.append(ActedRow(threshold, len(marked), marked_acts, marked_acts / max(1, len(acts))))
    return rows


def _count_urgent(outcomes: Sequence[Outcome]) -> int:
    return sum(1 for item in outcomes if item.assessment.layer == Layer.URGENT)


def _at_urgent(outcomes: Sequence[Outcome]) -> float:
    return _count_urgent(outcomes) / len(outcomes) if outcomes else 0.0


def _everyday(outcomes: Sequence[Outcome], lowest: Layer) -> float:
    everyday = [item for item in outcomes if item.message.kind == "everyday"]
    flagged = sum(1 for item in everyday if item.assessment.layer >= lowest)
    return flagged / len(everyday) if everyday else 0.0


def main(argv: Sequence[str]) -> int:
    """Print the tables for a corpus file (the project's training set by default)."""
    source = Path(argv[0]) if argv else DEFAULT_TRAIN
    messages = read_corpus(source)
    judged = judge(messages)
    print(f"out-of-fold on {source} ({len(messages)} messages), concern at {CONCERN_AT}:")
    for row in sweep(messages, judged=judged):
        print(f"review at {row.review_at:.2f}: {row.scores.line()} everyday={row.everyday:.3f}")
    for ask, grid in ((False, URGENT_GRID), (True, ASK_GRID)):
        name = "ask" if ask else "urgent"
        for item in urgent_sweep(judged, ask=ask, grid=grid):
            print(
                f"{name} at {item.threshold:.2f}: {item.scores.line()}"
                f" concern_urgent={item.concern_urgent:.3f}"
                f" negative_urgent={item.negative_urgent:.3f}"
                f" everyday_interrupted={item.everyday_interrupted:.3f}"
                f" at_urgent={'/'.join(str(count) for count in item.at_urgent)}"
                f" urgent_interrupted={item.urgent_interrupted:.3f}"
            )
    for acted in acted_sweep(judged):
        print(
            f"acted at {acted.threshold:.2f}: marked={acted.marked}"
            f" of_them_acts_taken={acted.marked_acts} acts_marked={acted.acts_marked:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
