"""One demo run: argument checks, the output folder, the fake server and the exit code."""

from __future__ import annotations

import asyncio
import io
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.clock import ManualClock
from bot.fake_telegram import FakeTelegramServer

from ._bot import build_bot, keep_database, live, quiet_logs
from ._clinic import BOT_USERNAME, TOKEN, local_moment
from ._errors import DemoError
from ._personas import PERSONAS, Patient
from ._recorder import Recorder, UpdateTracker
from ._stage import Stage
from ._story import Story
from ._transcript import Transcript, intro_lines, summary_lines

EXIT_OK = 0
EXIT_STORY_FAILED = 1
EXIT_USAGE = 2

MIN_DAYS, MAX_DAYS = 12, 60
MIN_PATIENTS, MAX_PATIENTS = 2, 6
DB_NAME = "afterglow.db"


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
    width: int | None = None
    clock: ManualClock = field(default_factory=lambda: ManualClock(local_moment(0, "08:00")))
    transcript: Transcript = field(init=False)
    charts: int = 0

    def __post_init__(self) -> None:
        self.transcript = Transcript(self.clock, self.echo, self.width)

    async def play(self) -> None:
        """Run the story against the fake server, then keep a copy of the database."""
        with tempfile.TemporaryDirectory(prefix="afterglow-demo-db-") as work:
            live_db = Path(work) / DB_NAME
            async with FakeTelegramServer(
                token=TOKEN, bot_username=BOT_USERNAME, first_update_id=1
            ) as server:
                await self._play_on(server, live_db)
            keep_database(live_db, self.folder / DB_NAME)

    async def _play_on(self, server: FakeTelegramServer, db_path: Path) -> None:
        nurse = server.add_user(first_name="Nurse", username="clinic_nurse")
        group = server.add_group(title="Clinic staff")
        app = build_bot(server=server, nurse=nurse, staff=group, db_path=db_path, clock=self.clock)
        tracker = UpdateTracker()
        tracker.install(app)
        recorder = Recorder(server, self.transcript, self.folder)
        recorder.labels.update({nurse.id: "Nurse", group.id: "staff group"})
        recorder.staff_chat = group.id
        patients = [
            Patient(persona, server.add_user(first_name=persona.name))
            for persona in PERSONAS[: self.patients]
        ]
        for line in intro_lines(patients, self.days):
            self.transcript.note(line)
        async with live(app) as bot:
            stage = Stage(
                server=server,
                bot=bot,
                clock=self.clock,
                tracker=tracker,
                recorder=recorder,
                transcript=self.transcript,
                nurse=nurse,
            )
            story = Story(stage, patients)
            await story.play(self.days)
            tally = await bot.tally(patients)
            for line in summary_lines(patients, tally, self.days):
                self.transcript.note(line)
            story.check(tally)
        self.charts = len(recorder.charts)


async def demo_async(
    out: Path | None,
    days: int,
    patients: int,
    *,
    echo: Callable[[str], None] = print,
    width: int | None = None,
) -> int:
    """Run the demo inside the running event loop; return the exit code.

    Messages are echoed in full, wrapped to `width` columns if given.
    """
    problem = argument_problem(days, patients)
    if problem is not None:
        _fail(problem)
        return EXIT_USAGE
    try:
        folder = prepare_folder(out)
    except ValueError as err:
        _fail(str(err))
        return EXIT_USAGE
    run = Run(folder=folder, days=days, patients=patients, echo=echo, width=width)
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
    """Run the demo with quiet logs in a new event loop; return the exit code.

    On a terminal the messages are wrapped to its width; piped, each line is kept whole.
    """
    quiet_logs()
    _tolerant_stdout()
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    return asyncio.run(demo_async(out, days, patients, width=width))
