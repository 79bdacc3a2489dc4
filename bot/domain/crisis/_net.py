"""The crisis net: explicit patterns, broader concern rules, typos, emoji, other languages
and three small classifiers, with context that moves a hit down a layer but never to
nothing."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.crisis._assessment import NOTHING, Assessment, Hit, Layer
from bot.domain.crisis._context import Context, Message
from bot.domain.crisis._detector import CrisisDetector
from bot.domain.crisis._emoji import EmojiRules, emoji_names
from bot.domain.crisis._errors import CrisisPatternError
from bot.domain.crisis._fuzzy import TypoFixer
from bot.domain.crisis._languages import fold
from bot.domain.crisis._load import parse
from bot.domain.crisis._match import Matcher, Rule
from bot.domain.crisis._model import (
    ACTED_MODEL,
    SIGNAL_MODEL,
    URGENT_MODEL,
    LinearModel,
    features,
)
from bot.domain.crisis._negation import NegationRules
from bot.domain.crisis._netload import NetRules, parse_net

_NO_NEGATION = NegationRules(frozenset(), frozenset(), 0, frozenset())
# Below this many words and emoji the classifier stays silent: on one or two its
# unit-length TF-IDF vector rests on a feature or two and its probability swings to the
# extremes (a model of 2026-12-01 scored "hello there" 0.97). Shorter messages are judged
# by the rules and the emoji rules alone.
_MODEL_MIN_TOKENS = 3


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where the three classifiers speak (bot/data/crisis_net.toml, [model]).

    review_at and concern_at: the signal classifier's probability that puts a message no
    rule caught at REVIEW or CONCERN. urgent_at: the urgent classifier's probability that
    raises a CONCERN context left alone to URGENT. ask_at: the urgent classifier's
    probability that raises a message nothing else put higher than an uncapped REVIEW
    to CONCERN. acted_at: the acted classifier's probability that marks an URGENT verdict
    as an act being taken now (the reply says to call the emergency number now).
    """

    review_at: float
    concern_at: float
    urgent_at: float
    ask_at: float
    acted_at: float


class CrisisNet:
    """Assesses patient free text; pure, precompiled, safe to share between tasks."""

    __slots__ = (
        "_acted",
        "_context",
        "_emoji",
        "_languages",
        "_model",
        "_rules",
        "_thresholds",
        "_typos",
        "_urgent",
        "detector",
        "source",
    )

    def __init__(
        self,
        detector: CrisisDetector,
        rules: NetRules,
        models: tuple[LinearModel | None, LinearModel | None, LinearModel | None],
        source: str,
    ) -> None:
        """Build a net from parsed parts; use from_texts() instead."""
        self.detector = detector
        self.source = source
        patterns = [
            Rule(
                expanded=entry.expanded,
                layer=Layer.named(entry.layer),
                category=entry.category,
                reason=f"{entry.layer}:{entry.category}",
                acted=entry.acted,
                topic=entry.topic,
            )
            for entry in detector.patterns
        ]
        self._rules = Matcher(patterns + [item.rule for item in rules.rules])
        self._languages = Matcher([item.rule for item in rules.languages])
        self._emoji = EmojiRules(
            rules.emoji_groups, [rule for rule, _ in rules.emoji_rules], rules.emoji_laugh
        )
        self._typos = TypoFixer(rules.keywords, rules.real_words)
        self._context = Context(rules.context)
        self._model, self._urgent, self._acted = models
        self._thresholds = Thresholds(
            rules.review_at, rules.concern_at, rules.urgent_at, rules.ask_at, rules.acted_at
        )

    @classmethod
    def from_texts(
        cls,
        *,
        patterns: str,
        rules: str,
        model: str | None,
        urgent_model: str | None = None,
        acted_model: str | None = None,
        source: str = "bot/data",
    ) -> CrisisNet:
        """Parse and validate the files' text (patterns TOML, rules TOML, models JSON).

        source names them in error messages: "<source>/crisis_patterns.toml", and so on.
        Raises CrisisPatternError naming the file and the entry. Without the models the
        net runs on its rules alone (for training the models, and for comparison); model
        is the signal classifier, urgent_model the urgent one, acted_model the one that
        tells an act being taken now.
        """
        parsed = parse(patterns, f"{source}/crisis_patterns.toml")
        detector = CrisisDetector.from_patterns(parsed, source=f"{source}/crisis_patterns.toml")
        net_rules = parse_net(rules, f"{source}/crisis_net.toml", parsed.macros)
        models = (
            _linear(model, f"{source}/models/{SIGNAL_MODEL}"),
            _linear(urgent_model, f"{source}/models/{URGENT_MODEL}"),
            _linear(acted_model, f"{source}/models/{ACTED_MODEL}"),
        )
        net = cls(detector, net_rules, models, source)
        net._check_examples(net_rules)
        return net

    def assess(self, text: str) -> Assessment:
        """Return the net's verdict on one message (a text, caption, edit or command words)."""
        names = emoji_names(text)
        raw = self.detector.words(text)
        fixed = self._typos.fix(raw)
        prepared = self.detector.drop_idioms(fixed)
        hits = self._hits(prepared, names, text)
        if fixed != raw:
            plain = {
                (hit.reason, hit.matched)
                for hit in self._hits(self.detector.drop_idioms(raw), names, text)
            }
            hits = [
                hit if (hit.reason, hit.matched) in plain else _with_reason(hit, "typo")
                for hit in hits
            ]
        message = self._context.message(prepared, names)
        return self._verdict(hits, message, prepared, names)

    def with_thresholds(
        self,
        review_at: float | None = None,
        concern_at: float | None = None,
        *,
        urgent_at: float | None = None,
        ask_at: float | None = None,
        acted_at: float | None = None,
    ) -> CrisisNet:
        """Return the same net with other classifier thresholds (for choosing them); a
        threshold not given stays as it is."""
        old = self._thresholds
        twin = copy.copy(self)
        twin._thresholds = Thresholds(
            old.review_at if review_at is None else review_at,
            old.concern_at if concern_at is None else concern_at,
            old.urgent_at if urgent_at is None else urgent_at,
            old.ask_at if ask_at is None else ask_at,
            old.acted_at if acted_at is None else acted_at,
        )
        return twin

    def prepare(self, text: str) -> tuple[str, tuple[str, ...]]:
        """Return text normalised, typos fixed and idioms dropped, and its emoji names."""
        prepared = self.detector.drop_idioms(self._typos.fix(self.detector.words(text)))
        return prepared, emoji_names(text)

    def features(self, text: str) -> list[str]:
        """Return the classifier's features of text (what the training script learns from)."""
        return features(*self.prepare(text))

    def probability(self, text: str) -> float | None:
        """Return the classifier's probability for text alone, or None without a model."""
        if self._model is None:
            return None
        return self._model.probability(self.features(text))

    def urgent_probability(self, text: str) -> float | None:
        """Return the urgent classifier's probability for text alone, or None without one."""
        if self._urgent is None:
            return None
        return self._urgent.probability(self.features(text))

    def acted_probability(self, text: str) -> float | None:
        """Return the acted classifier's probability for text alone, or None without one."""
        if self._acted is None:
            return None
        return self._acted.probability(self.features(text))

    def _hits(self, prepared: str, names: tuple[str, ...], text: str) -> list[Hit]:
        hits = self._rules.hits(prepared, self.detector.negation)
        hits += [
            _moved(hit, hit.reason, start=-1)
            for hit in self._languages.hits(fold(text), _NO_NEGATION)
        ]
        if names:
            words = sum(1 for word in prepared.split() if word != ".")
            hits += self._emoji.hits(names, words)
        return hits

    def _verdict(
        self, hits: list[Hit], message: Message, prepared: str, names: tuple[str, ...]
    ) -> Assessment:
        best: Hit | None = None
        best_layer = Layer.NONE
        reasons: list[str] = []
        acted = False
        demoted = False
        for hit in hits:
            layer, caps = self._context.demote(hit, message)
            reasons += [hit.reason, *caps]
            demoted = demoted or bool(caps)
            acted = acted or (hit.acted and layer == Layer.URGENT)
            if layer > best_layer:
                best, best_layer = hit, layer
        tokens = sum(1 for word in prepared.split() if word != ".") + len(names)
        found = features(prepared, names) if tokens >= _MODEL_MIN_TOKENS else None
        verdict = (
            NOTHING
            if best is None
            else Assessment(
                layer=best_layer,
                category=best.category,
                acted=acted,
                reasons=_unique(reasons),
                matched=best.matched,
            )
        )
        # The signal classifier never raises a verdict past CONCERN, nor past context's
        # REVIEW: it only matters where no rule fired.
        if self._model is not None and not hits and found is not None:
            probability = self._model.probability(found)
            model_layer = self._model_layer(probability)
            if model_layer > Layer.NONE:
                caps = self._context.whole_message_caps(message)
                demoted = demoted or bool(caps)
                if caps:
                    model_layer = Layer.REVIEW
                verdict = Assessment(
                    layer=model_layer,
                    category="classifier",
                    reasons=_unique([f"model:{probability:.2f}", *caps]),
                )
        if (
            self._urgent is not None
            and found is not None
            and not demoted
            and verdict.layer < Layer.URGENT
        ):
            verdict = self._urgent_verdict(
                verdict, self._urgent.probability(found), rules=bool(hits), message=message
            )
        return self._acted_verdict(verdict, found)

    def _acted_verdict(self, verdict: Assessment, found: list[str] | None) -> Assessment:
        """Mark an URGENT verdict no rule marked as an act being taken now, where the acted
        classifier is sure enough: the reply then says to call now, not "if you might act"."""
        if verdict.layer != Layer.URGENT or verdict.acted or self._acted is None or not found:
            return verdict
        probability = self._acted.probability(found)
        if probability < self._thresholds.acted_at:
            return verdict
        return dataclasses.replace(
            verdict,
            acted=True,
            reasons=_unique([*verdict.reasons, f"acted-model:{probability:.2f}"]),
        )

    def _urgent_verdict(
        self, verdict: Assessment, probability: float, *, rules: bool, message: Message
    ) -> Assessment:
        """Raise a verdict context left alone by the urgent classifier's probability: a
        CONCERN to URGENT, and where no rule fired, a NONE or REVIEW to CONCERN (to REVIEW
        where the whole message is about someone else, history or a joke)."""
        limits = self._thresholds
        reason = f"urgent-model:{probability:.2f}"
        caps: tuple[str, ...] = ()
        if verdict.layer == Layer.CONCERN and probability >= limits.urgent_at:
            raised = Layer.URGENT
        elif verdict.layer < Layer.CONCERN and not rules and probability >= limits.ask_at:
            caps = self._context.whole_message_caps(message)
            raised = Layer.REVIEW if caps else Layer.CONCERN
        else:
            return verdict
        if raised <= verdict.layer:
            return verdict
        return dataclasses.replace(
            verdict,
            layer=raised,
            category=verdict.category or "classifier",
            reasons=_unique([*verdict.reasons, reason, *caps]),
        )

    def _model_layer(self, probability: float) -> Layer:
        if probability >= self._thresholds.concern_at:
            return Layer.CONCERN
        if probability >= self._thresholds.review_at:
            return Layer.REVIEW
        return Layer.NONE

    def _check_examples(self, rules: NetRules) -> None:
        """Raise unless every rule, language phrase and emoji rule fires on its examples."""
        for item in [*rules.rules, *rules.languages]:
            for example in item.examples:
                reasons = {
                    hit.reason
                    for hit in self._hits(
                        self.detector.drop_idioms(self._typos.fix(self.detector.words(example))),
                        emoji_names(example),
                        example,
                    )
                }
                if item.rule.reason not in reasons:
                    raise CrisisPatternError(
                        f"{item.where}: does not fire on its example {example!r}"
                    )
        for rule, examples in rules.emoji_rules:
            for example in examples:
                if not any(
                    hit.reason == f"emoji:{rule.name}"
                    for hit in self._emoji.hits(emoji_names(example), 0)
                ):
                    raise CrisisPatternError(
                        f"{self.source}/crisis_net.toml: emoji_rule {rule.name!r}"
                        f" does not fire on {example!r}"
                    )


def _linear(text: str | None, source: str) -> LinearModel | None:
    return None if text is None else LinearModel.from_json(text, source=source)


def _with_reason(hit: Hit, reason: str) -> Hit:
    return _moved(hit, f"{hit.reason} {reason}", start=hit.start)


def _moved(hit: Hit, reason: str, *, start: int) -> Hit:
    """Return the hit with another reason; start -1 means it has no place in the text."""
    return Hit(
        layer=hit.layer,
        category=hit.category,
        reason=reason,
        matched=hit.matched,
        acted=hit.acted,
        start=start,
        end=hit.end if start >= 0 else -1,
        topic=hit.topic,
    )


def _unique(reasons: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part for reason in reasons for part in reason.split()))
