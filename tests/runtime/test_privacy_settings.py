"""AFTERGLOW_RETENTION_DAYS and AFTERGLOW_DELETE_CLINICAL_RECORD: defaults and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime.application import clinic_of
from bot.runtime.settings import load_settings
from tests.runtime.test_settings import config_error, minimal_env


@pytest.fixture(autouse=True)
def _in_tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_by_default_data_is_kept_and_deletion_deletes_everything() -> None:
    settings = load_settings(minimal_env())
    assert settings.retention_days is None
    assert settings.delete_clinical_record is True
    clinic = clinic_of(settings)
    assert (clinic.retention_days, clinic.delete_clinical_record) == (None, True)


@pytest.mark.parametrize("raw", ["30", "365", " 90 ", "36500"])
def test_a_retention_of_30_days_or_more_is_read(raw: str) -> None:
    settings = load_settings(minimal_env() | {"AFTERGLOW_RETENTION_DAYS": raw})
    assert settings.retention_days == int(raw)
    assert clinic_of(settings).retention_days == int(raw)


@pytest.mark.parametrize(
    "raw", ["29", "0", "-30", "30.5", "a year", "1e3", "36501", "\uff13\uff10"]
)
def test_a_bad_retention_is_one_line(raw: str) -> None:
    error = config_error(minimal_env() | {"AFTERGLOW_RETENTION_DAYS": raw})
    assert error.variable == "AFTERGLOW_RETENTION_DAYS"
    assert "at least" in str(error) or "from 30" in str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("false", False), ("No", False), ("0", False), ("TRUE", True), ("yes", True), ("", True)],
)
def test_deleting_the_clinical_record_is_a_flag(raw: str, expected: bool) -> None:
    settings = load_settings(minimal_env() | {"AFTERGLOW_DELETE_CLINICAL_RECORD": raw})
    assert settings.delete_clinical_record is expected
    assert clinic_of(settings).delete_clinical_record is expected


def test_a_bad_flag_is_one_line() -> None:
    error = config_error(minimal_env() | {"AFTERGLOW_DELETE_CLINICAL_RECORD": "maybe"})
    assert error.variable == "AFTERGLOW_DELETE_CLINICAL_RECORD"
    assert "true or false" in str(error)
