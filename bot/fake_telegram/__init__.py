"""A fake Telegram Bot API server for integration tests and demo mode."""

from ._faults import Fault
from ._models import ApiCall, FakeChat, FakeUser, SentMessage
from ._server import FakeTelegramServer

__all__ = ["ApiCall", "FakeChat", "FakeTelegramServer", "FakeUser", "Fault", "SentMessage"]
