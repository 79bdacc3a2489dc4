"""Long polling that commits each fetched batch to the inbox before it is confirmed.

python-telegram-bot's Updater confirms a batch with the offset of its next getUpdates call,
as soon as the previous call returned. `AfterglowBot.get_updates` stores the raw batch in
the inbox before returning it, so that next call only goes out once the batch is safe; it
also reads the raw JSON itself, so one update the library cannot parse is set aside instead
of making the Updater fetch the same batch for ever.
"""

from __future__ import annotations

import datetime as dtm
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.ext import ExtBot

from bot.runtime.intake import Intake


class AfterglowBot(ExtBot[int]):
    """The bot of the Application: every fetched batch goes through the intake."""

    def __init__(self, *args: Any, intake: Intake, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._intake = intake

    @property
    def intake(self) -> Intake:
        """Return the intake every received update goes through."""
        return self._intake

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 (the Bot API's own parameter)
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        """Fetch raw updates, commit them to the inbox, and return them parsed."""
        seconds = timeout.total_seconds() if isinstance(timeout, dtm.timedelta) else timeout
        if isinstance(read_timeout, DefaultValue):
            base = self._request[0].read_timeout or 0.0
        else:
            base = read_timeout or 0.0
        data: JSONDict = {
            "timeout": seconds,
            "offset": offset,
            "limit": limit,
            "allowed_updates": allowed_updates,
        }
        raw = await self._post(
            "getUpdates",
            data,
            read_timeout=base + (seconds or 0),
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        batch = raw if isinstance(raw, list) else []
        return tuple(await self._intake.receive(batch, self))
