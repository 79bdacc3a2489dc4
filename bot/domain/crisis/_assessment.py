"""What the crisis net says about a message: its layer, why, and whether the person acted."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Layer(IntEnum):
    """How the bot answers a message, from nothing to an emergency; higher is more severe.

    URGENT: crisis resources to the patient and an urgent staff alert at once.
    CONCERN: a direct, caring question to the patient, and a human is told.
    REVIEW: nothing said to the patient; a member of staff reads it.
    NONE: nothing found.
    """

    NONE = 0
    REVIEW = 1
    CONCERN = 2
    URGENT = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Layer:
        """Return the layer called name ("urgent", "concern", "review", "none")."""
        return cls[name.upper()]


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule that fired on a message, before and after context moved it."""

    layer: Layer
    category: str
    reason: str
    matched: str
    acted: bool = False
    start: int = -1
    end: int = -1
    topic: bool = False


@dataclass(frozen=True, slots=True)
class Assessment:
    """The net's verdict on one message.

    `category` names the rule family that decided the layer (a pattern category such as
    "plan-or-intent", a concern family such as "preparation", "classifier"), or None.
    `acted` says the person reports an act already taken ("i took all my pills"): the
    reply should tell them to call the emergency number now. `reasons` are short codes of
    what fired and what context changed, for tests, evaluation and staff; never shown to
    the patient. `matched` is the normalised text that decided it, or "".
    """

    layer: Layer
    category: str | None = None
    acted: bool = False
    reasons: tuple[str, ...] = ()
    matched: str = ""

    @property
    def interrupts(self) -> bool:
        """Return whether the patient is answered at once (URGENT or CONCERN)."""
        return self.layer >= Layer.CONCERN


NOTHING = Assessment(layer=Layer.NONE)
