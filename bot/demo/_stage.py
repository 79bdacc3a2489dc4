"""The stage of the story: the simulated clock, and the nurse and patients acting on the bot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.clock import ManualClock
from bot.fake_telegram import FakeTelegramServer, FakeUser, SentMessage

from ._bot import LiveBot
from ._clinic import local_moment
from ._errors import DemoError
from ._messages import JSONDict, button_data
from ._recorder import WAIT_SECONDS, Recorder, UpdateTracker
from ._transcript import Transcript


@dataclass(frozen=True, slots=True)
class Stage:
    """Moves the clock and delivers each action as an update, waiting for the bot to handle it."""

    server: FakeTelegramServer
    bot: LiveBot
    clock: ManualClock
    tracker: UpdateTracker
    recorder: Recorder
    transcript: Transcript
    nurse: FakeUser

    def at(self, day: int, hhmm: str) -> None:
        """Move the clock to a local time on a simulated day (never backwards)."""
        self.clock.set(max(self.clock.now(), local_moment(day, hhmm)))

    def later(self, minutes: int) -> None:
        """Move the clock on by some minutes."""
        self.clock.advance(timedelta(minutes=minutes))

    async def act(self, line: str | None, inject: Callable[[], JSONDict]) -> list[SentMessage]:
        """Log an action (unless None), deliver it as an update, wait until it is handled."""
        if line is not None:
            self.transcript.add(line)
        update = inject()
        try:
            await self.tracker.wait(int(update["update_id"]))
        except TimeoutError:
            raise DemoError(
                f"the bot did not handle {line!r} within {WAIT_SECONDS:.0f} s"
            ) from None
        await self.bot.settle()
        return self.recorder.flush()

    async def say(
        self, actor: str, user: FakeUser, text: str, shown: str = ""
    ) -> list[SentMessage]:
        """Send a text message as a user; return what the bot sent meanwhile."""
        return await self.act(
            f"{actor} → bot: {shown or text}", lambda: self.server.send_message(user, text)
        )

    async def say_until(
        self, actor: str, user: FakeUser, text: str, done: Callable[[list[SentMessage]], bool]
    ) -> list[SentMessage]:
        """Send a message that no later handler sees (a crisis); wait for what `done` wants."""
        self.transcript.add(f"{actor} → bot: {text}")
        start = len(self.server.sent)
        self.server.send_message(user, text)
        try:
            await self.server.wait_for(
                lambda: done(self.server.sent[start:]) or None, timeout=WAIT_SECONDS
            )
        except TimeoutError:
            raise DemoError(
                f"the bot did not answer {text!r} within {WAIT_SECONDS:.0f} s"
            ) from None
        await self.bot.settle()
        return self.recorder.flush()

    async def press(
        self, actor: str, user: FakeUser, message: SentMessage, label: str, about: str = ""
    ) -> list[SentMessage]:
        """Press a button of a bot message as a user; return what the bot sent meanwhile."""
        data = button_data(message, label)
        return await self.act(
            f"{actor} pressed [{label}]{about}",
            lambda: self.server.press_button(user, message, data),
        )

    async def press_quietly(self, user: FakeUser, message: SentMessage, label: str) -> None:
        """Press a button without a transcript line (one of many in a questionnaire)."""
        data = button_data(message, label)
        await self.act(None, lambda: self.server.press_button(user, message, data))

    async def nurse_says(self, text: str) -> list[SentMessage]:
        """Send a text message as the nurse; return what the bot sent meanwhile."""
        return await self.say("Nurse", self.nurse, text)

    async def tick(self) -> list[SentMessage]:
        """Run one pass of the scheduler job; return what the bot sent."""
        await self.bot.tick()
        return self.recorder.flush()
