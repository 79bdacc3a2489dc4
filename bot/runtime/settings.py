"""Configuration from the environment, validated once at start-up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.errors import AfterglowError

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_CRISIS_LINE = "call or text 988 (Suicide & Crisis Lifeline, US)"
DEFAULT_EMERGENCY_NUMBER = "911"
_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")
_PUBLIC_URL = re.compile(r"https://[^\s/]+(/\S*)?")
_BASE_URL = re.compile(r"https?://[^\s/]+(/\S*)?")


class ConfigError(AfterglowError):
    """A configuration value is missing or malformed."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Where Telegram delivers updates in webhook mode, and the secret it must present."""

    url: str
    secret: str = field(repr=False)
    # Behind a reverse proxy on the same host; set AFTERGLOW_WEBHOOK_LISTEN to open it wider.
    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "telegram"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything Afterglow reads from its environment."""

    token: str = field(repr=False)
    staff_chat_id: int
    admin_ids: frozenset[int]
    api_base_url: str = DEFAULT_API_BASE_URL
    db_path: Path = Path("afterglow.db")
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    protocol_path: Path | None = None
    crisis_line: str = DEFAULT_CRISIS_LINE
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER
    log_json: bool = False
    content_dir: Path | None = None


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(name, "is required but not set")
    return value


def _chat_id(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a whole-number Telegram chat id, got {raw!r}") from None
    if value == 0:
        raise ConfigError(name, "must be a non-zero Telegram chat id")
    return value


def _admin_ids(name: str, raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in raw.split(","):
        item = part.strip()
        if not item:
            continue
        if not _DIGITS.fullmatch(item) or int(item) <= 0:
            raise ConfigError(
                name, f"must be comma-separated positive Telegram user ids, got {item!r}"
            )
        ids.add(int(item))
    if not ids:
        raise ConfigError(name, "must list at least one Telegram user id")
    return frozenset(ids)


def load_webhook_settings(env: Mapping[str, str]) -> WebhookSettings:
    """Read the webhook-mode settings, raising ConfigError on the first problem."""
    url = _required(env, "AFTERGLOW_WEBHOOK_URL")
    if not _PUBLIC_URL.fullmatch(url):
        raise ConfigError(
            "AFTERGLOW_WEBHOOK_URL", "must be the public https:// URL Telegram posts updates to"
        )
    secret = _required(env, "AFTERGLOW_WEBHOOK_SECRET")
    if not _SECRET.fullmatch(secret):
        raise ConfigError(
            "AFTERGLOW_WEBHOOK_SECRET", "must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -"
        )
    listen = env.get("AFTERGLOW_WEBHOOK_LISTEN", "").strip() or "127.0.0.1"
    port_raw = env.get("AFTERGLOW_WEBHOOK_PORT", "").strip() or "8443"
    if not _DIGITS.fullmatch(port_raw) or not 1 <= int(port_raw) <= 65535:
        raise ConfigError("AFTERGLOW_WEBHOOK_PORT", f"must be a port number, got {port_raw!r}")
    path = url.split("://", 1)[1].partition("/")[2].strip("/") or "telegram"
    return WebhookSettings(url=url, secret=secret, listen=listen, port=int(port_raw), path=path)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables, raising ConfigError on the first problem."""
    token = _required(env, "TELEGRAM_BOT_TOKEN")
    if not _TOKEN.fullmatch(token):
        # Never echo the token, not even a malformed one.
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN", "does not look like a bot token ('<digits>:<key>')"
        )
    base_url = env.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL
    if not _BASE_URL.fullmatch(base_url):
        raise ConfigError(
            "TELEGRAM_API_BASE_URL", f"must be an http(s) URL such as {DEFAULT_API_BASE_URL}"
        )
    staff_chat_id = _chat_id("AFTERGLOW_STAFF_CHAT_ID", _required(env, "AFTERGLOW_STAFF_CHAT_ID"))
    admin_ids = _admin_ids("AFTERGLOW_ADMIN_IDS", _required(env, "AFTERGLOW_ADMIN_IDS"))
    timezone = _timezone(env)
    db_path = _db_path(env)
    protocol_path = _optional_path(env, "AFTERGLOW_PROTOCOL", folder=False)
    crisis_line, emergency = _contacts(env)
    content_dir = _optional_path(env, "AFTERGLOW_CONTENT_DIR", folder=True)
    log_format = env.get("AFTERGLOW_LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in {"text", "json"}:
        raise ConfigError("AFTERGLOW_LOG_FORMAT", f"must be 'text' or 'json', got {log_format!r}")
    return Settings(
        token=token,
        staff_chat_id=staff_chat_id,
        admin_ids=admin_ids,
        api_base_url=base_url,
        db_path=db_path,
        timezone=timezone,
        protocol_path=protocol_path,
        crisis_line=crisis_line,
        emergency_number=emergency,
        log_json=log_format == "json",
        content_dir=content_dir,
    )


def _timezone(env: Mapping[str, str]) -> ZoneInfo:
    name = env.get("AFTERGLOW_TIMEZONE", "").strip() or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "AFTERGLOW_TIMEZONE", f"unknown IANA time zone {name!r} (e.g. Europe/Berlin)"
        ) from None


def _db_path(env: Mapping[str, str]) -> Path:
    raw = env.get("AFTERGLOW_DB", "").strip() or "afterglow.db"
    path = Path(raw)
    if path.is_dir():
        raise ConfigError("AFTERGLOW_DB", f"{raw!r} is a directory, not a database file")
    if not path.parent.exists():
        raise ConfigError("AFTERGLOW_DB", f"folder {str(path.parent)!r} does not exist")
    return path


def _optional_path(env: Mapping[str, str], name: str, *, folder: bool) -> Path | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    path = Path(raw)
    if folder and not path.is_dir():
        raise ConfigError(name, f"folder {raw!r} does not exist")
    if not folder and not path.is_file():
        raise ConfigError(name, f"file {raw!r} does not exist")
    return path


def _contacts(env: Mapping[str, str]) -> tuple[str, str]:
    crisis_line = env.get("AFTERGLOW_CRISIS_LINE", "").strip() or DEFAULT_CRISIS_LINE
    emergency = env.get("AFTERGLOW_EMERGENCY_NUMBER", "").strip() or DEFAULT_EMERGENCY_NUMBER
    for name, value in (
        ("AFTERGLOW_CRISIS_LINE", crisis_line),
        ("AFTERGLOW_EMERGENCY_NUMBER", emergency),
    ):
        if len(value) > 200:
            raise ConfigError(name, "must be at most 200 characters")
    return crisis_line, emergency
