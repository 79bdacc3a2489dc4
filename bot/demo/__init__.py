"""`afterglow demo`: the real bot against the embedded fake Telegram, in accelerated time.

A nurse invites a few invented patients, they consent and pick a check-in time, infusions
are recorded, and a simulated clock walks through the course while the patients answer their
check-ins. One patient's mood fades after her last infusion, the detector raises a staff alert
with a chart, and the nurse acknowledges it. Everything the bot sends is printed as a
transcript; the charts, the transcript and the database are written to a folder.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.domain.clock import ManualClock
from bot.domain.entities import Alert, CheckinState
from bot.domain.errors import AfterglowError
from bot.fake_telegram import FakeTelegramServer, FakeUser, SentMessage
from bot.runtime.application import build_application, dispatch_once, running, services_of
from bot.runtime.logs import configure_logging
from bot.runtime.settings import Settings
from bot.services.container import Services
from storage import backup_database

EXIT_OK = 0
EXIT_STORY_FAILED = 1
EXIT_USAGE = 2

TOKEN = "123456:DEMO-not-a-real-token"
BOT_USERNAME = "afterglow_demo_bot"
CLINIC_TZ = ZoneInfo("Europe/Berlin")
FIRST_DAY = date(2026, 3, 2)  # a Monday; the clocks change to summer time on 29 March
CRISIS_LINE = "TelefonSeelsorge 0800 111 0 111 (free, 24/7)"
EMERGENCY_NUMBER = "112"
MIN_DAYS, MAX_DAYS = 12, 60
MIN_PATIENTS, MAX_PATIENTS = 2, 6
SERIES_DAYS = (0, 2, 4)  # a short series: Monday, Wednesday, Friday of the first week
MAINTENANCE_DAY = 14
WAIT_SECONDS = 10.0
LINE_LIMIT = 100
TRACKING_GROUP = 1_000
DB_NAME = "afterglow.db"

_LINK = re.compile(r"https://t\.me/[A-Za-z0-9_]+\?start=([A-Za-z0-9_-]+)")
_CODE = re.compile(r"\b(P-[A-Z0-9]{4,8})\b")
_SCORE_LABELS = [str(score) for score in range(11)]
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
_EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption"})

JSONDict = dict[str, Any]


class DemoError(AfterglowError):
    """Something in the story did not happen."""


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
        role="responds well at first, then her mood fades after the last infusion",
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
    Persona(
        name="Cleo",
        time="12:00",
        role="stays fairly well but misses a few check-ins",
        scores=".5677" + "878--78",
        tail="7887",
        notes=((6, "Tired but okay."), (10, "Sorry, I was away for a few days.")),
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


def local_moment(day: int, hhmm: str) -> datetime:
    """Return the UTC moment of a clinic-local time on a simulated day."""
    clock_time = time.fromisoformat(hhmm)
    local = datetime.combine(FIRST_DAY + timedelta(days=day), clock_time, tzinfo=CLINIC_TZ)
    return local.astimezone(UTC)


def clock_change(day: int) -> str:
    """Return a note when the clinic's clocks changed in the night before a day, else ''."""
    if day == 0:
        return ""
    today = local_moment(day, "12:00").astimezone(CLINIC_TZ).utcoffset()
    before = local_moment(day - 1, "12:00").astimezone(CLINIC_TZ).utcoffset()
    if today is None or before is None or today == before:
        return ""
    season = "Summer" if today > before else "Winter"
    return f"{season} time began overnight; check-ins stay at each patient's local time."


def one_line(text: str, limit: int = LINE_LIMIT) -> str:
    """Return text on one line (lines joined with ' | '), cut to `limit` characters."""
    flat = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def button_labels(markup: JSONDict | None) -> list[str]:
    """Return the labels of an inline keyboard, row by row."""
    rows = (markup or {}).get("inline_keyboard", [])
    return [str(button.get("text", "")) for row in rows for button in row]


def compact_buttons(labels: list[str]) -> str:
    """Return buttons as '[I agree]', or '[0][1]…[10]' when there are many."""
    if len(labels) > 6:
        return "".join(f"[{label}]" for label in labels[:2]) + f"…[{labels[-1]}]"
    return "".join(f"[{label}]" for label in labels)


def changed_part(old: str, new: str) -> str:
    """Return the lines of `new` from the first one that differs from `old`."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    same = 0
    while same < min(len(old_lines), len(new_lines)) and old_lines[same] == new_lines[same]:
        same += 1
    return "\n".join(new_lines[same:])


def is_checkin_prompt(message: SentMessage) -> bool:
    """Tell whether a bot message is a mood check-in with its eleven score buttons."""
    return [label for label, _ in message.buttons()] == _SCORE_LABELS


def button_data(message: SentMessage, label: str) -> str:
    """Return the callback data of the button with exactly this label."""
    for text, data in message.buttons():
        if text == label:
            return data
    raise DemoError(f"the bot's message has no [{label}] button")


class Transcript:
    """Lines stamped with the simulated clinic time, echoed as they are added."""

    def __init__(self, clock: ManualClock, echo: Callable[[str], None]) -> None:
        self._clock = clock
        self._echo = echo
        self._last_day: date | None = None
        self.lines: list[str] = []

    def add(self, text: str) -> None:
        """Add a line at the current simulated time (a blank line starts a new day)."""
        local = self._clock.now().astimezone(CLINIC_TZ)
        if self._last_day is not None and local.date() != self._last_day:
            self._plain("")
        self._last_day = local.date()
        self._plain(f"{local:%a %d %b %H:%M}  {text}")

    def _plain(self, text: str) -> None:
        self.lines.append(text)
        self._echo(text)

    def note(self, text: str) -> None:
        """Add a line without a time stamp."""
        self._plain(text)

    def write(self, path: Path) -> None:
        """Write the transcript as UTF-8 text."""
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


class UpdateTracker:
    """Knows which updates the application has finished handling, and any handler errors."""

    def __init__(self) -> None:
        self._done: set[int] = set()
        self._changed = asyncio.Event()
        self.errors: list[str] = []

    async def handled(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Run last for every update: mark it handled."""
        self._done.add(update.update_id)
        self._changed.set()

    async def failed(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remember that a handler raised."""
        self.errors.append(type(context.error).__name__)

    def install(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Add the tracking handler after all of the bot's own handlers."""
        app.add_handler(TypeHandler(Update, self.handled), group=TRACKING_GROUP)
        app.add_error_handler(self.failed)

    async def wait(self, update_id: int) -> None:
        """Wait (bounded) until the update has gone through every handler."""
        async with asyncio.timeout(WAIT_SECONDS):
            while update_id not in self._done:
                self._changed.clear()
                await self._changed.wait()


class Recorder:
    """Turns what the bot sent through the fake server into transcript lines and PNG files."""

    def __init__(self, server: FakeTelegramServer, transcript: Transcript, folder: Path) -> None:
        self._server = server
        self._transcript = transcript
        self._folder = folder
        self._calls_seen = 0
        self._sent_seen = 0
        self._texts: dict[tuple[int, int], str] = {}
        self.labels: dict[int, str] = {}
        self.charts: list[Path] = []
        self.alerts: list[SentMessage] = []

    def flush(self) -> list[SentMessage]:
        """Show every send and edit since the last flush, in order; return the new messages."""
        new = self._server.sent[self._sent_seen :]
        self._sent_seen = len(self._server.sent)
        # A SentMessage keeps the very params dict of the call that sent it: match by identity.
        pending = {id(message.params): message for message in new}
        for call in self._server.calls[self._calls_seen :]:
            if call.method in _SEND_METHODS and id(call.params) in pending:
                self._show_sent(pending.pop(id(call.params)))
            elif call.method in _EDIT_METHODS:
                self._show_edit(call.params)
        self._calls_seen = len(self._server.calls)
        for message in pending.values():
            self._show_sent(message)
        return new

    def _who(self, chat_id: int) -> str:
        return self.labels.get(chat_id, str(chat_id))

    def _show_sent(self, message: SentMessage) -> None:
        text = message.text or ""
        self._texts[(message.chat_id, message.message_id)] = text
        shown = one_line(text)
        if message.photo is not None:
            shown = f"[photo {self._save_chart(message.photo, text).name}] {shown}"
        buttons = compact_buttons([label for label, _ in message.buttons()])
        self._transcript.add(f"bot → {self._who(message.chat_id)}: {shown} {buttons}".rstrip())
        if any(label == "Acknowledge" for label, _ in message.buttons()):
            self.alerts.append(message)

    def _show_edit(self, params: JSONDict) -> None:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            return
        new = str(params.get("text") or params.get("caption") or "")
        old = self._texts.get((chat_id, message_id), "")
        self._texts[(chat_id, message_id)] = new
        delta = changed_part(old, new)
        if not delta.strip():
            return
        buttons = compact_buttons(button_labels(params.get("reply_markup")))
        self._transcript.add(f"bot ✎ {self._who(chat_id)}: {one_line(delta)} {buttons}".rstrip())

    def _save_chart(self, png: bytes, caption: str) -> Path:
        code = _CODE.search(caption)
        suffix = f"-{code.group(1)}" if code else ""
        path = self._folder / f"chart-{len(self.charts) + 1}{suffix}.png"
        path.write_bytes(png)
        self.charts.append(path)
        return path


@dataclass(slots=True)
class Tally:
    """What the story produced, read back from the database."""

    sent: int = 0
    answered: int = 0
    missed: int = 0
    notes: int = 0
    alerts: list[Alert] = field(default_factory=list)


class Story:
    """Drives the clinic, the patients and the clock through the course."""

    def __init__(
        self,
        *,
        server: FakeTelegramServer,
        svc: Services,
        clock: ManualClock,
        tracker: UpdateTracker,
        recorder: Recorder,
        transcript: Transcript,
        nurse: FakeUser,
        patients: list[Patient],
    ) -> None:
        self._server = server
        self._svc = svc
        self._clock = clock
        self._tracker = tracker
        self._recorder = recorder
        self._transcript = transcript
        self._nurse = nurse
        self.patients = patients
        self._by_chat = {patient.user.id: patient for patient in patients}
        self._acknowledged: set[int] = set()
        self._days = 0

    # ------------------------------------------------------------------ time and actions

    def _at(self, day: int, hhmm: str) -> None:
        """Move the clock to a local time on a simulated day (never backwards)."""
        self._clock.set(max(self._clock.now(), local_moment(day, hhmm)))

    def _later(self, minutes: int) -> None:
        self._clock.advance(timedelta(minutes=minutes))

    async def _act(self, line: str, inject: Callable[[], JSONDict]) -> list[SentMessage]:
        """Log an action, deliver it as an update and wait until the bot has handled it."""
        self._transcript.add(line)
        update = inject()
        try:
            await self._tracker.wait(int(update["update_id"]))
        except TimeoutError:
            raise DemoError(
                f"the bot did not handle {line!r} within {WAIT_SECONDS:.0f} s"
            ) from None
        await self._svc.alerts.drain()
        return self._recorder.flush()

    async def _say(
        self, actor: str, user: FakeUser, text: str, shown: str = ""
    ) -> list[SentMessage]:
        return await self._act(
            f"{actor} → bot: {shown or text}", lambda: self._server.send_message(user, text)
        )

    async def _press(
        self, actor: str, user: FakeUser, message: SentMessage, label: str, about: str = ""
    ) -> list[SentMessage]:
        data = button_data(message, label)
        return await self._act(
            f"{actor} pressed [{label}]{about}",
            lambda: self._server.press_button(user, message, data),
        )

    async def _nurse_says(self, text: str) -> list[SentMessage]:
        return await self._say("Nurse", self._nurse, text)

    async def _tick(self) -> list[SentMessage]:
        """Run one pass of the scheduler job, as it would run at this moment."""
        await dispatch_once(self._svc)
        await self._svc.alerts.drain()
        return self._recorder.flush()

    # ------------------------------------------------------------------ the story

    async def play(self, days: int) -> None:
        """Run the course day by day."""
        self._days = days
        for day in range(days):
            for hhmm, event in self._events(day, last=day == days - 1):
                self._at(day, hhmm)
                await event()

    def _events(self, day: int, *, last: bool) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        events: list[tuple[str, Callable[[], Awaitable[None]]]] = []
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
        if last:
            events.append(("17:00", self._review))
        return sorted(events, key=lambda event: event[0])

    async def _narrate(self, text: str) -> None:
        self._transcript.add(f"· {text}")

    async def _enrol_all(self) -> None:
        for patient in self.patients:
            await self._enrol(patient)
            self._later(5)

    async def _enrol(self, patient: Patient) -> None:
        """Invite a patient, open the link, consent and pick the time."""
        name, user = patient.persona.name, patient.user
        replies = await self._nurse_says("/invite")
        found = [(_CODE.search(m.text or ""), _LINK.search(m.text or "")) for m in replies]
        code, link = next(((c, k) for c, k in found if c and k), (None, None))
        if code is None or link is None:
            raise DemoError("/invite did not answer with a patient code and a link")
        patient.code = code.group(1)
        self._recorder.labels[user.id] = patient.label
        self._later(1)
        token = link.group(1)
        replies = await self._say(name, user, f"/start {token}", shown=f"/start {token[:6]}…")
        consent = self._with_button(replies, user, "I agree", "a consent request")
        self._later(1)
        replies = await self._press(name, user, consent, "I agree")
        choice = self._with_button(replies, user, patient.persona.time, "the check-in times")
        await self._press(name, user, choice, patient.persona.time)

    def _with_button(
        self, messages: Iterable[SentMessage], user: FakeUser, label: str, what: str
    ) -> SentMessage:
        for message in messages:
            if message.chat_id == user.id and label in [text for text, _ in message.buttons()]:
                return message
        raise DemoError(f"{self._by_chat[user.id].label} did not get {what} [{label}]")

    async def _infusions(self, day: int, patients: list[Patient]) -> None:
        """Record this morning's 10:00 infusions."""
        given = local_moment(day, "10:00").astimezone(CLINIC_TZ)
        for patient in patients:
            await self._nurse_says(f"/infusion {patient.code} {given:%Y-%m-%d %H:%M}")
            self._later(1)

    async def _checkins(self, day: int) -> None:
        """Send what is due now; each patient who got a prompt answers (or not)."""
        for message in await self._tick():
            patient = self._by_chat.get(message.chat_id)
            if patient is not None and is_checkin_prompt(message):
                await self._answer(patient, message, day)
        await self._acknowledge_alerts()

    async def _answer(self, patient: Patient, prompt: SentMessage, day: int) -> None:
        persona = patient.persona
        score = persona.score_on(day)
        if score is None:
            self._transcript.add(f"· {persona.name} does not answer today.")
            return
        self._later(2)
        if persona.types_on(day):
            await self._say(persona.name, patient.user, str(score))
        else:
            await self._press(persona.name, patient.user, prompt, str(score))
        note = persona.note_on(day)
        if note is not None:
            self._later(1)
            await self._say(persona.name, patient.user, note)

    async def _acknowledge_alerts(self) -> None:
        """A nurse looks at the staff group a quarter of an hour later and acknowledges."""
        waiting = [m for m in self._recorder.alerts if m.message_id not in self._acknowledged]
        for alert in waiting:
            self._acknowledged.add(alert.message_id)
            if "Acknowledge" not in [label for label, _ in alert.buttons()]:
                continue
            self._later(15)
            code = _CODE.search(alert.text or "")
            about = f" on the alert about {code.group(1)}" if code else ""
            await self._press("Nurse", self._nurse, alert, "Acknowledge", about)
            self._follow_up(code.group(1) if code else "", alert.text or "")

    def _follow_up(self, code: str, text: str) -> None:
        patient = next((p for p in self.patients if p.code == code), None)
        if patient is None or not patient.persona.fades or "decline" not in text:
            return
        if self._days <= MAINTENANCE_DAY:
            self._transcript.add(f"· Nurse phones {patient.label}.")
            return
        booked = local_moment(MAINTENANCE_DAY, "10:00").astimezone(CLINIC_TZ)
        self._transcript.add(
            f"· Nurse phones {patient.label}; they book a maintenance infusion"
            f" ({booked:%a %d %b})."
        )

    async def _review(self) -> None:
        """At the end of the course the nurse looks at the fading patient's record."""
        for patient in self.patients:
            if patient.persona.fades:
                await self._nurse_says(f"/patient {patient.code}")

    # ------------------------------------------------------------------ results

    async def tally(self) -> Tally:
        """Count check-ins, notes and alerts in the database."""
        result = Tally()
        storage = self._svc.storage
        for patient in self.patients:
            record = await storage.patients.by_code(patient.code)
            if record is None:
                raise DemoError(f"{patient.label} is not in the database")
            rows = await storage.checkins.for_patient(record.id)
            result.sent += sum(1 for row in rows if row.sent_at is not None)
            result.answered += sum(1 for row in rows if row.state is CheckinState.ANSWERED)
            result.missed += sum(1 for row in rows if row.state is CheckinState.MISSED)
            result.notes += len(await storage.checkins.notes_for_patient(record.id))
            alerts = await storage.alerts.for_patient(record.id, limit=100)
            result.alerts.extend(sorted(alerts, key=lambda alert: alert.id))
        result.alerts.sort(key=lambda alert: alert.id)
        return result

    def check(self, tally: Tally) -> None:
        """Raise DemoError if the story did not happen as it should."""
        if self._tracker.errors:
            raise DemoError(f"the bot's handlers raised: {', '.join(self._tracker.errors)}")
        if self._server.internal_errors:
            raise DemoError("the fake Telegram server failed on a request")
        if tally.sent == 0 or tally.answered == 0:
            raise DemoError("no check-ins were sent and answered")
        for patient in self.patients:
            if patient.persona.fades:
                self._check_decline(patient, tally.alerts)

    def _check_decline(self, patient: Patient, alerts: list[Alert]) -> None:
        declines = [a for a in alerts if a.patient_code == patient.code and a.kind == "decline"]
        if not declines:
            raise DemoError(f"no mood-decline alert was raised for {patient.label}")
        alert = declines[0]
        if not (alert.sent and alert.photo):
            raise DemoError(f"the alert about {patient.code} did not reach staff with a chart")
        if alert.acknowledged_at is None:
            raise DemoError(f"the alert about {patient.code} was not acknowledged")


def summary_lines(patients: list[Patient], tally: Tally, days: int) -> list[str]:
    """Return the closing summary."""
    last = FIRST_DAY + timedelta(days=days - 1)
    acknowledged = sum(1 for alert in tally.alerts if alert.acknowledged_at is not None)
    raised = "; ".join(alert.text.splitlines()[0] for alert in tally.alerts) or "none"
    return [
        "",
        f"Summary ({days} days, {FIRST_DAY:%a %d %b} to {last:%a %d %b %Y})",
        f"  Patients: {len(patients)}: {', '.join(p.label for p in patients)}",
        f"  Check-ins: {tally.sent} sent, {tally.answered} answered, {tally.missed} missed;"
        f" {tally.notes} notes",
        f"  Alerts raised: {len(tally.alerts)} ({acknowledged} acknowledged): {raised}",
    ]


def intro_lines(patients: list[Patient], days: int) -> list[str]:
    """Return the lines that say what is about to happen."""
    lines = [
        f"Afterglow demo: {len(patients)} invented patients through {days} days in accelerated"
        " time.",
        "The real bot runs against the embedded fake Telegram on 127.0.0.1 (no token, no"
        " network); times are clinic time (Europe/Berlin).",
    ]
    lines += [
        f"  {p.persona.name} (check-ins at {p.persona.time}) {p.persona.role}." for p in patients
    ]
    return [*lines, ""]


def prepare_folder(out: Path | None) -> Path:
    """Return an empty output folder, creating it; raise ValueError when it cannot be used."""
    if out is None:
        return Path(tempfile.mkdtemp(prefix="afterglow-demo-"))
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty; choose a new or an empty folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create {out} ({err.strerror})") from None
    return out


def argument_problem(days: int, patients: int) -> str | None:
    """Return what is wrong with --days or --patients, or None."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        return f"--days must be from {MIN_DAYS} to {MAX_DAYS}"
    if not MIN_PATIENTS <= patients <= MAX_PATIENTS:
        return f"--patients must be from {MIN_PATIENTS} to {MAX_PATIENTS}"
    return None


def _fail(message: str) -> None:
    print(f"afterglow demo: {message}", file=sys.stderr)


@dataclass(slots=True)
class Run:
    """One demo run: its folder, clock, transcript and, in the end, what it produced."""

    folder: Path
    days: int
    patients: int
    echo: Callable[[str], None]
    clock: ManualClock = field(default_factory=lambda: ManualClock(local_moment(0, "08:00")))
    transcript: Transcript = field(init=False)
    charts: int = 0

    def __post_init__(self) -> None:
        self.transcript = Transcript(self.clock, self.echo)

    async def play(self) -> None:
        """Run the story against the fake server, then keep a copy of the database."""
        with tempfile.TemporaryDirectory(prefix="afterglow-demo-db-") as work:
            live = Path(work) / DB_NAME
            async with FakeTelegramServer(
                token=TOKEN, bot_username=BOT_USERNAME, first_update_id=1
            ) as server:
                await self._play_on(server, live)
            backup_database(live, self.folder / DB_NAME)

    async def _play_on(self, server: FakeTelegramServer, db_path: Path) -> None:
        nurse = server.add_user(first_name="Nurse", username="clinic_nurse")
        group = server.add_group(title="Clinic staff")
        settings = Settings(
            token=TOKEN,
            staff_chat_id=group.id,
            admin_ids=frozenset({nurse.id}),
            api_base_url=server.base_url,
            db_path=db_path,
            timezone=CLINIC_TZ,
            crisis_line=CRISIS_LINE,
            emergency_number=EMERGENCY_NUMBER,
        )
        app = build_application(
            settings, clock=self.clock, dispatch_interval=10**6, rate_limit_per_second=0
        )
        tracker = UpdateTracker()
        tracker.install(app)
        recorder = Recorder(server, self.transcript, self.folder)
        recorder.labels.update({nurse.id: "Nurse", group.id: "staff group"})
        patients = [
            Patient(persona, server.add_user(first_name=persona.name))
            for persona in PERSONAS[: self.patients]
        ]
        for line in intro_lines(patients, self.days):
            self.transcript.note(line)
        async with running(app, poll_timeout=1):
            story = Story(
                server=server,
                svc=services_of(app),
                clock=self.clock,
                tracker=tracker,
                recorder=recorder,
                transcript=self.transcript,
                nurse=nurse,
                patients=patients,
            )
            await story.play(self.days)
            tally = await story.tally()
            for line in summary_lines(patients, tally, self.days):
                self.transcript.note(line)
            story.check(tally)
        self.charts = len(recorder.charts)


async def demo_async(
    out: Path | None, days: int, patients: int, *, echo: Callable[[str], None] = print
) -> int:
    """Run the demo inside the running event loop; return the exit code."""
    problem = argument_problem(days, patients)
    if problem is not None:
        _fail(problem)
        return EXIT_USAGE
    try:
        folder = prepare_folder(out)
    except ValueError as err:
        _fail(str(err))
        return EXIT_USAGE
    run = Run(folder=folder, days=days, patients=patients, echo=echo)
    try:
        await run.play()
    except DemoError as err:
        run.transcript.write(folder / "transcript.txt")
        _fail(f"the story broke: {err} (transcript in {folder})")
        return EXIT_STORY_FAILED
    run.transcript.write(folder / "transcript.txt")
    charts = f"{run.charts} chart{'s' if run.charts != 1 else ''}"
    echo(f"Wrote transcript, {charts} and the database to {folder}")
    return EXIT_OK


def _tolerant_stdout() -> None:
    """Let a terminal that cannot show emoji print escapes instead of failing."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace", line_buffering=True)


def run_demo(out: Path | None, days: int, patients: int) -> int:
    """Run the demo with quiet logs in a new event loop; return the exit code."""
    configure_logging(token=TOKEN, level=logging.WARNING)
    _tolerant_stdout()
    return asyncio.run(demo_async(out, days, patients))
