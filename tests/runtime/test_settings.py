"""load_settings: every variable, its default, and the error for each malformed value."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.runtime.settings import (
    DEFAULT_API_BASE_URL,
    DEFAULT_CRISIS_LINE,
    DEFAULT_EMERGENCY_NUMBER,
    ConfigError,
    load_settings,
)

TOKEN = "123456789:AAF-secret_Key0123456789abcdefghijklmn"
TOKEN_KEY = TOKEN.split(":", 1)[1]
REQUIRED = ("TELEGRAM_BOT_TOKEN", "AFTERGLOW_STAFF_CHAT_ID", "AFTERGLOW_ADMIN_IDS")


@pytest.fixture(autouse=True)
def _in_tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The default database path is relative; keep it away from the project folder.
    monkeypatch.chdir(tmp_path)


def minimal_env() -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "AFTERGLOW_STAFF_CHAT_ID": "-1001234567890",
        "AFTERGLOW_ADMIN_IDS": "42",
    }


def config_error(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    return info.value


def test_all_variables_are_read(tmp_path: Path) -> None:
    protocol_file = tmp_path / "clinic.toml"
    protocol_file.write_text("# a protocol\n", encoding="utf-8")
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
        "AFTERGLOW_STAFF_CHAT_ID": "-1001234567890",
        "AFTERGLOW_ADMIN_IDS": " 11, 22 ,33",
        "AFTERGLOW_TIMEZONE": "Europe/Berlin",
        "AFTERGLOW_DB": str(tmp_path / "clinic.db"),
        "AFTERGLOW_PROTOCOL": str(protocol_file),
        "AFTERGLOW_CRISIS_LINE": "call 0800 111 0 111 (TelefonSeelsorge)",
        "AFTERGLOW_EMERGENCY_NUMBER": "112",
    }

    settings = load_settings(env)

    assert settings.token == TOKEN
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.staff_chat_id == -1001234567890
    assert settings.admin_ids == frozenset({11, 22, 33})
    assert settings.timezone == ZoneInfo("Europe/Berlin")
    assert settings.db_path == tmp_path / "clinic.db"
    assert settings.protocol_path == protocol_file
    assert settings.crisis_line == "call 0800 111 0 111 (TelefonSeelsorge)"
    assert settings.emergency_number == "112"


def test_defaults_for_optional_variables() -> None:
    settings = load_settings(minimal_env())

    assert settings.api_base_url == DEFAULT_API_BASE_URL == "https://api.telegram.org/bot"
    assert settings.db_path == Path("afterglow.db")
    assert settings.timezone == ZoneInfo("UTC")
    assert settings.protocol_path is None
    assert settings.crisis_line == DEFAULT_CRISIS_LINE
    assert settings.emergency_number == DEFAULT_EMERGENCY_NUMBER


def test_blank_optional_variables_mean_defaults() -> None:
    env = minimal_env() | {
        "TELEGRAM_API_BASE_URL": "  ",
        "AFTERGLOW_TIMEZONE": "",
        "AFTERGLOW_DB": " ",
        "AFTERGLOW_PROTOCOL": "",
    }

    settings = load_settings(env)

    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.timezone == ZoneInfo("UTC")
    assert settings.db_path == Path("afterglow.db")
    assert settings.protocol_path is None


def test_surrounding_whitespace_is_ignored() -> None:
    env = minimal_env() | {
        "TELEGRAM_BOT_TOKEN": f"  {TOKEN}\n",
        "AFTERGLOW_STAFF_CHAT_ID": " -5 ",
    }

    settings = load_settings(env)

    assert settings.token == TOKEN
    assert settings.staff_chat_id == -5


@pytest.mark.parametrize("missing", REQUIRED)
@pytest.mark.parametrize("how", ["absent", "empty", "blank"])
def test_each_required_variable_missing_is_named(missing: str, how: str) -> None:
    env = minimal_env()
    if how == "absent":
        del env[missing]
    else:
        env[missing] = "" if how == "empty" else "   "

    err = config_error(env)

    assert err.variable == missing
    assert str(err).startswith(f"{missing}: ")
    # No other required variable is blamed.
    assert all(other not in str(err) for other in REQUIRED if other != missing)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "123456789AAFsecretkey"),
        ("TELEGRAM_BOT_TOKEN", "123456789:AAF secret key"),
        ("TELEGRAM_BOT_TOKEN", "bot:AAFsecretkey"),
        ("TELEGRAM_BOT_TOKEN", "123456789:"),
        ("TELEGRAM_BOT_TOKEN", "123456789:AAF/secret"),
        ("TELEGRAM_API_BASE_URL", "ftp://x"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org/bot"),
        ("TELEGRAM_API_BASE_URL", "https://exa mple.org/bot"),
        ("AFTERGLOW_STAFF_CHAT_ID", "abc"),
        ("AFTERGLOW_STAFF_CHAT_ID", "0"),
        ("AFTERGLOW_STAFF_CHAT_ID", "-0"),
        ("AFTERGLOW_STAFF_CHAT_ID", "12.5"),
        ("AFTERGLOW_ADMIN_IDS", "x"),
        ("AFTERGLOW_ADMIN_IDS", "1,x"),
        ("AFTERGLOW_ADMIN_IDS", "-5"),
        ("AFTERGLOW_ADMIN_IDS", "0"),
        ("AFTERGLOW_ADMIN_IDS", "+5"),
        ("AFTERGLOW_ADMIN_IDS", "1;2"),
        ("AFTERGLOW_ADMIN_IDS", ","),
        ("AFTERGLOW_ADMIN_IDS", " , ,"),
        ("AFTERGLOW_TIMEZONE", "Mars/Base"),
        ("AFTERGLOW_TIMEZONE", "../../etc/passwd"),
        ("AFTERGLOW_TIMEZONE", "CEST"),
        ("AFTERGLOW_CRISIS_LINE", "x" * 201),
        ("AFTERGLOW_EMERGENCY_NUMBER", "1" * 201),
    ],
)
def test_malformed_value_is_rejected_and_named(variable: str, value: str) -> None:
    err = config_error(minimal_env() | {variable: value})

    assert err.variable == variable
    assert str(err).startswith(f"{variable}: ")
    assert err.problem


def test_admin_ids_skip_empty_items() -> None:
    settings = load_settings(minimal_env() | {"AFTERGLOW_ADMIN_IDS": "1,,2,"})

    assert settings.admin_ids == frozenset({1, 2})


def test_admin_ids_error_says_at_least_one_for_empty_list() -> None:
    err = config_error(minimal_env() | {"AFTERGLOW_ADMIN_IDS": ","})

    assert "at least one" in err.problem


def test_unknown_timezone_is_quoted_in_the_error() -> None:
    err = config_error(minimal_env() | {"AFTERGLOW_TIMEZONE": "Mars/Base"})

    assert "'Mars/Base'" in str(err)


def test_crisis_line_of_200_characters_is_accepted() -> None:
    settings = load_settings(minimal_env() | {"AFTERGLOW_CRISIS_LINE": "x" * 200})

    assert settings.crisis_line == "x" * 200


def test_db_pointing_to_a_directory_is_rejected(tmp_path: Path) -> None:
    err = config_error(minimal_env() | {"AFTERGLOW_DB": str(tmp_path)})

    assert err.variable == "AFTERGLOW_DB"
    assert "directory" in err.problem


def test_db_in_a_missing_folder_is_rejected(tmp_path: Path) -> None:
    err = config_error(minimal_env() | {"AFTERGLOW_DB": str(tmp_path / "nope" / "a.db")})

    assert err.variable == "AFTERGLOW_DB"
    assert "does not exist" in err.problem
    assert str(tmp_path / "nope") in err.problem


def test_db_file_need_not_exist_yet(tmp_path: Path) -> None:
    settings = load_settings(minimal_env() | {"AFTERGLOW_DB": str(tmp_path / "new.db")})

    assert settings.db_path == tmp_path / "new.db"


@pytest.mark.parametrize("target", ["missing.toml", "a-folder"])
def test_protocol_must_be_an_existing_file(tmp_path: Path, target: str) -> None:
    (tmp_path / "a-folder").mkdir()

    err = config_error(minimal_env() | {"AFTERGLOW_PROTOCOL": str(tmp_path / target)})

    assert err.variable == "AFTERGLOW_PROTOCOL"
    assert target in err.problem


@pytest.mark.parametrize(
    "overrides",
    [
        {"TELEGRAM_BOT_TOKEN": TOKEN + " trailing words"},
        {"TELEGRAM_BOT_TOKEN": TOKEN.replace(":", "")},
        {"TELEGRAM_BOT_TOKEN": TOKEN + "/"},
        {"TELEGRAM_API_BASE_URL": "ftp://x"},
        {"AFTERGLOW_STAFF_CHAT_ID": "abc"},
        {"AFTERGLOW_ADMIN_IDS": "x"},
        {"AFTERGLOW_TIMEZONE": "Mars/Base"},
        {"AFTERGLOW_DB": "/no/such/folder/a.db"},
        {"AFTERGLOW_PROTOCOL": "/no/such/protocol.toml"},
    ],
)
def test_token_never_appears_in_config_error(overrides: dict[str, str]) -> None:
    err = config_error(minimal_env() | overrides)

    for text in (str(err), repr(err), err.problem):
        assert TOKEN_KEY not in text
        assert TOKEN_KEY[:12] not in text


def test_token_never_appears_in_settings_repr() -> None:
    settings = load_settings(minimal_env())

    assert TOKEN_KEY not in repr(settings)
    assert TOKEN_KEY not in str(settings)
    assert "staff_chat_id=-1001234567890" in repr(settings)


def test_settings_are_immutable() -> None:
    settings = load_settings(minimal_env())

    with pytest.raises(AttributeError):
        settings.token = "1:x"  # type: ignore[misc]


def test_admin_ids_with_superscript_digit_raise_config_error() -> None:
    err = config_error(minimal_env() | {"AFTERGLOW_ADMIN_IDS": "²"})

    assert err.variable == "AFTERGLOW_ADMIN_IDS"
