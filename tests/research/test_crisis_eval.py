"""Scoring the crisis net on a corpus, and `afterglow evaluate-crisis`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.crisis import Assessment, Layer
from bot.research.crisis_corpus import LabelledMessage
from bot.research.crisis_eval import Outcome, format_report, scores

LINE = re.compile(
    r"recall_any=\d\.\d{3} urgent_recall=\d\.\d{3}"
    r" false_interrupting=\d\.\d{3} false_any=\d\.\d{3}"
)
SMALL = """
[[message]]
text = "i want to kill myself"
label = "urgent"
kind = "ideation"

[[message]]
text = "i'm just a burden to everyone"
label = "concern"
kind = "burden"

[[message]]
text = "my friend attempted suicide"
label = "negative"
kind = "other_person"

[[message]]
text = "mood 7 today"
label = "negative"
kind = "everyday"
"""


def outcome(label: str, kind: str, layer: Layer) -> Outcome:
    return Outcome(LabelledMessage(text=kind, label=label, kind=kind), Assessment(layer=layer))


def test_the_four_figures_follow_their_definitions() -> None:
    outcomes = [
        outcome("urgent", "ideation", Layer.URGENT),
        outcome("urgent", "plan", Layer.CONCERN),
        outcome("concern", "burden", Layer.REVIEW),
        outcome("concern", "hopeless", Layer.NONE),
        outcome("negative", "figurative", Layer.CONCERN),
        outcome("negative", "media", Layer.REVIEW),
        outcome("negative", "everyday", Layer.NONE),
        outcome("negative", "negation", Layer.NONE),
    ]

    found = scores(outcomes)

    assert (found.recall_any, found.urgent_recall) == (0.75, 0.5)
    assert (found.false_interrupting, found.false_any) == (0.25, 0.5)
    assert found.line() == (
        "recall_any=0.750 urgent_recall=0.500 false_interrupting=0.250 false_any=0.500"
    )


def test_the_report_ends_with_the_figures_line() -> None:
    report = format_report(
        [outcome("urgent", "ideation", Layer.URGENT)], source="x", microseconds=12.0
    )
    lines = report.splitlines()

    assert LINE.fullmatch(lines[-1])
    assert "urgent/ideation" in report
    assert "speed: 12 microseconds" in report


def test_evaluate_crisis_prints_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "small.toml"
    corpus.write_text(SMALL, encoding="utf-8")

    assert main(["evaluate-crisis", str(corpus)]) == 0

    out = capsys.readouterr().out.splitlines()
    assert (
        out[-1] == "recall_any=1.000 urgent_recall=1.000 false_interrupting=0.000 false_any=0.500"
    )
    assert any(line.startswith("negative/other_person") for line in out)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot read"),
        ("[[message]\n", "not valid TOML"),
        ('[[message]]\ntext = "hi"\nlabel = "urgentish"\nkind = "plan"\n', "unknown label"),
    ],
    ids=["missing", "bad-toml", "unknown-label"],
)
def test_evaluate_crisis_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, error: str
) -> None:
    corpus = tmp_path / "corpus.toml"
    if content is not None:
        corpus.write_text(content, encoding="utf-8")

    assert main(["evaluate-crisis", str(corpus)]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert error in captured.err
    assert "Traceback" not in captured.err
