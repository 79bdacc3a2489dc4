"""The tuner: the sweep, the frontier, the chart and the protocol it writes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.domain.adaptive import AdaptiveConfig
from bot.domain.detection import DetectorConfig
from bot.domain.protocol import parse_protocol
from bot.research.cohort import CohortRow, simulate_cohort, write_cohort_csv
from bot.research.evaluation import evaluate_rows
from bot.research.settings_file import read_settings, render_protocol, toml_value
from bot.research.tuning import Point, Setting, frontier, settings_of, tune
from bot.research.tuning_commands import TuningError, run_tuning
from bot.runtime.content import default_protocol_text
from tests.research.test_cohort import afterglow

BASE = Setting(detection=DetectorConfig(), adaptive=AdaptiveConfig())
SMALL_SWEEP = {"detection.cusum_h": (2.0, 4.0), "adaptive.low_drop": (1.0, 2.5)}


@pytest.fixture(scope="module")
def rows() -> list[CohortRow]:
    return simulate_cohort(30, 21)


def point(sensitivity: float, false_alerts: float) -> Point:
    return Point(BASE, sensitivity, false_alerts, 5.0, 0.0)


def test_the_frontier_keeps_only_undominated_points() -> None:
    points = [
        point(0.7, 0.2),
        point(0.8, 0.3),
        point(0.6, 0.25),
        point(0.8, 0.35),
        point(0.75, 0.2),
    ]

    kept = frontier(points)

    assert [(p.sensitivity, p.false_alerts) for p in kept] == [(0.75, 0.2), (0.8, 0.3)]


def test_settings_of_is_every_combination_with_types_kept() -> None:
    sweep = {"detection.baseline_max_answers": (10, 14), "adaptive.low_drop": (1.0, 2.0)}

    chosen = settings_of(BASE, sweep)

    assert len(chosen) == 4
    assert {s.detection.baseline_max_answers for s in chosen} == {10, 14}
    assert all(isinstance(s.detection.baseline_max_answers, int) for s in chosen)
    assert {s.adaptive.low_drop for s in chosen} == {1.0, 2.0}


def test_the_tuner_on_a_small_cohort(rows: list[CohortRow]) -> None:
    result = tune(rows, BASE, SMALL_SWEEP)

    assert len(result.points) == 4
    current = evaluate_rows(rows, BASE.detection, BASE.adaptive)
    assert result.current.sensitivity == current.detector.sensitivity
    assert result.current.extra_share == current.extra_checkin_share
    assert result.naive[0] == current.naive.sensitivity
    assert result.frontier == frontier(result.points)
    for item in result.points:
        alone = evaluate_rows(rows, item.setting.detection, item.setting.adaptive)
        assert item.false_alerts == alone.detector.false_alerts_per_patient_month
    # A higher decision interval never raises more false alerts on the same cohort here.
    by_h = {
        p.setting.detection.cusum_h: p for p in result.points if p.setting.adaptive.low_drop == 1.0
    }
    assert by_h[4.0].false_alerts <= by_h[2.0].false_alerts


def test_the_tuner_prints_the_frontier_and_writes_the_chart_and_protocol(
    rows: list[CohortRow],
    tmp_path: Path,
) -> None:
    chart = tmp_path / "frontier.png"
    written = tmp_path / "clinic.toml"

    output = run_tuning(
        rows,
        BASE,
        protocol_text=default_protocol_text(),
        chart=chart,
        pick=1,
        write_protocol=written,
        sweep=SMALL_SWEEP,
        show_all=True,
    )

    lines = output.splitlines()
    assert lines[0].startswith("frontier: ")
    assert "cusum_h" in lines[1]
    assert "low_drop" in lines[1]
    assert any(line.startswith("now ") for line in lines)
    assert any(line.startswith("naive rule") for line in lines)
    assert "every setting, by false alerts (4):" in output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    protocol = parse_protocol(written.read_text(encoding="utf-8"), source="written")
    first = tune(rows, BASE, SMALL_SWEEP).frontier[0].setting
    assert protocol.detection.cusum_h == first.detection.cusum_h
    assert protocol.adaptive.low_drop == first.adaptive.low_drop
    assert protocol.days == parse_protocol(default_protocol_text(), source="shipped").days


def test_the_tuner_refuses_what_it_cannot_do(rows: list[CohortRow], tmp_path: Path) -> None:
    existing = tmp_path / "exists.toml"
    existing.write_text("", encoding="utf-8")
    text = default_protocol_text()

    with pytest.raises(TuningError, match="--pick"):
        run_tuning(rows, BASE, protocol_text=text, write_protocol=tmp_path / "x.toml")
    with pytest.raises(TuningError, match="exists"):
        run_tuning(rows, BASE, protocol_text=text, pick=1, write_protocol=existing)
    with pytest.raises(TuningError, match="frontier row from 1 to"):
        run_tuning(rows, BASE, protocol_text=text, pick=99, sweep=SMALL_SWEEP)


def test_render_protocol_replaces_values_and_keeps_comments() -> None:
    text = "[checkins]\nx = 1\n\n[detection]\n# the interval\ncusum_h = 3.0  # spreads\n\n"
    chosen = BASE.with_values({"detection.cusum_h": 4.5, "adaptive.low_drop": 2.0})

    rendered = render_protocol(text, chosen, ["detection.cusum_h", "adaptive.low_drop"])

    assert "cusum_h = 4.5  # spreads" in rendered
    assert "# the interval" in rendered
    data = tomllib.loads(rendered)
    assert data["detection"]["cusum_h"] == 4.5
    assert data["adaptive"]["low_drop"] == 2.0
    assert data["checkins"]["x"] == 1
    assert read_settings(rendered, "x").value("adaptive.low_drop") == 2.0


def test_toml_values() -> None:
    assert toml_value(True) == "true"
    assert toml_value(2.0) == "2.0"
    assert toml_value(1.25) == "1.25"
    assert toml_value(12) == "12"


def test_read_settings_names_the_file_and_key() -> None:
    with pytest.raises(ValueError, match=r"clinic\.toml: \[adaptive\] unknown key 'x'"):
        read_settings("[adaptive]\nx = 1\n", "clinic.toml")
    with pytest.raises(ValueError, match=r"clinic\.toml: cannot read"):
        read_settings("= =", "clinic.toml")


def test_cli_tune_detector(tmp_path: Path) -> None:
    cohort_path = tmp_path / "cohort.csv"
    write_cohort_csv(simulate_cohort(6, 2), cohort_path)
    chart = tmp_path / "f.png"
    written = tmp_path / "picked.toml"

    result = afterglow(
        "tune-detector",
        str(cohort_path),
        "--chart",
        str(chart),
        "--pick",
        "1",
        "--write-protocol",
        str(written),
        "--jobs",
        "2",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("frontier: ")
    assert chart.is_file()
    assert parse_protocol(written.read_text(encoding="utf-8"), source="picked").days
    again = afterglow(
        "tune-detector",
        str(cohort_path),
        "--pick",
        "1",
        "--write-protocol",
        str(written),
        cwd=tmp_path,
    )
    assert again.returncode == 2
    assert "exists" in again.stderr
