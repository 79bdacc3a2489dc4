"""A fake Telegram Bot API server for integration tests and demo mode."""

from ._server import ApiCall, FakeChat, FakeTelegramServer, FakeUser, Fault, SentMessage

__all__ = ["ApiCall", "FakeChat", "FakeTelegramServer", "FakeUser", "Fault", "SentMessage"]
