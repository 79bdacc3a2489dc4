"""The Bot API methods the fake server implements, and how a call is run."""

from __future__ import annotations

import logging
from collections.abc import Collection

from bot.fake_telegram._transport import ApiError, Call, Reply, error_body

from ._bot import BOT_METHODS
from ._common import Context, Handler
from ._messages import MESSAGE_METHODS
from ._updates import UPDATE_METHODS

__all__ = ["Context", "Methods"]

_LOGGER = logging.getLogger(__name__)


class Methods:
    """Runs calls against the world; a bug in a method answers 500 and is kept for the test."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self._handlers: dict[str, Handler] = {**BOT_METHODS, **UPDATE_METHODS, **MESSAGE_METHODS}
        self.internal_errors: list[Exception] = []

    @property
    def names(self) -> Collection[str]:
        """Return the names of the implemented methods, spelled as the Bot API does."""
        return self._handlers.keys()

    async def invoke(self, call: Call) -> Reply:
        """Run ``call`` and return the HTTP answer, an error one if the method refused it."""
        try:
            result = await self._handlers[call.method](self._context, call)
        except ApiError as exc:
            return exc.reply()
        except Exception as exc:
            _LOGGER.exception("Fake Telegram server failed to handle %s", call.method)
            self.internal_errors.append(exc)
            return Reply(500, error_body(500, f"Internal Server Error: fake server bug: {exc!r}"))
        return Reply(200, {"ok": True, "result": result})
