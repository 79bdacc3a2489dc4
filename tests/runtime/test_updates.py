"""Updates run concurrently across chats, in order within a chat, and no chat starves others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.runtime.updates import PerChatUpdateProcessor


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type="private")
    return Update(update_id, message=Message(update_id, datetime(2026, 3, 2, tzinfo=UTC), chat))


async def test_order_within_a_chat_and_no_starvation() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=4)
    done: list[tuple[int, int]] = []

    async def handle(chat_id: int, number: int, pause: float) -> None:
        await asyncio.sleep(pause)
        done.append((chat_id, number))

    async with processor:
        busy = [
            asyncio.create_task(processor.process_update(update(n, 1), handle(1, n, 0.01)))
            for n in range(40)
        ]
        await asyncio.sleep(0)
        other = asyncio.create_task(processor.process_update(update(99, 2), handle(2, 99, 0)))
        await other
        # The other chat did not wait for the busy chat's backlog (40 x 10 ms).
        assert sum(1 for chat, _ in done if chat == 1) < 5
        await asyncio.gather(*busy)
    assert [n for chat, n in done if chat == 1] == list(range(40))
    assert processor._locks == {}
