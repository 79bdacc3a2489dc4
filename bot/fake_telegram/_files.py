"""Files the bot uploaded, kept by file_id so that it can send them again."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from ._models import JSONDict

__all__ = ["FileStore", "StoredFile"]

_DEFAULT_PHOTO = (800, 600)
_DEFAULT_PHOTO_BYTES = 120_000
_PHOTO_SIDES = (90, 320, 800, 1280)


# Telegram's file_id prefixes tell the file's type; a file is only sent again as that type.
_ID_PREFIXES = {"photo": "AgACAgIAAxkDAAI", "document": "BQACAgIAAxkDAAI"}
_UNIQUE_PREFIXES = {"photo": "AQAD", "document": "AgAD"}


@dataclass
class StoredFile:
    """One stored file: its bytes (``None`` if it came by URL), Bot API object and type."""

    data: bytes | None
    meta: JSONDict
    photo_sizes: list[JSONDict] = field(default_factory=list)
    kind: str = "photo"


def png_size(data: bytes) -> tuple[int, int] | None:
    """Return ``(width, height)`` of a PNG image, or ``None`` if ``data`` is not one."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


class FileStore:
    """Uploaded files by file_id, with Telegram-looking ids."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._seq = 0

    def get(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def photo_sizes(self, data: bytes | None) -> list[JSONDict]:
        """Store a photo the way Telegram does, as scaled sizes; return the ``PhotoSize`` list.

        Sizes are 90, 320, 800 and 1280 pixels on the long side, up to the original size.
        Scaled sizes keep the original bytes; their file_size is estimated from the area.
        """
        width, height = (png_size(data) if data else None) or _DEFAULT_PHOTO
        sizes: list[JSONDict] = []
        for side in _PHOTO_SIDES:
            scale = min(1.0, side / max(width, height, 1))
            base = len(data) if data else _DEFAULT_PHOTO_BYTES
            file_size = base if data and scale == 1.0 else max(1, int(base * scale * scale))
            meta: JSONDict = {
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
                "file_size": file_size,
            }
            sizes.append(self._store(data, meta))
            if scale == 1.0:
                break
        for size in sizes:
            self._files[size["file_id"]].photo_sizes = sizes
        return sizes

    def document(
        self, data: bytes | None, *, file_name: str | None, mime_type: str | None
    ) -> JSONDict:
        """Store a document; return its ``Document`` object (size only when the bytes came)."""
        meta: JSONDict = {}
        if file_name:
            meta["file_name"] = file_name
        if mime_type:
            meta["mime_type"] = mime_type
        if data is not None:
            meta["file_size"] = len(data)
        return self._store(data, meta, kind="document")

    def _store(self, data: bytes | None, meta: JSONDict, *, kind: str = "photo") -> JSONDict:
        self._seq += 1
        meta = {
            "file_id": f"{_ID_PREFIXES[kind]}{self._seq:08d}{random.getrandbits(64):016x}",
            "file_unique_id": f"{_UNIQUE_PREFIXES[kind]}{self._seq:08d}",
            **meta,
        }
        self._files[meta["file_id"]] = StoredFile(data, meta, kind=kind)
        return meta
