"""The synthetic cohort, its CSV format, the evaluation and the two CLI subcommands."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from bot.research.ceiling import _ceiling_delays, oracle_ceiling
from bot.research.cohort import (
    PLAN_DAYS,
    CohortFormatError,
    CohortRow,
    Relapse,
    RowKind,
    Segment,
    read_cohort_csv,
    simulate_cohort,
    write_cohort_csv,
)
from bot.research.cohort_format import OFFERED, SCORED
from bot.research.evaluation import evaluate_cohort, evaluate_rows, format_report
from bot.runtime.content import load_protocol

KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "PYTHONPATH")
LAST_LINE = re.compile(
    r"sensitivity=(0\.\d{3}|1\.000) false_alerts_per_patient_month=\d+\.\d{3}"
    r" median_delay_days=(\d+\.\d{3}|nan) extra_checkin_share=\d+\.\d{3}"
)


def afterglow(
    *args: str, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot` with a minimal environment."""
    env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def by_patient(rows: list[CohortRow]) -> dict[str, list[CohortRow]]:
    """Group rows by patient, keeping their order."""
    grouped: dict[str, list[CohortRow]] = defaultdict(list)
    for row in rows:
        grouped[row.patient].append(row)
    return grouped


@pytest.fixture(scope="module")
def cohort() -> list[CohortRow]:
    """Return a 200-patient cohort."""
    return simulate_cohort(200, 11)


# The simulator -------------------------------------------------------------------------


def test_same_seed_same_cohort_and_smaller_cohorts_are_prefixes() -> None:
    rows = simulate_cohort(20, 7)

    assert simulate_cohort(20, 7) == rows
    assert simulate_cohort(20, 8) != rows
    five = simulate_cohort(5, 7)
    assert five == [row for row in rows if row.patient in {r.patient for r in five}]


def test_patients_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        simulate_cohort(0, 1)


def test_rows_are_well_formed(cohort: list[CohortRow]) -> None:
    for rows in by_patient(cohort).values():
        assert rows[0].kind is RowKind.INFUSION
        assert [row.day for row in rows] == sorted(row.day for row in rows)
        for row in rows:
            assert row.day >= 0
            if row.kind in SCORED:
                assert row.value is not None
                assert 0 <= row.value <= 10
            else:
                assert row.value is None


def test_ground_truth_and_variety_are_present(cohort: list[CohortRow]) -> None:
    patients = by_patient(cohort)
    onsets = {
        p for p, rows in patients.items() if any(r.kind is RowKind.RELAPSE_ONSET for r in rows)
    }
    missed = {p for p, rows in patients.items() if any(r.kind is RowKind.MISSED for r in rows)}
    series = [sum(r.kind is RowKind.INFUSION for r in rows) for rows in patients.values()]

    assert 0.5 < len(onsets) / len(patients) < 0.9
    assert len(missed) > 0.8 * len(patients)
    assert min(series) >= 4
    assert max(series) > 6


def test_relapse_comes_about_18_days_after_the_infusion_before_it(
    cohort: list[CohortRow],
) -> None:
    delays = []
    for rows in by_patient(cohort).values():
        last_infusion = None
        for row in rows:
            if row.kind is RowKind.INFUSION:
                last_infusion = row.day
            elif row.kind is RowKind.RELAPSE_ONSET:
                assert last_infusion is not None
                delays.append(row.day - last_infusion)

    assert 14 < sum(delays) / len(delays) < 23


def test_check_ins_follow_the_default_plan(cohort: list[CohortRow]) -> None:
    assert load_protocol().days == PLAN_DAYS
    for rows in list(by_patient(cohort).values())[:30]:
        infusion = None
        hours = set()
        for row in rows:
            if row.kind is RowKind.INFUSION:
                infusion = row.day
            elif row.kind is RowKind.MISSED:
                assert infusion is not None
                plan_day = math.floor(row.day) - math.floor(infusion)
                assert plan_day in PLAN_DAYS
                hours.add(round((row.day % 1) * 24, 2))
        assert len(hours) <= 1


def test_offered_rows_fill_the_days_the_plan_leaves_out_at_the_usual_hour(
    cohort: list[CohortRow],
) -> None:
    for rows in list(by_patient(cohort).values())[:30]:
        infusion = None
        hours = set()
        offered_days: list[int] = []
        for row in rows:
            if row.kind is RowKind.INFUSION:
                infusion = row.day
            elif row.kind in OFFERED:
                assert infusion is not None
                plan_day = math.floor(row.day) - math.floor(infusion)
                assert plan_day not in PLAN_DAYS
                assert 1 <= plan_day <= PLAN_DAYS[-1]
                offered_days.append(plan_day)
                hours.add(round((row.day % 1) * 24, 2))
        assert len(hours) == 1
        assert len(offered_days) >= 20


def test_offered_rows_leave_the_planned_rows_as_they_were() -> None:
    with_offered = simulate_cohort(40, 9)
    without = simulate_cohort(40, 9, offered=False)

    assert [row for row in with_offered if row.kind not in OFFERED] == without
    assert not any(row.kind in OFFERED for row in without)


def test_offered_answers_look_like_planned_ones(cohort: list[CohortRow]) -> None:
    """Same patients, same noise process: the means of planned and offered answers agree."""
    planned = [row.value for row in cohort if row.kind is RowKind.MOOD and row.value is not None]
    offered = [
        row.value for row in cohort if row.kind is RowKind.OFFERED_MOOD and row.value is not None
    ]
    missed = sum(row.kind is RowKind.MISSED for row in cohort) / len(planned)
    offered_missed = sum(row.kind is RowKind.OFFERED_MISSED for row in cohort) / len(offered)

    assert abs(sum(planned) / len(planned) - sum(offered) / len(offered)) < 0.6
    assert 0.5 < offered_missed / missed < 2


def test_csv_round_trip(tmp_path: Path) -> None:
    rows = simulate_cohort(10, 3)
    path = tmp_path / "cohort.csv"

    write_cohort_csv(rows, path)

    assert path.read_text(encoding="utf-8").splitlines()[0] == "patient,day,kind,value"
    back = read_cohort_csv(path)
    assert [(r.patient, r.kind, r.value) for r in back] == [
        (r.patient, r.kind, r.value) for r in rows
    ]
    assert all(abs(a.day - b.day) < 1e-4 for a, b in zip(back, rows, strict=True))


# Reading malformed CSV -----------------------------------------------------------------

GOOD = "patient,day,kind,value\nP1,0.5,infusion,\nP1,1.75,mood,7\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "first line"),
        ("patient,day,kind\n", 1, "first line"),
        (GOOD + "P1,2.75,mood,11\n", 4, "mood value"),
        (GOOD + "P1,2.75,mood,\n", 4, "mood value"),
        (GOOD + "P1,2.75,happy,\n", 4, "kind 'happy'"),
        (GOOD + "P1,soon,missed,\n", 4, "not a number"),
        (GOOD + "P1,nan,missed,\n", 4, "finite"),
        (GOOD + "P1,2.75,missed,3\n", 4, "no value"),
        (GOOD + "P1,2.75,missed\n", 4, "4 fields"),
        (GOOD + ",2.75,missed,\n", 4, "empty patient"),
        ("patient,day,kind,value\nP1,1,mood,x\n" + GOOD, 2, "mood value"),
    ],
)
def test_malformed_line_is_named(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(CohortFormatError, match=f":{line}: .*{re.escape(words)}"):
        evaluate_cohort(path)


def test_header_only_and_bad_bytes_are_format_errors(tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("patient,day,kind,value\n", encoding="utf-8")
    bad_bytes = tmp_path / "bytes.csv"
    bad_bytes.write_bytes(GOOD.encode() + b"P1,2.75,mood,\xff\n")

    with pytest.raises(CohortFormatError, match=":2: no rows"):
        read_cohort_csv(header_only)
    with pytest.raises(CohortFormatError, match=":4: not UTF-8"):
        read_cohort_csv(bad_bytes)


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(CohortFormatError, match="cannot read"):
        read_cohort_csv(tmp_path / "absent.csv")


# Evaluation ----------------------------------------------------------------------------


def test_scores_a_hand_made_cohort() -> None:
    def row(day: float, kind: RowKind, value: int | None = None) -> CohortRow:
        return CohortRow("P1", day, kind, value)

    rows = [
        row(0.4, RowKind.INFUSION),
        *[row(d + 0.75, RowKind.MOOD, 8) for d in range(1, 6)],
        row(6.0, RowKind.RELAPSE_ONSET),
        row(6.75, RowKind.MOOD, 6),
        row(7.75, RowKind.MOOD, 4),
        row(8.75, RowKind.MOOD, 4),
        *[row(d + 0.75, RowKind.MOOD, 4) for d in range(9, 30)],
        # A second patient: stable, then one low day the naive rule takes for a relapse.
        CohortRow("P2", 0.4, RowKind.INFUSION),
        *[CohortRow("P2", d + 0.75, RowKind.MOOD, 7) for d in range(1, 28)],
        CohortRow("P2", 28.75, RowKind.MOOD, 3),
        CohortRow("P2", 29.75, RowKind.MOOD, 7),
    ]

    report = evaluate_rows(rows)

    assert report.patients == 2
    assert report.onsets == 1
    assert report.patient_months == pytest.approx((29.75 - 0.4) * 2 / 30)
    assert report.detector.detected == 1
    assert list(report.detector.delays) == pytest.approx([1.75])
    assert report.detector.false_alerts == 0
    assert report.naive.detected == 1
    assert list(report.naive.delays) == pytest.approx([1.75])
    assert report.naive.false_alerts == 1
    assert report.naive.late_false_alerts == 0
    assert format_report(report).splitlines()[-1] == (
        "sensitivity=1.000 false_alerts_per_patient_month=0.000 median_delay_days=1.750"
        " extra_checkin_share=0.000"
    )


def test_false_alerts_long_into_a_relapse_are_told_apart() -> None:
    """Relapse, recovery, a second fall 18 days after the onset: false, but late, not well."""

    def row(day: float, kind: RowKind, value: int | None = None) -> CohortRow:
        return CohortRow("P3", day, kind, value)

    rows = [
        row(0.4, RowKind.INFUSION),
        *[row(d + 0.75, RowKind.MOOD, 8) for d in range(1, 4)],
        row(3.9, RowKind.RELAPSE_ONSET),
        row(4.75, RowKind.MOOD, 4),
        row(5.75, RowKind.MOOD, 4),
        *[row(d + 0.75, RowKind.MOOD, 8) for d in range(6, 20)],
        row(20.75, RowKind.MOOD, 4),
        row(21.75, RowKind.MOOD, 4),
    ]

    report = evaluate_rows(rows)

    assert report.detector.detected == 1
    assert report.detector.false_alerts == 1
    assert report.detector.late_false_alerts == 1
    assert report.detector.false_alerts_while_well_per_patient_month == 0
    assert report.naive.false_alerts == 0
    assert "1 more than 14 days into a relapse" in format_report(report)

    rescued = [*rows, row(10.4, RowKind.INFUSION)]
    again = evaluate_rows(sorted(rescued, key=lambda item: item.day))
    assert again.detector.late_false_alerts == 0


# The ceiling ---------------------------------------------------------------------------


def test_ceiling_counts_the_second_answer_given_after_the_true_level_fell_far_enough() -> None:
    """A 4-point fall over 4 days from day 10: a point down on day 11, two on day 12."""
    segment = Segment(start=0.0, end=math.inf, level=8.0, relapse=Relapse(10.0, 4.0, 4.0))
    rows = [
        CohortRow("P1", 0.0, RowKind.INFUSION),
        CohortRow("P1", 10.0, RowKind.RELAPSE_ONSET),
        *(CohortRow("P1", day, RowKind.MOOD, 5) for day in (9.5, 10.5, 11.5, 12.5, 13.5)),
        CohortRow("P1", 14.5, RowKind.MISSED),
    ]

    assert _ceiling_delays([segment], rows, 1.0, 14.0) == (1, [2.5])
    assert _ceiling_delays([segment], rows, 2.0, 14.0) == (1, [3.5])
    assert _ceiling_delays([segment], rows, 3.0, 14.0) == (1, [])
    assert _ceiling_delays([segment], rows, 1.0, 2.0) == (1, [])


def test_ceiling_ignores_answers_after_the_next_infusion_and_unwritten_onsets() -> None:
    cut_short = Segment(start=0.0, end=12.0, level=8.0, relapse=Relapse(10.0, 4.0, 4.0))
    rows = [
        CohortRow("P1", 10.0, RowKind.RELAPSE_ONSET),
        *(CohortRow("P1", day, RowKind.MOOD, 5) for day in (10.5, 11.5, 12.5, 13.5)),
    ]

    assert _ceiling_delays([cut_short], rows, 1.0, 14.0) == (1, [])
    assert _ceiling_delays([cut_short], rows[1:], 1.0, 14.0) == (0, [])


def test_ceiling_of_a_cohort_counts_its_onsets_and_falls_with_the_drop() -> None:
    rows = simulate_cohort(80, 3)
    written = sum(1 for row in rows if row.kind is RowKind.RELAPSE_ONSET)

    ceilings = [oracle_ceiling(80, 3, drop) for drop in (0.5, 1.0, 2.0)]

    assert [ceiling.onsets for ceiling in ceilings] == [written] * 3
    shares = [ceiling.sensitivity for ceiling in ceilings]
    assert shares == sorted(shares, reverse=True)
    assert shares[0] > shares[-1] > 0
    assert all(0 <= ceiling.median_delay_days <= 14 for ceiling in ceilings)


# The CLI -------------------------------------------------------------------------------


def test_cli_simulates_and_evaluates_a_small_cohort(tmp_path: Path) -> None:
    out = tmp_path / "cohort.csv"

    made = afterglow(
        "simulate-cohort", "--patients", "60", "--seed", "5", "--out", str(out), cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    assert len(read_cohort_csv(out)) > 60 * 30
    ceiling = oracle_ceiling(60, 5, 1.0)
    assert (
        f"drop >= 1.0 points: {ceiling.detectable}/{ceiling.onsets} = {ceiling.sensitivity:.3f}"
        in made.stdout
    )

    result = afterglow("evaluate-detector", str(out), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert LAST_LINE.fullmatch(lines[-1]), lines[-1]
    assert any(line.startswith("naive rule") for line in lines)


def test_cli_malformed_cohort_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text(GOOD + "P1,2.75,mood,eleven\n", encoding="utf-8")

    result = afterglow("evaluate-detector", str(path), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{path}:4:" in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_missing_cohort_and_bad_protocol_exit_2(tmp_path: Path) -> None:
    missing = afterglow("evaluate-detector", str(tmp_path / "absent.csv"), cwd=tmp_path)
    assert missing.returncode == 2
    assert len(missing.stderr.splitlines()) == 1

    cohort_path = tmp_path / "cohort.csv"
    cohort_path.write_text(GOOD, encoding="utf-8")
    protocol = tmp_path / "clinic.toml"
    protocol.write_text("[detection]\ncusum_h = 'high'\n", encoding="utf-8")
    bad = afterglow(
        "evaluate-detector", str(cohort_path), "--protocol", str(protocol), cwd=tmp_path
    )
    assert bad.returncode == 2
    assert "cusum_h" in bad.stderr
    assert len(bad.stderr.splitlines()) == 1


def test_cli_evaluate_reads_afterglow_protocol_and_protocol_wins(tmp_path: Path) -> None:
    cohort_path = tmp_path / "cohort.csv"
    write_cohort_csv(simulate_cohort(15, 4), cohort_path)
    broken = tmp_path / "broken.toml"
    broken.write_text("[detection]\ncusum_h = 'high'\n", encoding="utf-8")
    closed = tmp_path / "open-loop.toml"
    closed.write_text("[adaptive]\nenabled = false\n", encoding="utf-8")

    from_env = afterglow(
        "evaluate-detector",
        str(cohort_path),
        cwd=tmp_path,
        extra_env={"AFTERGLOW_PROTOCOL": str(broken)},
    )
    assert from_env.returncode == 2
    assert "cusum_h" in from_env.stderr

    wins = afterglow(
        "evaluate-detector",
        str(cohort_path),
        "--protocol",
        str(closed),
        cwd=tmp_path,
        extra_env={"AFTERGLOW_PROTOCOL": str(broken)},
    )
    assert wins.returncode == 0, wins.stderr
    assert wins.stdout.strip().splitlines()[-1].endswith("extra_checkin_share=0.000")

    dotenv = afterglow("evaluate-detector", str(cohort_path), cwd=tmp_path)
    (tmp_path / ".env").write_text(f"AFTERGLOW_PROTOCOL={closed}\n", encoding="utf-8")
    from_dotenv = afterglow("evaluate-detector", str(cohort_path), cwd=tmp_path)
    assert from_dotenv.stdout.strip().splitlines()[-1].endswith("extra_checkin_share=0.000")
    assert not dotenv.stdout.strip().splitlines()[-1].endswith("extra_checkin_share=0.000")
