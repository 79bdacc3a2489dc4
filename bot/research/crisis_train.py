"""Training the crisis net's three classifiers; writes bot/data/models/crisis_classifier.json
(signal: urgent or concern, against negative), crisis_urgent.json (urgent against concern
and negative) and crisis_acted.json (an act being taken now, kind act_taken, against every
other message).

Each is a logistic regression (scikit-learn, liblinear, balanced classes) over TF-IDF of the
net's own features (bot/domain/crisis/_model.py: words, word pairs, character 3-5-grams,
emoji names) of tests/data/crisis_train.toml. C is
chosen by 5-fold cross-validation on the training set; the features are then cut to the
MAX_FEATURES with the largest weights and the model refitted on those alone, so the JSON
holds exactly the fitted model. The JSON also carries a few messages with scikit-learn's
probabilities, which the tests reproduce in pure Python. Deterministic: same corpus, same
JSON. scikit-learn is a development dependency; the bot never imports this module.

Run: python -m bot.research.crisis_train [TRAIN_TOML] [OUT_DIR]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from bot.domain.crisis import ACTED_MODEL, SIGNAL_MODEL, URGENT_MODEL, CrisisNet
from bot.domain.crisis._model import FEATURES_VERSION
from bot.research.crisis_corpus import LabelledMessage, read_corpus, shipped_net

SEED = 20240611
C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
MAX_FEATURES = 15000
CHECK_TEXTS = (
    "i want to die",
    "this commute is killing me",
    "been giving away my stuff, won't need it",
    "my friend attempted suicide years ago",
    "checking out early sounds good tbh",
    "mood 7, had a nice walk",
)
DEFAULT_TRAIN = Path("tests/data/crisis_train.toml")
DEFAULT_OUT = Path("bot/data/models")
SIGNAL_FILE, URGENT_FILE, ACTED_FILE = SIGNAL_MODEL, URGENT_MODEL, ACTED_MODEL
Target = Literal["signal", "urgent", "acted"]
FILES: tuple[tuple[str, Target], ...] = (
    (SIGNAL_FILE, "signal"),
    (URGENT_FILE, "urgent"),
    (ACTED_FILE, "acted"),
)


def _identity(found: list[str]) -> list[str]:
    return found


def _fit(docs: Sequence[list[str]], labels: Sequence[int], c: float, vocabulary: Any) -> Any:
    vectorizer = TfidfVectorizer(
        analyzer=_identity,
        sublinear_tf=True,
        min_df=1 if vocabulary is not None else 2,
        vocabulary=vocabulary,
    )
    matrix = vectorizer.fit_transform(docs)
    model = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", random_state=SEED, max_iter=10000
    )
    model.fit(matrix, labels)
    return vectorizer, model


def choose_c(docs: Sequence[list[str]], labels: Sequence[int]) -> float:
    """Return the C with the best mean 5-fold cross-validated ROC AUC on the training set."""
    vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=2)
    matrix = vectorizer.fit_transform(docs)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    best, best_score = C_GRID[0], -1.0
    for c in C_GRID:
        model = LogisticRegression(
            C=c, class_weight="balanced", solver="liblinear", random_state=SEED, max_iter=10000
        )
        score = float(cross_val_score(model, matrix, labels, cv=folds, scoring="roc_auc").mean())
        if score > best_score:
            best, best_score = c, score
    return best


def train(
    messages: Sequence[LabelledMessage], net: CrisisNet, *, target: Target = "signal"
) -> dict[str, Any]:
    """Return the fitted model of one target as JSON-ready data (see the module docstring)."""
    docs = [net.features(message.text) for message in messages]
    labels = [1 if _is(target, message) else 0 for message in messages]
    counted = {"signal": "signals", "urgent": "urgent", "acted": "acts taken"}[target]
    c = choose_c(docs, labels)
    vectorizer, model = _fit(docs, labels, c, None)
    names = vectorizer.get_feature_names_out()
    weights = model.coef_[0]
    order = sorted(range(len(names)), key=lambda i: (-abs(float(weights[i])), str(names[i])))
    kept = sorted(str(names[i]) for i in order[:MAX_FEATURES])
    vectorizer, model = _fit(docs, labels, c, kept)
    coef = model.coef_[0]
    index = vectorizer.vocabulary_
    checks = [
        {
            "text": text,
            "probability": float(
                model.predict_proba(vectorizer.transform([net.features(text)]))[0][1]
            ),
        }
        for text in CHECK_TEXTS
    ]
    return {
        "features": FEATURES_VERSION,
        "trained_on": f"{len(messages)} messages, {sum(labels)} {counted}, C={c}, seed={SEED}",
        "intercept": float(model.intercept_[0]),
        "weights": {
            feature: [float(vectorizer.idf_[index[feature]]), float(coef[index[feature]])]
            for feature in kept
        },
        "checks": checks,
    }


def _is(target: Target, message: LabelledMessage) -> bool:
    if target == "signal":
        return message.positive
    if target == "urgent":
        return message.label == "urgent"
    return message.kind == "act_taken"


def main(argv: Sequence[str]) -> int:
    """Train on a corpus file and write the models' JSON (paths default to the project's)."""
    source = Path(argv[0]) if argv else DEFAULT_TRAIN
    folder = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    messages = read_corpus(source)
    net = shipped_net(with_model=False)
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in FILES:
        data = train(messages, net, target=target)
        out = folder / name
        out.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {out}: {data['trained_on']}, {len(data['weights'])} features")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
