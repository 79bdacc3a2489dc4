"""Crisis contacts: the country table, explicit values winning, and the refusal outside the US."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime.countries import COUNTRIES, country_contacts, outside_us
from bot.runtime.settings import (
    DEFAULT_CRISIS_LINE,
    DEFAULT_EMERGENCY_NUMBER,
    ConfigError,
    load_settings,
)

TOKEN = "123456789:AAF-secret_Key0123456789abcdefghijklmn"


@pytest.fixture(autouse=True)
def _in_tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def env(**values: str) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "AFTERGLOW_STAFF_CHAT_ID": "-1001234567890",
        "AFTERGLOW_ADMIN_IDS": "42",
        **values,
    }


def refused(values: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(values)
    return info.value


@pytest.mark.parametrize(
    ("code", "emergency", "line_part"),
    [
        ("GB", "999", "116 123"),
        ("UK", "999", "Samaritans"),
        ("IE", "112 or 999", "116 123"),
        ("DE", "112", "0800 111 0 111"),
        ("FR", "112 or 15", "3114"),
        ("NL", "112", "0800-0113"),
        ("AU", "000", "13 11 14"),
        ("CA", "911", "988"),
        ("US", "911", "988"),
        ("de", "112", "TelefonSeelsorge"),
    ],
)
def test_a_country_sets_both_contacts(code: str, emergency: str, line_part: str) -> None:
    settings = load_settings(env(AFTERGLOW_COUNTRY=code, AFTERGLOW_TIMEZONE="Europe/Berlin"))

    assert settings.emergency_number == emergency
    assert line_part in settings.crisis_line
    assert settings.contacts_from.startswith(f"AFTERGLOW_COUNTRY={code.upper()}")


def test_every_entry_fits_the_bots_sentences() -> None:
    for code, contacts in COUNTRIES.items():
        assert len(code) == 2
        assert code.isupper()
        assert contacts.crisis_line.startswith("call"), code
        assert any(ch.isdigit() for ch in contacts.emergency_number), code
        assert country_contacts(code.lower()) is contacts
    assert country_contacts("UK") is COUNTRIES["GB"]
    assert country_contacts("XX") is None


def test_canada_is_not_told_about_the_us_lifeline() -> None:
    settings = load_settings(env(AFTERGLOW_COUNTRY="CA", AFTERGLOW_TIMEZONE="America/Toronto"))

    assert "Canada" in settings.crisis_line
    assert "US" not in settings.crisis_line


def test_explicit_values_win_over_the_country() -> None:
    settings = load_settings(
        env(
            AFTERGLOW_COUNTRY="DE",
            AFTERGLOW_CRISIS_LINE="call 030 123 (our clinic's line)",
            AFTERGLOW_TIMEZONE="Europe/Berlin",
        )
    )

    assert settings.crisis_line == "call 030 123 (our clinic's line)"
    assert settings.emergency_number == "112"
    assert settings.contacts_from.startswith("AFTERGLOW_CRISIS_LINE, the other from")


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Europe/London", "America/Toronto"])
def test_us_defaults_outside_the_us_are_refused_naming_both_variables(zone: str) -> None:
    err = refused(env(AFTERGLOW_TIMEZONE=zone))

    message = str(err)
    assert message.startswith("AFTERGLOW_CRISIS_LINE and AFTERGLOW_EMERGENCY_NUMBER:")
    assert zone in message
    assert "AFTERGLOW_COUNTRY" in message
    assert "911" in message
    assert "988" in message


def test_one_value_left_at_the_us_default_outside_the_us_is_refused() -> None:
    err = refused(env(AFTERGLOW_TIMEZONE="Europe/Paris", AFTERGLOW_CRISIS_LINE="call 3114"))

    assert err.variable == "AFTERGLOW_EMERGENCY_NUMBER"
    assert "911" in err.problem


def test_both_explicit_values_outside_the_us_are_accepted() -> None:
    settings = load_settings(
        env(
            AFTERGLOW_TIMEZONE="Europe/Berlin",
            AFTERGLOW_CRISIS_LINE="call 0800 111 0 111",
            AFTERGLOW_EMERGENCY_NUMBER="112",
        )
    )

    assert (settings.crisis_line, settings.emergency_number) == ("call 0800 111 0 111", "112")


@pytest.mark.parametrize(
    "zone", ["America/New_York", "America/Indiana/Knox", "Pacific/Honolulu", "US/Eastern", "UTC"]
)
def test_us_defaults_stay_where_they_fit(zone: str) -> None:
    settings = load_settings(env(AFTERGLOW_TIMEZONE=zone))

    assert settings.crisis_line == DEFAULT_CRISIS_LINE
    assert settings.emergency_number == DEFAULT_EMERGENCY_NUMBER
    assert settings.contacts_from == "the US defaults"


def test_an_unknown_country_is_named_with_the_known_ones() -> None:
    err = refused(env(AFTERGLOW_COUNTRY="Atlantis"))

    assert err.variable == "AFTERGLOW_COUNTRY"
    assert "'Atlantis'" in err.problem
    assert "DE" in err.problem
    assert "AFTERGLOW_CRISIS_LINE" in err.problem


@pytest.mark.parametrize(
    ("zone", "outside"),
    [
        ("Europe/Berlin", True),
        ("America/Mexico_City", True),
        ("America/Puerto_Rico", True),
        ("America/Chicago", False),
        ("America/Kentucky/Louisville", False),
        ("Etc/GMT+5", False),
        ("UTC", False),
    ],
)
def test_which_zones_are_outside_the_us(zone: str, outside: bool) -> None:
    assert outside_us(zone) is outside
