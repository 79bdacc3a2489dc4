"""Configuration from the environment, validated once at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.errors import AfterglowError
from bot.runtime.countries import US_CONTACTS, country_contacts, known_countries, outside_us
from storage import DatabaseUrlError, postgres_url

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_CRISIS_LINE = US_CONTACTS.crisis_line
DEFAULT_EMERGENCY_NUMBER = US_CONTACTS.emergency_number
DEFAULT_BACKUP_KEEP = 7
# Telegram allows about 30 messages a second overall. Under a strict one-second window a
# send that arrives a little late bunches with the next one, so leave 5% for that jitter.
DEFAULT_SEND_RATE = 28.5
# A bot with Telegram's paid broadcasts enabled may send up to 1,000 a second.
MAX_SEND_RATE = 1000.0
MAX_BACKUP_KEEP = 365
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 36500
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
    # Where the crisis contacts came from, as `afterglow check` reports it.
    contacts_from: str = "the US defaults"
    backup_dir: Path | None = None
    backup_keep: int = DEFAULT_BACKUP_KEEP
    # Days check-in data is kept (None: for ever), and whether /deletemydata also deletes the
    # clinical record (infusions, scores) or keeps it under the pseudonymous code.
    retention_days: int | None = None
    delete_clinical_record: bool = True
    # AFTERGLOW_DATABASE_URL: a postgresql:// URL (which may carry a password) instead of
    # the SQLite file; several instances may then share it.
    database_url: str | None = field(default=None, repr=False)
    # Messages per second for check-ins and other bulk sending (AFTERGLOW_SEND_RATE).
    send_rate: float = DEFAULT_SEND_RATE

    @property
    def database(self) -> Path | str:
        """Where the data lives: the PostgreSQL URL if one is set, else the SQLite file."""
        return self.database_url if self.database_url is not None else self.db_path

    @property
    def database_shown(self) -> str:
        """The database as it may be printed: a URL without its password, or the file."""
        if self.database_url is None:
            return str(self.db_path)
        return postgres_url(self.database_url).render_as_string(hide_password=True)


@dataclass(frozen=True, slots=True)
class SetupSettings:
    """What `afterglow setup` needs: the token, and the ids it may already have."""

    token: str = field(repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    admin_ids: frozenset[int] = frozenset()
    staff_chat_id: int | None = None


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


def _token_and_url(env: Mapping[str, str]) -> tuple[str, str]:
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
    return token, base_url


def load_setup_settings(env: Mapping[str, str]) -> SetupSettings:
    """Read what `afterglow setup` needs: a token; admin ids and the staff chat if set."""
    token, base_url = _token_and_url(env)
    admins_raw = env.get("AFTERGLOW_ADMIN_IDS", "").strip()
    chat_raw = env.get("AFTERGLOW_STAFF_CHAT_ID", "").strip()
    return SetupSettings(
        token=token,
        api_base_url=base_url,
        admin_ids=_admin_ids("AFTERGLOW_ADMIN_IDS", admins_raw) if admins_raw else frozenset(),
        staff_chat_id=_chat_id("AFTERGLOW_STAFF_CHAT_ID", chat_raw) if chat_raw else None,
    )


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables, raising ConfigError on the first problem."""
    token, base_url = _token_and_url(env)
    staff_chat_id = _chat_id("AFTERGLOW_STAFF_CHAT_ID", _required(env, "AFTERGLOW_STAFF_CHAT_ID"))
    admin_ids = _admin_ids("AFTERGLOW_ADMIN_IDS", _required(env, "AFTERGLOW_ADMIN_IDS"))
    timezone = _timezone(env)
    db_path = _db_path(env)
    database_url = _database_url(env)
    protocol_path = _optional_path(env, "AFTERGLOW_PROTOCOL", folder=False)
    crisis_line, emergency, contacts_from = _contacts(env, timezone)
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
        contacts_from=contacts_from,
        backup_dir=_backup_dir(env, postgres=database_url is not None),
        backup_keep=_backup_keep(env),
        retention_days=_retention_days(env),
        delete_clinical_record=_flag(env, "AFTERGLOW_DELETE_CLINICAL_RECORD", default=True),
        database_url=database_url,
        send_rate=_send_rate(env),
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


def _send_rate(env: Mapping[str, str]) -> float:
    raw = env.get("AFTERGLOW_SEND_RATE", "").strip()
    if not raw:
        return DEFAULT_SEND_RATE
    try:
        rate = float(raw)
    except ValueError:
        rate = float("nan")
    if not 1.0 <= rate <= MAX_SEND_RATE:
        raise ConfigError(
            "AFTERGLOW_SEND_RATE",
            f"messages per second, 1 to {MAX_SEND_RATE:g} (above about 30 only with"
            f" Telegram's paid broadcasts), got {raw!r}",
        )
    return rate


def _database_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("AFTERGLOW_DATABASE_URL", "").strip()
    if not raw:
        return None
    try:
        postgres_url(raw)
    except DatabaseUrlError as err:
        raise ConfigError("AFTERGLOW_DATABASE_URL", str(err)) from None
    return raw


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


def _contacts(env: Mapping[str, str], timezone: ZoneInfo) -> tuple[str, str, str]:
    """Return the crisis line, the emergency number and where they came from.

    Explicit values win over AFTERGLOW_COUNTRY, which wins over the US defaults. Outside
    the US a value left at its US default is refused: patients would be told to call 911
    or 988 where neither may answer.
    """
    country_raw = env.get("AFTERGLOW_COUNTRY", "").strip()
    base, source = US_CONTACTS, "the US defaults"
    if country_raw:
        found = country_contacts(country_raw)
        if found is None:
            raise ConfigError(
                "AFTERGLOW_COUNTRY",
                f"no vetted crisis contacts for {country_raw!r} (known: {known_countries()});"
                " set AFTERGLOW_CRISIS_LINE and AFTERGLOW_EMERGENCY_NUMBER instead",
            )
        base, source = found, f"AFTERGLOW_COUNTRY={country_raw.upper()} ({found.name})"
    given_line = env.get("AFTERGLOW_CRISIS_LINE", "").strip()
    given_number = env.get("AFTERGLOW_EMERGENCY_NUMBER", "").strip()
    if not country_raw and outside_us(timezone.key):
        _refuse_us_defaults(timezone, line_given=bool(given_line), number_given=bool(given_number))
    if given_line and given_number:
        source = "AFTERGLOW_CRISIS_LINE and AFTERGLOW_EMERGENCY_NUMBER"
    elif given_line or given_number:
        given = "AFTERGLOW_CRISIS_LINE" if given_line else "AFTERGLOW_EMERGENCY_NUMBER"
        source = f"{given}, the other from {source}"
    crisis_line = given_line or base.crisis_line
    emergency = given_number or base.emergency_number
    for name, value in (
        ("AFTERGLOW_CRISIS_LINE", crisis_line),
        ("AFTERGLOW_EMERGENCY_NUMBER", emergency),
    ):
        if len(value) > 200:
            raise ConfigError(name, "must be at most 200 characters")
    return crisis_line, emergency, source


def _refuse_us_defaults(timezone: ZoneInfo, *, line_given: bool, number_given: bool) -> None:
    """Refuse a crisis line or emergency number left at the US default outside the US."""
    left = [
        (name, default)
        for name, default, given in (
            ("AFTERGLOW_CRISIS_LINE", "988", line_given),
            ("AFTERGLOW_EMERGENCY_NUMBER", DEFAULT_EMERGENCY_NUMBER, number_given),
        )
        if not given
    ]
    if not left:
        return
    verb = "is" if len(left) == 1 else "are"
    shown = " and ".join(default for _, default in left)
    raise ConfigError(
        " and ".join(name for name, _ in left),
        f"{verb} left at the US default ({shown}) but the time zone {timezone.key} is outside"
        f" the United States: set AFTERGLOW_COUNTRY ({known_countries()}) or both"
        " AFTERGLOW_CRISIS_LINE and AFTERGLOW_EMERGENCY_NUMBER",
    )


def _backup_dir(env: Mapping[str, str], *, postgres: bool) -> Path | None:
    raw = env.get("AFTERGLOW_BACKUP_DIR", "").strip()
    if not raw:
        return None
    if postgres:
        raise ConfigError(
            "AFTERGLOW_BACKUP_DIR",
            "backs up the SQLite file; with AFTERGLOW_DATABASE_URL use PostgreSQL's own"
            " backups (pg_dump, point-in-time recovery) and leave it unset",
        )
    path = Path(raw)
    if path.exists() and not path.is_dir():
        raise ConfigError("AFTERGLOW_BACKUP_DIR", f"{raw!r} exists and is not a folder")
    if not path.exists() and not path.parent.is_dir():
        raise ConfigError("AFTERGLOW_BACKUP_DIR", f"neither {raw!r} nor its parent folder exist")
    writable = path if path.exists() else path.parent
    if not os.access(writable, os.W_OK | os.X_OK):
        raise ConfigError("AFTERGLOW_BACKUP_DIR", f"folder {str(writable)!r} is not writable")
    return path


def _backup_keep(env: Mapping[str, str]) -> int:
    raw = env.get("AFTERGLOW_BACKUP_KEEP", "").strip() or str(DEFAULT_BACKUP_KEEP)
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_BACKUP_KEEP:
        raise ConfigError(
            "AFTERGLOW_BACKUP_KEEP",
            f"must be a whole number of copies from 1 to {MAX_BACKUP_KEEP}, got {raw!r}",
        )
    return int(raw)


def _retention_days(env: Mapping[str, str]) -> int | None:
    raw = env.get("AFTERGLOW_RETENTION_DAYS", "").strip()
    if not raw:
        return None
    if not _DIGITS.fullmatch(raw) or not MIN_RETENTION_DAYS <= int(raw) <= MAX_RETENTION_DAYS:
        raise ConfigError(
            "AFTERGLOW_RETENTION_DAYS",
            f"must be a whole number of days from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}"
            f" (unset: keep for ever), got {raw!r}",
        )
    return int(raw)


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(name, f"must be true or false, got {raw!r}")
