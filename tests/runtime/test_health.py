"""`afterglow check`: the crisis contacts it prints, and the live check's heartbeat going stale."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.clock import ManualClock
from bot.runtime.application import build_application
from bot.runtime.health import DISPATCH_EVERY, STALE_AFTER, heartbeat_line, run_check
from storage import DatabaseReport, Storage, inspect_database
from tests.conftest import START

TOKEN = "123456789:AAF-secret_Key0123456789abcdefghijklmn"


def env(db: Path, **values: str) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "AFTERGLOW_STAFF_CHAT_ID": "-1001234567890",
        "AFTERGLOW_ADMIN_IDS": "42",
        "AFTERGLOW_DB": str(db),
        **values,
    }


def checked(values: dict[str, str], *, live: bool = False, now_offset: float = 0.0):
    lines: list[str] = []
    code = run_check(
        values, live=live, echo=lines.append, now=START + timedelta(seconds=now_offset)
    )
    return code, lines


def test_three_ticks_are_three_of_the_running_bots_dispatcher_intervals() -> None:
    interval = inspect.signature(build_application).parameters["dispatch_interval"].default
    assert interval == DISPATCH_EVERY
    assert 3 * interval == STALE_AFTER


async def test_the_heartbeat_goes_stale_after_three_ticks(
    storage: Storage, clock: ManualClock
) -> None:
    await storage.clinic.record_heartbeat(clock.now())
    report = inspect_database(storage.database.path)
    assert report.heartbeat == START

    fresh, ok = heartbeat_line(report, START + timedelta(seconds=STALE_AFTER))
    assert ok, fresh
    stale, ok = heartbeat_line(report, START + timedelta(seconds=STALE_AFTER + 1))
    assert not ok
    assert stale.startswith("dispatcher: ERROR last pass 91 s ago")


def test_an_instance_on_this_host_is_judged_by_its_own_sign_of_work() -> None:
    """Several instances share the heartbeat: a hung one must not pass on the others'."""
    report = DatabaseReport(True, 17, 17, "ok", 0, heartbeat=START, instances=2, seen_here=START)
    fresh, ok = heartbeat_line(report, START + timedelta(seconds=STALE_AFTER))
    assert ok, fresh
    assert fresh.startswith("instance: ok")
    hung = replace(report, heartbeat=START + timedelta(seconds=STALE_AFTER))
    stale, ok = heartbeat_line(hung, START + timedelta(seconds=STALE_AFTER + 1))
    assert not ok
    assert stale.startswith("instance: ERROR this host's instance last worked 91 s ago")


async def test_live_check_passes_while_passes_run_and_fails_when_they_stop(
    storage: Storage, clock: ManualClock
) -> None:
    db = storage.database.path
    await storage.clinic.record_heartbeat(clock.now())

    code, lines = checked(env(db), live=True, now_offset=30)
    assert code == 0, lines
    assert "dispatcher: ok (last pass 30 s ago)" in lines

    code, lines = checked(env(db), live=True, now_offset=120)
    assert code == 1
    assert any(line.startswith("dispatcher: ERROR") for line in lines)

    clock.advance(timedelta(seconds=120))
    await storage.clinic.record_heartbeat(clock.now())
    code, _ = checked(env(db), live=True, now_offset=125)
    assert code == 0


def test_live_check_fails_without_any_pass_or_with_an_unreadable_database(
    tmp_path: Path,
) -> None:
    code, lines = checked(env(tmp_path / "never-started.db"), live=True)
    assert code == 1
    assert "dispatcher: ERROR no pass recorded" in lines[-1]

    broken = tmp_path / "broken.db"
    broken.write_bytes(b"garbage, not SQLite " * 300)
    code, lines = checked(env(broken), live=True)
    assert code == 1
    assert any(line.startswith("database: ERROR") for line in lines)


def test_without_live_a_missing_heartbeat_is_fine(tmp_path: Path) -> None:
    code, lines = checked(env(tmp_path / "fresh.db"))
    assert code == 0, lines
    assert not any(line.startswith("dispatcher") for line in lines)


@pytest.mark.parametrize(
    ("values", "emergency", "line_part", "source"),
    [
        ({}, "911", "988", "the US defaults"),
        (
            {"AFTERGLOW_COUNTRY": "GB", "AFTERGLOW_TIMEZONE": "Europe/London"},
            "999",
            "116 123",
            "AFTERGLOW_COUNTRY=GB",
        ),
    ],
)
def test_check_prints_what_patients_are_told_in_a_crisis(
    tmp_path: Path, values: dict[str, str], emergency: str, line_part: str, source: str
) -> None:
    code, lines = checked(env(tmp_path / "a.db", **values))

    assert code == 0, lines
    text = "\n".join(lines)
    assert f"crisis contacts: from {source}" in text
    assert f"  emergency number: {emergency}\n" in text
    assert line_part in text
    told = " ".join(line.removeprefix("  | ") for line in lines if line.startswith("  | "))
    assert f"call {emergency} now" in told or f"call {emergency} " in told
    assert line_part in told


def test_check_refuses_us_defaults_outside_the_us(tmp_path: Path) -> None:
    code, lines = checked(env(tmp_path / "a.db", AFTERGLOW_TIMEZONE="Europe/Berlin"))

    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(
        "configuration: ERROR AFTERGLOW_CRISIS_LINE and AFTERGLOW_EMERGENCY_NUMBER"
    )
