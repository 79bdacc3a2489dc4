"""The story: what happens on each simulated day, and the checks that it all happened."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable

from bot.fake_telegram import FakeUser, SentMessage

from ._bot import Tally
from ._clinic import CLINIC_TZ, MAINTENANCE_DAY, SERIES_DAYS, clock_change, local_moment
from ._errors import DemoError
from ._messages import CODE, LINK, is_checkin_prompt, is_questionnaire, labels_of
from ._personas import Patient
from ._stage import Stage

Event = tuple[str, Callable[[], Awaitable[None]]]


class Story:
    """Drives the clinic, the patients and the clock through the course."""

    def __init__(self, stage: Stage, patients: list[Patient]) -> None:
        self._stage = stage
        self.patients = patients
        self._by_chat = {patient.user.id: patient for patient in patients}
        self._acknowledged: set[int] = set()
        self._days = 0

    async def play(self, days: int) -> None:
        """Run the course day by day."""
        self._days = days
        for day in range(days):
            for hhmm, event in self._events(day, last=day == days - 1):
                self._stage.at(day, hhmm)
                await event()

    def _events(self, day: int, *, last: bool) -> list[Event]:
        events: list[Event] = []
        change = clock_change(day)
        if change:
            events.append(("07:00", functools.partial(self._narrate, change)))
        if day == 0:
            events.append(("08:00", self._enrol_all))
        if day in SERIES_DAYS:
            events.append(("11:00", functools.partial(self._infusions, day, self.patients)))
        faders = [p for p in self.patients if p.persona.fades]
        if day == MAINTENANCE_DAY and faders:
            events.append(("11:00", functools.partial(self._infusions, day, faders)))
        for hhmm in sorted({p.persona.time for p in self.patients}):
            events.append((hhmm, functools.partial(self._checkins, day)))
        for patient in self.patients:
            if patient.persona.crisis is not None and patient.persona.crisis[0] == day:
                events.append(("22:30", functools.partial(self._crisis, patient)))
        if last:
            events.append(("17:00", self._review))
        return sorted(events, key=lambda event: event[0])

    async def _narrate(self, text: str) -> None:
        self._stage.transcript.add(f"· {text}")

    async def _enrol_all(self) -> None:
        for patient in self.patients:
            await self._enrol(patient)
            self._stage.later(5)

    async def _enrol(self, patient: Patient) -> None:
        """Invite a patient, open the link, consent and pick the time."""
        stage, name, user = self._stage, patient.persona.name, patient.user
        replies = await stage.nurse_says("/invite")
        found = [(CODE.search(m.text or ""), LINK.search(m.text or "")) for m in replies]
        code, link = next(((c, k) for c, k in found if c and k), (None, None))
        if code is None or link is None:
            raise DemoError("/invite did not answer with a patient code and a link")
        patient.code = code.group(1)
        stage.recorder.labels[user.id] = patient.label
        stage.later(1)
        token = link.group(1)
        replies = await stage.say(name, user, f"/start {token}", shown=f"/start {token[:6]}…")
        consent = self._with_button(replies, user, "I agree", "a consent request")
        stage.later(1)
        replies = await stage.press(name, user, consent, "I agree")
        choice = self._with_button(replies, user, patient.persona.time, "the check-in times")
        await stage.press(name, user, choice, patient.persona.time)

    def _with_button(
        self, messages: Iterable[SentMessage], user: FakeUser, label: str, what: str
    ) -> SentMessage:
        for message in messages:
            if message.chat_id == user.id and label in labels_of(message):
                return message
        raise DemoError(f"{self._by_chat[user.id].label} did not get {what} [{label}]")

    async def _infusions(self, day: int, patients: list[Patient]) -> None:
        """Record this morning's 10:00 infusions."""
        given = local_moment(day, "10:00").astimezone(CLINIC_TZ)
        for patient in patients:
            await self._stage.nurse_says(f"/infusion {patient.code} {given:%Y-%m-%d %H:%M}")
            self._stage.later(1)

    async def _checkins(self, day: int) -> None:
        """Send what is due now; each patient who got a prompt answers (or not)."""
        sent = await self._stage.tick()
        for message in sent:
            patient = self._by_chat.get(message.chat_id)
            if patient is not None and is_checkin_prompt(message):
                await self._answer(patient, message, day)
        # A planned questionnaire comes on a day without a check-in, or on the pass after
        # that day's check-in is answered; the GAD-7 on the pass after the PHQ-9.
        for _ in range(3):
            asked = [
                message
                for message in sent + await self._stage.tick()
                if message.chat_id in self._by_chat and is_questionnaire(message)
            ]
            for message in asked:
                await self._questionnaire(self._by_chat[message.chat_id], message, day)
            if not asked:
                break
            sent = []
        await self._acknowledge_alerts()

    async def _questionnaire(self, patient: Patient, message: SentMessage, day: int) -> None:
        """The patient fills in a questionnaire, answering in line with their mood that day."""
        # On a day without a check-in, as they feel the next day.
        mood = patient.persona.score_on(day)
        if mood is None:
            mood = patient.persona.score_on(day + 1)
        if mood is None:
            self._stage.transcript.add(f"\u00b7 {patient.persona.name} leaves it for later.")
            return
        value = max(0, min(3, round((7 - mood) / 2)))
        title = (message.text or "").split("\u00b7")[0].split("\n")[-1].strip()
        self._stage.transcript.add(f"\u00b7 {patient.persona.name} fills in the {title}.")
        for _ in range(12):  # at most the items and the functional question
            labels = labels_of(message)
            if not labels:
                break
            # The safety item is answered "Not at all" here: the crisis scene is separate.
            choice = 0 if "better off dead" in (message.text or "") else value
            options = [label for label in labels if not label.startswith(("\u2190", "Skip"))]
            await self._stage.press_quietly(patient.user, message, options[choice])

    async def _answer(self, patient: Patient, prompt: SentMessage, day: int) -> None:
        stage, persona = self._stage, patient.persona
        score = persona.score_on(day)
        if score is None:
            stage.transcript.add(f"· {persona.name} does not answer today.")
            return
        stage.later(2)
        if persona.types_on(day):
            await stage.say(persona.name, patient.user, str(score))
        else:
            await stage.press(persona.name, patient.user, prompt, str(score))
        note = persona.note_on(day)
        if note is not None:
            stage.later(1)
            await stage.say(persona.name, patient.user, note)

    async def _crisis(self, patient: Patient) -> None:
        """Late in the evening a patient writes that she thinks about ending her life."""
        assert patient.persona.crisis is not None
        words = patient.persona.crisis[1]
        staff_chat = self._stage.recorder.staff_chat

        def answered_and_told(sent: list[SentMessage]) -> bool:
            chats = {message.chat_id for message in sent}
            return patient.user.id in chats and staff_chat in chats

        # The crisis path answers at once and stops every later handler, so the update
        # tracker never sees this message: wait for the reply and the staff's alert.
        await self._stage.say_until(patient.persona.name, patient.user, words, answered_and_told)
        await self._acknowledge_alerts()

    async def _acknowledge_alerts(self) -> None:
        """A nurse looks at the staff group a quarter of an hour later and acknowledges."""
        stage = self._stage
        waiting = [m for m in stage.recorder.alerts if m.message_id not in self._acknowledged]
        for alert in waiting:
            self._acknowledged.add(alert.message_id)
            if "Acknowledge" not in labels_of(alert):
                continue
            stage.later(15)
            code = CODE.search(alert.text or "")
            about = f" on the alert about {code.group(1)}" if code else ""
            await stage.press("Nurse", stage.nurse, alert, "Acknowledge", about)
            self._follow_up(code.group(1) if code else "", alert.text or "")

    def _follow_up(self, code: str, text: str) -> None:
        patient = next((p for p in self.patients if p.code == code), None)
        if patient is None:
            return
        if "URGENT" in text:
            self._stage.transcript.add(f"· The on-call nurse phones {patient.label} at once.")
            return
        if "stopped answering" in text:
            self._stage.transcript.add(
                f"· Nurse sends {patient.label} a message to ask how she is."
            )
            return
        if not patient.persona.fades or "decline" not in text:
            return
        if self._days <= MAINTENANCE_DAY:
            self._stage.transcript.add(f"· Nurse phones {patient.label}.")
            return
        booked = local_moment(MAINTENANCE_DAY, "10:00").astimezone(CLINIC_TZ)
        self._stage.transcript.add(
            f"· Nurse phones {patient.label}; they book a maintenance infusion"
            f" ({booked:%a %d %b})."
        )

    async def _review(self) -> None:
        """At the end of the course the nurse looks at the fading patient's record."""
        for patient in self.patients:
            if patient.persona.fades:
                await self._stage.nurse_says(f"/patient {patient.code}")

    def check(self, tally: Tally) -> None:
        """Raise DemoError if the story did not happen as it should."""
        if self._stage.tracker.errors:
            raise DemoError(f"the bot's handlers raised: {', '.join(self._stage.tracker.errors)}")
        if self._stage.server.internal_errors:
            raise DemoError("the fake Telegram server failed on a request")
        if tally.sent == 0 or tally.answered == 0:
            raise DemoError("no check-ins were sent and answered")
        for patient in self.patients:
            if patient.persona.fades:
                _check_decline(patient, tally)
            crisis = patient.persona.crisis
            if crisis is not None and crisis[0] < self._days:
                _check_alert(patient, tally, "crisis")
            if "--" in patient.persona.scores[: self._days - 1]:
                _check_alert(patient, tally, "disengagement")


def _check_alert(patient: Patient, tally: Tally, kind: str) -> None:
    found = [a for a in tally.alerts if a.patient_code == patient.code and a.kind == kind]
    if not found or not found[0].sent:
        raise DemoError(f"no {kind} alert reached the staff about {patient.label}")
    if found[0].acknowledged_at is None:
        raise DemoError(f"the {kind} alert about {patient.code} was not acknowledged")


def _check_decline(patient: Patient, tally: Tally) -> None:
    declines = [a for a in tally.alerts if a.patient_code == patient.code and a.kind == "decline"]
    if not declines:
        raise DemoError(f"no mood-decline alert was raised for {patient.label}")
    alert = declines[0]
    if not (alert.sent and alert.photo):
        raise DemoError(f"the alert about {patient.code} did not reach staff with a chart")
    if alert.acknowledged_at is None:
        raise DemoError(f"the alert about {patient.code} was not acknowledged")
