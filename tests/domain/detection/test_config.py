"""The detector's configuration: the `[detection]` table, its defaults and its ranges."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from bot.domain.detection import DetectorConfig


def test_from_mapping_of_an_empty_table_is_the_defaults() -> None:
    assert DetectorConfig.from_mapping({}) == DetectorConfig()


def test_from_mapping_reads_every_key() -> None:
    table = {
        "baseline_answers": 4,
        "baseline_max_answers": 10,
        "sd_floor": 1,
        "cusum_k": 0.25,
        "cusum_h": 3.5,
        "min_drop": 1.5,
        "confirm_mean_drop": 2.0,
        "confirm_answers": 3,
        "confirm_min_hours": 20,
        "recovery_answers": 3,
        "recovery_margin": 0.5,
        "low_mood_threshold": 2,
        "low_mood_answers": 3,
        "low_mood_recovery_answers": 3,
        "low_mood_recovery_score": 6,
        "missed_in_a_row": 3,
        "evidence_limit": 8,
        "low_mood_while_declining": False,
    }

    config = DetectorConfig.from_mapping(table)

    assert config.sd_floor == 1.0
    assert isinstance(config.sd_floor, float)
    assert config.low_mood_threshold == 2
    assert config.low_mood_recovery_score == 6
    assert config.low_mood_while_declining is False


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"cusum_h": "4"}, "cusum_h"),
        ({"cusum_h": float("nan")}, "cusum_h"),
        ({"min_drop": -1}, "min_drop"),
        ({"baseline_answers": 1}, "baseline_answers"),
        ({"baseline_answers": 3.0}, "baseline_answers"),
        ({"missed_in_a_row": True}, "missed_in_a_row"),
        ({"low_mood_threshold": 10}, "low_mood_threshold"),
        ({"low_mood_while_declining": 1}, "low_mood_while_declining"),
        ({"cusum_hh": 4}, "cusum_hh"),
        ({"confirm_mean_drop": 0.1}, "confirm_mean_drop"),
        ({"baseline_answers": 5, "baseline_max_answers": 4}, "baseline_max_answers"),
        ({"low_mood_recovery_score": 0}, "low_mood_recovery_score"),
        ({"low_mood_threshold": 5}, "low_mood_recovery_score"),
    ],
)
def test_from_mapping_names_the_bad_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=f"\\[detection\\].*'?{key}'?"):
        DetectorConfig.from_mapping(table)


def test_the_documented_detection_table_is_the_defaults_and_lists_every_key() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "detection.md"
    block = re.search(r"```toml\n(\[detection\].*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert block is not None

    table = tomllib.loads(block.group(1))["detection"]

    assert set(table) == {item.name for item in fields(DetectorConfig)}
    assert DetectorConfig.from_mapping(table) == DetectorConfig()


def test_constructor_validates_too() -> None:
    with pytest.raises(ValueError, match="sd_floor"):
        DetectorConfig(sd_floor=0.0)
