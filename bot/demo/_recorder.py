"""Watching the fake server: which updates the bot has handled, and what it sent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.fake_telegram import FakeTelegramServer, SentMessage

from ._messages import CODE, QUESTIONNAIRE_OPTIONS, JSONDict, labels_of
from ._transcript import Transcript, button_labels, changed_part, shown_buttons

WAIT_SECONDS = 10.0
TRACKING_GROUP = 1_000
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
_EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption"})


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
        self.staff_chat = 0
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
        shown = text.strip()
        if message.photo is not None:
            shown = f"[photo {self._save_chart(message.photo, text).name}] {shown}"
        buttons = shown_buttons(labels_of(message))
        self._transcript.add(f"bot → {self._who(message.chat_id)}: {shown}\n{buttons}")
        if "Acknowledge" in labels_of(message):
            self.alerts.append(message)

    def _show_edit(self, params: JSONDict) -> None:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            return
        new = str(params.get("text") or params.get("caption") or "")
        old = self._texts.get((chat_id, message_id), "")
        self._texts[(chat_id, message_id)] = new
        delta = changed_part(old, new)
        labels = button_labels(params.get("reply_markup"))
        # A questionnaire moving on item by item is one line ("fills in"), not ten.
        if not delta.strip() or labels[:4] == QUESTIONNAIRE_OPTIONS:
            return
        buttons = shown_buttons(labels)
        self._transcript.add(f"bot ✎ {self._who(chat_id)}: {delta.strip()}\n{buttons}")

    def _save_chart(self, png: bytes, caption: str) -> Path:
        code = CODE.search(caption)
        suffix = f"-{code.group(1)}" if code else ""
        path = self._folder / f"chart-{len(self.charts) + 1}{suffix}.png"
        path.write_bytes(png)
        self.charts.append(path)
        return path
