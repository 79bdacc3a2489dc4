"""Context that moves a hit down a layer, never to nothing.

About someone else, a film or a book, history the patient says is long over, a "no" to a
screening question, an obvious joke about something trivial, a question about treatment:
each caps a hit at REVIEW (a human reads it, the patient is not interrupted). A retraction
after the phrase ("..., no i am not") moves it down one layer. An urgent phrase that says
nothing of what or when ("i will do it", "i have a plan", "goodbye everyone": the [context]
`bare` list, matched against the whole phrase) is a CONCERN: the patient is asked directly
and staff are told, instead of the crisis reply going out for a questionnaire or a goodbye.
Two things context never does: read a burden or a goodbye as about someone else because it
names them (the `self_families`), or treat a question about a lethal dose as a question
about treatment (the `lethal` regex).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.crisis._assessment import Hit, Layer

_WINDOW = 14


@dataclass(frozen=True, slots=True)
class ContextRules:
    """Word lists and regexes of the [context] table of the net's rules file.

    The regexes run over normalised text (" words . words "); the word sets hold single
    normalised words.
    """

    first_person: frozenset[str]
    implicit_self: frozenset[str]
    third_person: frozenset[str]
    media: frozenset[str]
    speech: frozenset[str]
    my_self: frozenset[str]
    self_families: frozenset[str]
    objects: frozenset[str]
    history: re.Pattern[str]
    relapse: re.Pattern[str]
    present: re.Pattern[str]
    screening_no: re.Pattern[str]
    retraction: re.Pattern[str]
    laugh: re.Pattern[str]
    trivial: re.Pattern[str]
    mundane: re.Pattern[str]
    question: re.Pattern[str]
    asking: re.Pattern[str]
    topic_frame: re.Pattern[str]
    topic_noun: re.Pattern[str]
    bare: re.Pattern[str]
    lethal: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Message:
    """One normalised message and what holds for all of it."""

    prepared: str
    laughing: bool
    trivial: bool
    relapse: bool
    question: bool
    asking: bool


class Context:
    """Decides how far context moves each hit (see the module docstring)."""

    __slots__ = ("_rules",)

    def __init__(self, rules: ContextRules) -> None:
        self._rules = rules

    def message(self, prepared: str, emoji_names: tuple[str, ...]) -> Message:
        """Return what holds for the whole message."""
        rules = self._rules
        names = " " + " ".join(emoji_names) + " " if emoji_names else " "
        laughing = (
            rules.laugh.search(prepared + names.replace("_", " ").replace("-", " ")) is not None
        )
        return Message(
            prepared=prepared,
            laughing=laughing,
            trivial=rules.trivial.search(prepared) is not None
            or (laughing and rules.mundane.search(prepared) is not None),
            relapse=rules.relapse.search(prepared) is not None,
            question=rules.question.search(prepared) is not None,
            asking=rules.asking.search(prepared) is not None,
        )

    def demote(self, hit: Hit, message: Message) -> tuple[Layer, tuple[str, ...]]:
        """Return the layer context leaves the hit at, and the reasons.

        A hit with no position in the normalised text (emoji, another language) gets the
        context of the whole message.
        """
        if hit.start < 0:
            caps = self.whole_message_caps(message)
            if message.laughing and hit.layer == Layer.CONCERN and "humour" not in caps:
                caps = (*caps, "humour")
        else:
            caps = self._caps(hit, message)
        layer = hit.layer
        if layer == Layer.URGENT and self._rules.bare.fullmatch(hit.matched) is not None:
            layer, caps = Layer.CONCERN, (*caps, "bare")
        if caps and caps != ("bare",):
            layer = min(layer, Layer.REVIEW)
        tail = message.prepared[max(0, hit.end) :]
        if self._rules.retraction.search(tail) is not None:
            layer = max(Layer.REVIEW, Layer(layer - 1)) if layer > Layer.REVIEW else layer
            caps = (*caps, "retracted")
        return layer, caps

    def whole_message_caps(self, message: Message) -> tuple[str, ...]:
        """Return what caps a verdict with no position (the classifier) at REVIEW."""
        words = message.prepared.split()
        reasons: list[str] = []
        if not self._first_person_anywhere(words) and any(
            word in self._rules.third_person or word in self._rules.media for word in words
        ):
            reasons.append("other-person")
        if not message.relapse and self._rules.history.search(message.prepared):
            reasons.append("history")
        if message.laughing and message.trivial:
            reasons.append("humour")
        return tuple(reasons)

    def _caps(self, hit: Hit, message: Message) -> tuple[str, ...]:
        prepared = message.prepared
        reasons: list[str] = []
        subject = self._subject(hit, prepared)
        # A burden or a goodbye names the people it is about ("they'd be better off"); that
        # does not make it someone else's.
        if subject == "media" or (
            subject == "other-person" and not self._own_burden(hit, prepared)
        ):
            reasons.append(subject)
        elif hit.topic and self._topic(hit, prepared, subject):
            reasons.append("topic")
        if not message.relapse and self._history(hit, prepared):
            reasons.append("history")
        if self._screening_answer(hit, prepared):
            reasons.append("screening-no")
        if (message.trivial and (message.laughing or not hit.acted)) or (
            message.laughing and hit.layer == Layer.CONCERN
        ):
            reasons.append("humour")
        asked = message.asking or (message.question and subject != "self")
        if asked and self._rules.lethal.search(f" {hit.matched} ") is None:
            reasons.append("question")
        return tuple(reasons)

    def _own_burden(self, hit: Hit, prepared: str) -> bool:
        """Return whether a burden or goodbye names others only as its audience ("they'd be
        better off"), not as the one it is about ("better off without him")."""
        if hit.category not in self._rules.self_families:
            return False
        clause = prepared[hit.start : max(hit.end, 0)].split()
        for word in prepared[max(hit.end, 0) :].split():
            if word == ".":
                break
            clause.append(word)
        # "her" is an object only at the end ("without her"), not before a noun ("her voice").
        last = len(clause) - 1
        return not any(
            word in self._rules.objects or (word == "her" and index == last)
            for index, word in enumerate(clause)
        )

    def _screening_answer(self, hit: Hit, prepared: str) -> bool:
        """Return whether the hit names a screening item answered no ("self harm? no").

        After a statement ("i want to kill myself. no i am not") the "no" is a retraction.
        """
        if self._rules.screening_no.match(prepared, hit.end) is None:
            return False
        before = prepared[: hit.start].split()
        return not any(word in ("i", "me") for word in before[_clause_start(before) :])

    def _subject(self, hit: Hit, prepared: str) -> str:
        """Return "self", "other-person", "media" or "none": who the hit is about."""
        rules = self._rules
        if any(word in rules.first_person for word in hit.matched.split()):
            return "self"
        before = prepared[: hit.start].split()
        clause_start = _clause_start(before)
        if hit.topic and any(word in rules.media for word in self._clause(prepared, hit)):
            return "media"
        implicit = False
        clause = before[clause_start:]
        for index in range(len(clause) - 1, -1, -1):
            word = clause[index]
            found = self._kind(word)
            if word == "my" and not self._my_self(clause[index + 1 : index + 2]):
                continue
            if found == "self" and (
                self._reported_speech(before, clause_start) or self._quoted(clause, index)
            ):
                return "other-person"
            if found is not None:
                return found
            implicit = implicit or word in rules.implicit_self
        if implicit:
            return "self"
        for word in prepared[hit.end :].split():
            if word == ".":
                break
            found = self._kind(word)
            if found is not None:
                return found
        return "none"

    def _my_self(self, following: list[str]) -> bool:
        """Return whether "my" names the patient ("my mind") rather than a thing of theirs
        ("my antidepressant")."""
        return not following or following[0] in self._rules.my_self

    def _kind(self, word: str) -> str | None:
        rules = self._rules
        if word in rules.first_person:
            return "self"
        if word in rules.third_person:
            return "other-person"
        if word in rules.media:
            return "media"
        return None

    def _reported_speech(self, before: list[str], clause_start: int) -> bool:
        """Return whether the clause follows 'my son said' ('... said . i want to die')."""
        if clause_start < 2:
            return False
        previous = before[max(0, clause_start - 4) : clause_start - 1]
        return any(word in self._rules.speech for word in previous)

    def _quoted(self, clause: list[str], index: int) -> bool:
        """Return whether the "i" at index follows "my son said" ("he texted me i want")."""
        rules = self._rules
        near = clause[max(0, index - 2) : index]
        return any(word in rules.speech for word in near) and any(
            word in rules.third_person for word in clause[:index]
        )

    def _first_person_anywhere(self, words: list[str]) -> bool:
        return any(word in self._rules.first_person for word in words)

    def _topic(self, hit: Hit, prepared: str, subject: str) -> bool:
        """Return whether a topic word is used as a topic ("suicide prevention")."""
        around = prepared[max(0, hit.start - 40) : hit.end + 40]
        if self._rules.topic_noun.search(around) is not None:
            return True
        return subject == "none" and self._rules.topic_frame.search(around) is not None

    @staticmethod
    def _clause(prepared: str, hit: Hit) -> list[str]:
        """Return the words of the clause the hit is in."""
        start = prepared.rfind(" . ", 0, hit.start)
        end = prepared.find(" . ", hit.end - 1)
        return prepared[start + 1 if start >= 0 else 0 : end if end >= 0 else None].split()

    def _history(self, hit: Hit, prepared: str) -> bool:
        """Return whether a history marker near the hit says it is long over."""
        low = _nth_space(prepared, hit.start, -_WINDOW)
        high = _nth_space(prepared, hit.end, _WINDOW)
        for marker in self._rules.history.finditer(prepared, low, high):
            if marker.start() >= hit.end:
                between = prepared[hit.end : marker.start() + 1]
            else:
                between = prepared[marker.end() - 1 : hit.start + 1]
            if self._rules.present.search(between) is None:
                return True
        return False


def _clause_start(words: list[str]) -> int:
    """Return the index after the last clause break in words."""
    for index in range(len(words) - 1, -1, -1):
        if words[index] == ".":
            return index + 1
    return 0


def _nth_space(text: str, start: int, count: int) -> int:
    """Return the position count words before (negative) or after start, clamped."""
    position = start
    if count < 0:
        for _ in range(-count):
            position = text.rfind(" ", 0, position)
            if position <= 0:
                return 0
        return position
    for _ in range(count):
        position = text.find(" ", position + 1)
        if position < 0:
            return len(text)
    return position
