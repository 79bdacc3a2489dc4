"""The invented patients and how each of them answers the check-ins."""

from __future__ import annotations

from dataclasses import dataclass

from bot.fake_telegram import FakeUser


@dataclass(frozen=True, slots=True)
class Persona:
    """An invented patient and how they answer their check-ins."""

    name: str
    time: str
    role: str
    # One character per simulated day from day 0: the score given that day, "-" for no
    # answer, "." for a day without a check-in. After `scores`, `tail` repeats.
    scores: str
    tail: str
    notes: tuple[tuple[int, str], ...] = ()
    types_every: int = 0
    fades: bool = False
    # A late-evening message on one day that is a crisis (the crisis net's urgent layer).
    crisis: tuple[int, str] | None = None

    def score_on(self, day: int) -> int | None:
        """Return the score this persona gives on a simulated day, or None for no answer."""
        if day < len(self.scores):
            mark = self.scores[day]
        else:
            mark = self.tail[(day - len(self.scores)) % len(self.tail)]
        return int(mark) if mark.isdigit() else None

    def note_on(self, day: int) -> str | None:
        """Return the note this persona types after answering on a day, if any."""
        return dict(self.notes).get(day)

    def types_on(self, day: int) -> bool:
        """Tell whether the persona types the score instead of tapping a button."""
        return self.types_every > 0 and day % self.types_every == self.types_every - 1


PERSONAS = (
    Persona(
        name="Ana",
        time="09:00",
        role=(
            "responds well at first, then her mood fades after the last infusion; one night"
            " she writes that she thinks about ending her life"
        ),
        # The series (days 1-4), the fade after the last infusion (days 5-13), the morning
        # of the maintenance infusion (day 14), then the recovery.
        scores=".5667" + "887765443" + "4" + "6778878888788",
        tail="8878",
        notes=(
            (5, "Best week in a long time."),
            (10, "Flat again. Hard to get going in the mornings."),
            (12, "Cancelled plans with friends."),
            (17, "The top-up helped, feeling more like myself."),
        ),
        fades=True,
        crisis=(11, "I can't see the point any more. I keep thinking about ending my life."),
    ),
    Persona(
        name="Cleo",
        time="12:00",
        role="stays fairly well but goes quiet for a few days",
        scores=".5677" + "878--78",
        tail="7887",
        notes=((6, "Tired but okay."), (10, "Sorry, I was away for a few days.")),
    ),
    Persona(
        name="Ben",
        time="20:00",
        role="stays well, and sometimes types his score",
        scores=".6778",
        tail="88987898",
        notes=((3, "Walked by the river with the dog."), (11, "Busy week at work, but good.")),
        types_every=4,
    ),
    Persona(name="Dev", time="08:00", role="stays well", scores=".5667", tail="7787"),
    Persona(name="Eli", time="18:00", role="stays well", scores=".4567", tail="7878"),
    Persona(name="Fay", time="21:00", role="stays well", scores=".6677", tail="8889"),
)


@dataclass(slots=True)
class Patient:
    """A persona in the story: their Telegram account and, once invited, their code."""

    persona: Persona
    user: FakeUser
    code: str = ""

    @property
    def label(self) -> str:
        """Return 'P-7K3Q (Ana)', or the first name before the code is known."""
        return f"{self.code} ({self.persona.name})" if self.code else self.persona.name
