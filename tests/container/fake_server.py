"""Inside the image: the project's fake Bot API server with one staff group, until SIGTERM.

Writes "<base url> <staff group id>" to the file named first on the command line.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from bot.fake_telegram import FakeTelegramServer


async def serve(out: Path, token: str) -> None:
    async with FakeTelegramServer(token=token) as server:
        group = server.add_group("Clinic staff")
        await asyncio.to_thread(out.write_text, f"{server.base_url} {group.id}\n", "utf-8")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        running = [m.text for m in server.messages(group) if "is running" in (m.text or "")]
        print(f"fake Telegram: the staff group got {running}")


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1]), sys.argv[2]))
