"""Injected faults (errors, slow answers, lost answers) and Telegram's flood limits."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from ._models import FakeChat, JSONDict
from ._transport import ApiError, Call, Reply, error_body
from ._world import World

__all__ = ["Fault", "FaultBook", "FloodLimits", "answer_with_fault"]

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


@dataclass
class Fault:
    """An injected failure or slowdown for matching API calls; ``times=None`` repeats forever.

    ``method`` and ``chat_id`` select the calls (``None`` matches any). The answer is an error
    if ``status``, ``retry_after`` (429) or ``migrate_to_chat_id`` (400) is set, after ``delay``
    seconds. With ``deliver`` the call takes effect anyway, so the bot cannot tell that it did;
    a delayed call without ``deliver`` takes effect only if the client is still waiting.
    """

    method: str | None = None
    chat_id: int | None = None
    status: int | None = None
    description: str | None = None
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None
    delay: float = 0.0
    deliver: bool = False
    times: int | None = 1

    def __post_init__(self) -> None:
        """Reject fault definitions that could never fire or never answer."""
        if self.times is not None and self.times < 1:
            raise ValueError("Fault.times must be a positive number or None (forever)")
        if self.delay < 0:
            raise ValueError("Fault.delay must not be negative")

    @property
    def effective_status(self) -> int | None:
        """Return the HTTP status this fault answers with, or ``None`` if it only delays."""
        if self.status is not None:
            return self.status
        if self.retry_after is not None:
            return 429
        if self.migrate_to_chat_id is not None:
            return 400
        return None

    def error_body(self) -> JSONDict:
        """Return the Bot API error body this fault answers with."""
        status = self.effective_status or 500
        parameters: JSONDict = {}
        if status == 429:
            parameters["retry_after"] = self.retry_after if self.retry_after is not None else 1
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        description = self.description
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {parameters['retry_after']}"
            elif self.migrate_to_chat_id is not None:
                description = _MIGRATED
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status) or _phrase(status)
        return error_body(status, description, parameters)

    def matches(self, call: Call) -> bool:
        """Tell whether this fault applies to ``call``."""
        if self.method is not None and self.method.lower() != call.method.lower():
            return False
        return self.chat_id is None or self.chat_id == call.params.get("chat_id")


class FaultBook:
    """The armed faults, checked in injection order."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    @property
    def armed(self) -> list[Fault]:
        """Return the faults that are still armed."""
        return list(self._faults)

    def inject(self, fault: Fault) -> Fault:
        """Arm ``fault`` after the ones already armed."""
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def take(self, call: Call) -> Fault | None:
        """Return the first fault matching ``call``, using up one of its times."""
        fault = next((fault for fault in self._faults if fault.matches(call)), None)
        if fault is not None and fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
        return fault


async def answer_with_fault(
    fault: Fault,
    call: Call,
    invoke: Callable[[Call], Awaitable[Reply]],
    world: World,
    connected: Callable[[], bool],
) -> Reply:
    """Answer ``call`` as ``fault`` says, running the call itself through ``invoke``.

    A faked migration creates the supergroup it points to, so that the bot can go on there.
    A delayed answer to a client that gave up meanwhile is lost, and so is the call.
    """
    delivered = await invoke(call) if fault.deliver else None
    if fault.delay > 0:
        await world.sleep(fault.delay)
    status = fault.effective_status
    if status is not None:
        if fault.migrate_to_chat_id is not None:
            old = call.params.get("chat_id")
            world.ensure_supergroup(
                fault.migrate_to_chat_id, old if isinstance(old, int) else None
            )
        return Reply(status, fault.error_body())
    if delivered is not None:
        return delivered
    if world.stopping or not connected():
        return Reply(504, Fault(status=504).error_body())
    return await invoke(call)


@dataclass
class _Window:
    """Sending times within the last ``period`` seconds, at most ``limit`` of them."""

    limit: int
    period: float
    times: deque[float] = field(default_factory=deque)

    def full(self, now: float) -> bool:
        while self.times and now - self.times[0] >= self.period:
            self.times.popleft()
        return len(self.times) >= self.limit

    def frees_at(self) -> float:
        return self.times[0] + self.period


class FloodLimits:
    """Telegram's limits on sending messages: overall, per chat and per group.

    Beyond a limit a send is refused with 429 and the ``retry_after`` after which it would
    pass. Nothing is limited unless ``enforce`` is set.
    """

    def __init__(
        self,
        *,
        enforce: bool,
        overall_per_second: int,
        per_chat_per_second: int,
        per_group_per_minute: int,
    ) -> None:
        if min(overall_per_second, per_chat_per_second, per_group_per_minute) < 1:
            raise ValueError("flood limits must be positive")
        self.enforce = enforce
        self.rejected = 0
        self._overall = _Window(overall_per_second, 1.0)
        self._per_chat = per_chat_per_second
        self._per_group = per_group_per_minute
        self._chats: dict[int, _Window] = {}
        self._groups: dict[int, _Window] = {}

    def check(self, chat: FakeChat) -> None:
        """Count a message sent to ``chat``, or raise the 429 Telegram answers beyond a limit."""
        if not self.enforce:
            return
        now = time.monotonic()
        windows = [self._overall, self._chats.setdefault(chat.id, _Window(self._per_chat, 1.0))]
        if chat.type in ("group", "supergroup"):
            windows.append(self._groups.setdefault(chat.id, _Window(self._per_group, 60.0)))
        full = [window for window in windows if window.full(now)]
        if full:
            retry_after = max(1, math.ceil(max(window.frees_at() for window in full) - now))
            self.rejected += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for window in windows:
            window.times.append(now)
