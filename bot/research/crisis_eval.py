"""Scoring the crisis net on a labelled corpus: recall and false alarms per layer and kind.

recall_any: share of urgent and concern messages the net puts at any layer but NONE.
urgent_recall: share of urgent messages put at URGENT.
false_interrupting: share of negatives put at URGENT or CONCERN (the patient is answered).
false_any: share of negatives put at any layer but NONE.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.domain.crisis import Assessment, CrisisNet, Layer
from bot.research.crisis_corpus import KINDS, LABELS, LabelledMessage, read_corpus, shipped_net

_LAYERS = (Layer.URGENT, Layer.CONCERN, Layer.REVIEW, Layer.NONE)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One message and the net's verdict on it."""

    message: LabelledMessage
    assessment: Assessment


@dataclass(frozen=True, slots=True)
class Scores:
    """The four headline figures."""

    recall_any: float
    urgent_recall: float
    false_interrupting: float
    false_any: float

    def line(self) -> str:
        """Return the closing line of the report."""
        return (
            f"recall_any={self.recall_any:.3f} urgent_recall={self.urgent_recall:.3f}"
            f" false_interrupting={self.false_interrupting:.3f} false_any={self.false_any:.3f}"
        )


def assess_all(net: CrisisNet, messages: Sequence[LabelledMessage]) -> list[Outcome]:
    """Return the net's verdict on every message."""
    return [Outcome(message, net.assess(message.text)) for message in messages]


def scores(outcomes: Sequence[Outcome]) -> Scores:
    """Return the headline figures of a set of outcomes (0.0 where a share is empty)."""
    positives = [item for item in outcomes if item.message.positive]
    urgent = [item for item in positives if item.message.label == "urgent"]
    negatives = [item for item in outcomes if not item.message.positive]
    return Scores(
        recall_any=_share(positives, lambda layer: layer > Layer.NONE),
        urgent_recall=_share(urgent, lambda layer: layer == Layer.URGENT),
        false_interrupting=_share(negatives, lambda layer: layer >= Layer.CONCERN),
        false_any=_share(negatives, lambda layer: layer > Layer.NONE),
    )


def _share(outcomes: Sequence[Outcome], test: Callable[[Layer], bool]) -> float:
    if not outcomes:
        return 0.0
    return sum(1 for item in outcomes if test(item.assessment.layer)) / len(outcomes)


def mean_microseconds(net: CrisisNet, texts: Sequence[str], rounds: int = 3) -> float:
    """Return the best of `rounds` mean times of assess() per message, in microseconds."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            net.assess(text)
        best = min(best, (time.perf_counter() - start) / max(1, len(texts)))
    return best * 1e6


def format_report(
    outcomes: Sequence[Outcome], *, source: str, microseconds: float | None, show: bool = False
) -> str:
    """Return the report: layer by label, figures by kind, optionally the errors, then the
    closing line."""
    counts = Counter(item.message.label for item in outcomes)
    lines = [
        f"crisis net on {source}: {len(outcomes)} messages"
        f" ({counts['urgent']} urgent, {counts['concern']} concern,"
        f" {counts['negative']} negative)",
        "",
        f"{'layer':<10}" + "".join(f"{label:>10}" for label in LABELS),
    ]
    table = Counter((item.assessment.layer, item.message.label) for item in outcomes)
    for layer in _LAYERS:
        lines.append(
            f"{str(layer).upper():<10}" + "".join(f"{table[layer, label]:>10}" for label in LABELS)
        )
    lines += ["", _kind_header()]
    lines += [_kind_line(label, kind, outcomes) for label in LABELS for kind in KINDS[label]]
    lines += ["", _review_reasons(outcomes)]
    if show:
        lines += ["", *_errors(outcomes)]
    if microseconds is not None:
        lines += ["", f"speed: {microseconds:.0f} microseconds per message (mean)"]
    lines += ["", scores(outcomes).line()]
    return "\n".join(lines)


def _kind_header() -> str:
    return (
        f"{'kind':<28}{'n':>4}{'urgent':>8}{'concern':>8}{'review':>8}{'none':>6}"
        "   recall_any / false_any"
    )


def _kind_line(label: str, kind: str, outcomes: Sequence[Outcome]) -> str:
    found = [item for item in outcomes if item.message.kind == kind]
    layers = Counter(item.assessment.layer for item in found)
    caught = len(found) - layers[Layer.NONE]
    share = f"{caught / len(found):.3f}" if found else "-"
    interrupting = layers[Layer.URGENT] + layers[Layer.CONCERN]
    note = f"  interrupting {interrupting}" if label == "negative" and interrupting else ""
    return (
        f"{label + '/' + kind:<28}{len(found):>4}{layers[Layer.URGENT]:>8}"
        f"{layers[Layer.CONCERN]:>8}{layers[Layer.REVIEW]:>8}{layers[Layer.NONE]:>6}"
        f"   {share}{note}"
    )


_CONTEXT = ("other-person", "history", "screening-no", "media", "topic", "question", "humour")


def _review_reasons(outcomes: Sequence[Outcome]) -> str:
    """Return why negatives were put at REVIEW: which context capped them, or else what."""
    why: Counter[str] = Counter()
    for item in outcomes:
        if item.message.positive or item.assessment.layer != Layer.REVIEW:
            continue
        reasons = item.assessment.reasons
        found = next((reason for reason in _CONTEXT if reason in reasons), None)
        if found is None:
            found = "classifier" if item.assessment.category == "classifier" else "rule"
        why[found] += 1
    shown = ", ".join(f"{reason} {count}" for reason, count in why.most_common())
    return f"negatives at REVIEW, by cause: {shown or 'none'}"


def _errors(outcomes: Sequence[Outcome]) -> list[str]:
    lines = ["misses and false alarms:"]
    for item in outcomes:
        layer = item.assessment.layer
        missed = item.message.positive and layer == Layer.NONE
        late = item.message.label == "urgent" and Layer.NONE < layer < Layer.URGENT
        false = not item.message.positive and layer > Layer.NONE
        if missed or late or false:
            tag = "MISS" if missed else ("LOW " if late else "FALSE")
            lines.append(
                f"  {tag} {item.message.kind:<18} {layer!s:<8}"
                f" {' '.join(item.assessment.reasons):<40} {item.message.text!r}"
            )
    return lines


def evaluate_file(path: Path, *, show: bool = False, rules_only: bool = False) -> str:
    """Return the report for a corpus file; raise CorpusError or CrisisPatternError."""
    messages = read_corpus(path)
    net = shipped_net(with_model=not rules_only)
    outcomes = assess_all(net, messages)
    speed = mean_microseconds(net, [message.text for message in messages])
    return format_report(outcomes, source=str(path), microseconds=speed, show=show)
