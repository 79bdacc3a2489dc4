"""Helpers for driving the fake server: a PTB Bot pointed at it, raw HTTP, test images."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.request import HTTPXRequest

from bot.fake_telegram import FakeTelegramServer

TOKEN = "123456:TEST"
KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("😊 Good", callback_data="mood:good")],
        [
            InlineKeyboardButton("😞 Bad", callback_data="mood:bad"),
            InlineKeyboardButton("Help", url="https://example.org/help"),
        ],
    ]
)


def png(width: int, height: int) -> bytes:
    """Return a tiny but valid PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x10\x20\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def make_bot(server: FakeTelegramServer, *, read_timeout: float = 2.0, token: str = TOKEN) -> Bot:
    """Return a PTB Bot that talks to the fake server."""
    return Bot(
        token,
        base_url=server.base_url,
        request=HTTPXRequest(read_timeout=read_timeout),
        get_updates_request=HTTPXRequest(read_timeout=read_timeout),
    )


async def raw_post(server: FakeTelegramServer, path: str, **kwargs: object) -> httpx.Response:
    """POST straight to the server, bypassing PTB."""
    async with httpx.AsyncClient() as client:
        return await client.post(f"http://127.0.0.1:{server.port}{path}", **kwargs)  # type: ignore[arg-type]


async def api(server: FakeTelegramServer, method: str, **params: object) -> dict[str, Any]:
    """Call ``method`` with a JSON body, bypassing PTB; return the answer's body.

    The HTTP status is checked against the body's ``error_code`` (200 for a success).
    """
    response = await raw_post(server, f"/bot{TOKEN}/{method}", json=params)
    body: dict[str, Any] = response.json()
    assert response.status_code == body.get("error_code", 200)
    return body
