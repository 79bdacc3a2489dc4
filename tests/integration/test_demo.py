"""`afterglow demo`: the shortened story runs in-process and as a command, and shows an alert,
a crisis and a patient going silent, every message in full."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from bot.demo import TOKEN, demo_async
from bot.demo._transcript import STAMP_WIDTH, wrap
from bot.domain.entities import SafetyContacts
from bot.telegram import texts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PROCESS_TIMEOUT = 120


def alert_lines(text: str) -> list[str]:
    """Lines of a transcript that show a mood-decline alert in the staff group."""
    return [
        line
        for line in text.splitlines()
        if "staff group" in line and "\u26a0" in line and "mood decline" in line
    ]


def integrity(db: Path) -> str:
    with closing(sqlite3.connect(db)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def quiet(line: str) -> None:
    """Print nothing."""


def run_command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "bot", "demo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=PROCESS_TIMEOUT,
        check=False,
    )


async def test_demo_writes_transcript_charts_and_database(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    printed: list[str] = []
    code = await demo_async(out, days=14, patients=2, echo=printed.append)
    assert code == 0
    transcript = (out / "transcript.txt").read_text(encoding="utf-8")
    assert alert_lines(transcript), transcript
    assert "Acknowledged by Nurse" in transcript
    assert "pressed [I agree]" in transcript
    assert "How is your mood today?" in transcript
    assert "(Ana)" in transcript
    assert "(Cleo)" in transcript
    # A check-in prompt, in full: its second line and every button.
    assert "0 = worst, 10 = best. Tap a number." in transcript
    assert "[0][1][2][3][4][5][6][7][8][9][10]" in transcript
    assert "bot → staff group: Afterglow " in transcript
    assert " is running: 0 patients, 0 open alerts." in transcript
    charts = sorted(out.glob("*.png"))
    assert charts
    assert all(chart.read_bytes().startswith(PNG_SIGNATURE) for chart in charts)
    assert integrity(out / "afterglow.db") == "ok"
    assert printed[-1] == f"Wrote transcript, {len(charts)} charts and the database to {out}"
    assert transcript.splitlines() == printed[:-1]


async def test_demo_shows_a_crisis_and_a_patient_going_silent(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert await demo_async(out, days=12, patients=2, echo=quiet) == 0
    transcript = (out / "transcript.txt").read_text(encoding="utf-8")

    assert "Ana → bot: I can't see the point any more." in transcript
    reply_start = transcript.index("Thank you for telling me.")
    reply = transcript[reply_start : reply_start + 700]
    assert "call 112 (local emergency services)" in reply
    assert "0800 111 0 111" in reply
    assert "URGENT" in transcript
    assert "Cleo does not answer today." in transcript
    assert "stopped answering" in transcript
    # Round 5's signal classifier reads Cleo's "Sorry, I was away for a few days." after her
    # silence as worth a glance: a review note, not an interruption.
    assert "Alerts raised: 4 (4 acknowledged)" in transcript
    assert "for review (classifier)" in transcript


def test_a_message_is_wrapped_to_the_width_without_losing_words() -> None:
    line = "Mon 02 Mar 08:00  bot → Ana: " + texts.notice(SafetyContacts("call 116 123", "999"))
    wrapped = wrap(line, 60)

    assert len(wrapped) > 1
    assert all(len(part) <= 60 for part in wrapped)
    assert all(part.startswith(" " * STAMP_WIDTH) for part in wrapped[1:])
    assert " ".join(part.strip() for part in wrapped) == line
    assert wrap(line, None) == [line]


async def test_demo_in_a_missing_nested_folder_creates_it(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    assert await demo_async(out, days=12, patients=2, echo=quiet) == 0
    assert (out / "transcript.txt").is_file()


async def test_demo_refuses_bad_arguments(tmp_path: Path) -> None:
    assert await demo_async(tmp_path / "x", days=3, patients=2, echo=quiet) == 2
    assert await demo_async(tmp_path / "y", days=14, patients=40, echo=quiet) == 2
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "y").exists()


def test_demo_command_prints_the_story_with_an_alert(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_command("--days", "14", "--patients", "2", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert alert_lines(result.stdout), result.stdout
    assert f"and the database to {out}" in result.stdout
    assert "Alerts raised: 4 (4 acknowledged)" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    assert " INFO " not in result.stderr
    assert (out / "afterglow.db").is_file()


def test_demo_command_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    out = tmp_path / "used"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    result = run_command("--out", str(out), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
