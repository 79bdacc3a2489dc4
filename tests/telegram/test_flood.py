"""The flood limiter: even spacing, group windows, prepaid slots, and 429s waited out."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.telegram.flood import (
    GROUP_PER_MINUTE,
    LOOKAHEAD,
    PREPAID,
    TELEGRAM_PER_SECOND,
    FloodLimiter,
)


class Recorder:
    """A request that records when it ran, and can answer 429 first."""

    def __init__(self, refusals: int = 0) -> None:
        self.times: list[float] = []
        self.refusals = refusals

    async def __call__(self, *args: Any, **kwargs: Any) -> bool:
        if self.refusals:
            self.refusals -= 1
            raise RetryAfter(timedelta(seconds=0.05))
        self.times.append(asyncio.get_running_loop().time())
        return True


async def send(
    limiter: FloodLimiter, request: Recorder, chat_id: int, prepaid: bool = False
) -> Any:
    return await limiter.process_request(
        request, (), {}, "sendMessage", {"chat_id": chat_id}, PREPAID if prepaid else None
    )


async def test_requests_never_run_before_their_evenly_spaced_slot() -> None:
    limiter = FloodLimiter(100.0)
    request = Recorder()
    started = asyncio.get_running_loop().time()

    await asyncio.gather(*(send(limiter, request, chat) for chat in range(1, 21)))

    # Twenty slots 10 ms apart: the last cannot run before 190 ms after the first.
    assert len(request.times) == 20
    assert max(request.times) - started >= 0.19 * 0.999


async def test_take_reserves_only_the_slots_within_the_lookahead() -> None:
    limiter = FloodLimiter(20.0)  # one slot every 50 ms

    first = await limiter.take(up_to=25)
    # The slots from now to now + LOOKAHEAD, never all 25 at once.
    assert round(LOOKAHEAD / 0.05) <= first <= round(LOOKAHEAD / 0.05) + 1
    second = await limiter.take(up_to=25)
    assert 1 <= second <= first


async def test_unused_slots_are_given_back() -> None:
    limiter = FloodLimiter(20.0)
    reserved = await limiter.take(up_to=4)
    limiter.release(reserved - 1)
    request = Recorder()
    await send(limiter, request, 1, prepaid=True)
    started = asyncio.get_running_loop().time()

    await send(limiter, request, 2)

    # The next unprepaid request takes the slot right after the one used, not four later.
    assert request.times[-1] - started < 0.2


async def test_a_group_gets_at_most_twenty_in_a_minute_while_private_chats_go_on() -> None:
    limiter = FloodLimiter(0)
    group, private = Recorder(), Recorder()
    for _ in range(GROUP_PER_MINUTE):
        await send(limiter, group, -100)
    blocked = asyncio.create_task(send(limiter, group, -100))
    await asyncio.sleep(0.05)

    await send(limiter, private, 7)

    assert len(group.times) == GROUP_PER_MINUTE
    assert not blocked.done()
    assert len(private.times) == 1
    blocked.cancel()


async def test_a_429_holds_then_retries_the_request() -> None:
    limiter = FloodLimiter(0)
    request = Recorder(refusals=2)

    assert await send(limiter, request, 1) is True
    assert len(request.times) == 1


async def test_too_many_429s_are_raised_to_the_sender() -> None:
    limiter = FloodLimiter(0, max_retries=1)
    with pytest.raises(RetryAfter):
        await send(limiter, Recorder(refusals=5), 1)


async def test_a_process_that_stalls_does_not_burst_past_the_rate_after() -> None:
    """Slots that fell due during a stall go out no faster than the rate in any second."""
    limiter = FloodLimiter(10.0)
    request = Recorder()
    tasks = [asyncio.create_task(send(limiter, request, chat)) for chat in range(1, 31)]
    await asyncio.sleep(0.05)
    # The whole process stalls (a loaded host): six slots pass unserved.
    time.sleep(0.6)  # noqa: ASYNC251 - blocking the loop is the point
    await asyncio.gather(*tasks)

    assert len(request.times) == 30
    for start in request.times:
        in_window = [t for t in request.times if start <= t < start + 1.0]
        assert len(in_window) <= 10, f"{len(in_window)} requests within one second"


class SlowTelegram:
    """A request counted by "Telegram" somewhere on its way, after a delay that varies.

    The first requests are held up far longer than the rest (a starved host, a slow
    link), so they arrive at Telegram together with later ones.
    """

    def __init__(self) -> None:
        self.counted: list[float] = []
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> bool:
        self.calls += 1
        delay = 0.6 if self.calls <= 20 else 0.01
        await asyncio.sleep(delay)
        self.counted.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.005)
        return True


async def test_telegram_never_counts_more_than_its_limit_in_a_second_whatever_the_delays() -> None:
    limiter = FloodLimiter(28.5)
    request = SlowTelegram()
    await asyncio.gather(*(send(limiter, request, chat) for chat in range(1, 91)))

    assert len(request.counted) == 90
    for start in request.counted:
        in_window = [t for t in request.counted if start <= t < start + 1.0]
        assert len(in_window) <= TELEGRAM_PER_SECOND, f"{len(in_window)} in one second"


async def test_instances_sharing_one_bot_each_take_their_share_of_every_limit() -> None:
    """Telegram counts per bot: two instances at half the rate each stay within it together."""
    limiter = FloodLimiter(200.0)
    limiter.share(2)
    request = Recorder()
    await asyncio.gather(*(send(limiter, request, chat) for chat in range(1, 41)))
    # Half of 200 a second: 40 sends span 0.39 s at least, and no tenth of a second holds
    # more than 10 (11 when one slot fires late and the next on time: slots are fixed).
    times = request.times
    assert times[-1] - times[0] >= 39 / 100 - 0.002, times[-1] - times[0]
    crowded = max(sum(1 for t in times if start <= t < start + 0.1) for start in times)
    assert crowded <= 11, crowded

    group = Recorder()
    for _ in range(GROUP_PER_MINUTE // 2):
        await send(limiter, group, -100)
    blocked = asyncio.create_task(send(limiter, group, -100))
    await asyncio.sleep(0.1)
    assert not blocked.done(), "a half share of the group's twenty a minute was exceeded"
    blocked.cancel()

    # The slots within the lookahead: a half share; and all again once the other died.
    halved, restored = FloodLimiter(200.0), FloodLimiter(200.0)
    halved.share(2)
    restored.share(2)
    restored.share(1)
    assert await halved.take(1000) == pytest.approx(100 * LOOKAHEAD + 1, abs=1)
    assert await restored.take(1000) == pytest.approx(200 * LOOKAHEAD + 1, abs=1)


async def test_a_cancelled_or_failed_request_gives_its_place_back() -> None:
    """With one place (a thousand instances sharing), nothing may keep it for good."""
    limiter = FloodLimiter(1000.0)
    limiter.share(1000)
    hang = asyncio.Event()

    async def stuck(*args: Any, **kwargs: Any) -> bool:
        await hang.wait()
        return True

    async def broken(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("not a Telegram error")

    waiting = asyncio.create_task(send(limiter, stuck, 1))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(send(limiter, broken, 2), timeout=3)  # type: ignore[arg-type]
    request = Recorder()
    await asyncio.wait_for(send(limiter, request, 3), timeout=3)
    assert len(request.times) == 1
