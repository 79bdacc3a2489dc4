"""The statistical layer: a linear classifier over word and character n-grams, run in pure
Python from plain JSON (never pickle).

Features (`features()`, shared with the training script so both see the same thing): the
normalised words and word pairs, the character 3- to 5-grams of each word with a space
on each side, and the names of the emoji. A message's vector is TF-IDF with sublinear term
frequency, scaled to unit length, exactly as scikit-learn's TfidfVectorizer(sublinear_tf=True)
computes it; the score is the logistic function of its dot product with the coefficients.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.crisis._errors import CrisisPatternError

FEATURES_VERSION = "words12-chars345-emoji-v1"
# The shipped models' file names under bot/data/models/: the signal classifier, the urgent
# one and the one that tells an act being taken now.
SIGNAL_MODEL = "crisis_classifier.json"
URGENT_MODEL = "crisis_urgent.json"
ACTED_MODEL = "crisis_acted.json"
_CHAR_SIZES = (3, 4, 5)


def features(prepared: str, emoji_names: Sequence[str] = ()) -> list[str]:
    """Return the features of normalised text, repeated as often as they occur."""
    words = prepared.split()
    found = [f"w:{word}" for word in words if word != "."]
    found += [
        f"b:{first} {second}"
        for first, second in itertools.pairwise(words)
        if first != "." and second != "."
    ]
    for word in words:
        if word == "." or word.isdigit():
            continue
        padded = f"c: {word} "
        length = len(padded)
        for size in _CHAR_SIZES:
            found += [padded[:2] + padded[i : i + size] for i in range(2, length - size + 1)]
    found += [f"e:{name}" for name in emoji_names]
    return found


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Weights for each known feature: (idf, coefficient), and the intercept."""

    weights: dict[str, tuple[float, float]]
    intercept: float

    @classmethod
    def from_json(cls, text: str, *, source: str) -> LinearModel:
        """Read a model written by bot/research/crisis_train.py; raise CrisisPatternError."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CrisisPatternError(f"{source}: not valid JSON ({err})") from None
        if not isinstance(data, dict) or data.get("features") != FEATURES_VERSION:
            raise CrisisPatternError(f"{source}: not a {FEATURES_VERSION} crisis model")
        raw, intercept = data.get("weights"), data.get("intercept")
        if not isinstance(raw, dict) or not isinstance(intercept, float):
            raise CrisisPatternError(f"{source}: needs 'weights' and a float 'intercept'")
        weights: dict[str, tuple[float, float]] = {}
        for feature, pair in raw.items():
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(value, float | int) for value in pair)
            ):
                raise CrisisPatternError(f"{source}: weight of {feature!r} must be [idf, coef]")
            weights[feature] = (float(pair[0]), float(pair[1]))
        return cls(weights=weights, intercept=intercept)

    def words(self) -> set[str]:
        """Return the words the model has seen (as features "w:word")."""
        return {feature[2:] for feature in self.weights if feature.startswith("w:")}

    def decision(self, found: Sequence[str]) -> float:
        """Return the linear score of a message's features (before the logistic function)."""
        get = self.weights.get
        squares = 0.0
        dot = 0.0
        for feature, count in Counter(found).items():
            pair = get(feature)
            if pair is None:
                continue
            value = pair[0] if count == 1 else (1.0 + math.log(count)) * pair[0]
            squares += value * value
            dot += value * pair[1]
        if squares == 0.0:
            return self.intercept
        return dot / math.sqrt(squares) + self.intercept

    def probability(self, found: Sequence[str]) -> float:
        """Return the model's probability that a message with these features is a signal."""
        score = self.decision(found)
        if score < -30.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-score))
