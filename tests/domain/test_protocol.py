"""The check-in protocol: the shipped default, parsing, validation and loading."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.domain.adaptive import AdaptiveConfig
from bot.domain.protocol import MAX_DAY, ProtocolError, parse_hhmm, parse_protocol
from bot.runtime.content import default_protocol_text, load_protocol

SOURCE = "clinic.toml"
DEFAULT_DAYS = (
    *range(1, 15),
    *range(16, 43, 2),
    49,
    56,
    63,
    70,
    77,
    84,
    91,
)


def protocol_text(
    *,
    schedule: str = "{ first = 1, last = 3, every = 1 }",
    default_time: str = '"18:00"',
    time_choices: str = '["09:00", "18:00"]',
    send: str = "6",
    answer: str = "24",
) -> str:
    return (
        "[checkins]\n"
        f"schedule = [{schedule}]\n"
        f"default_time = {default_time}\n"
        f"time_choices = {time_choices}\n"
        "[dispatch]\n"
        f"send_window_hours = {send}\n"
        f"answer_window_hours = {answer}\n"
    )


def protocol_error(text: str) -> str:
    with pytest.raises(ProtocolError) as info:
        parse_protocol(text, source=SOURCE)
    return str(info.value)


# The shipped default -------------------------------------------------------------------


def test_default_protocol_has_35_days_dense_early_then_sparse() -> None:
    default = load_protocol()

    assert default.days == (
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
        16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42,
        49, 56, 63, 70, 77, 84, 91,
    )  # fmt: skip
    assert default.days == DEFAULT_DAYS
    assert len(default.days) == 35


def test_default_protocol_windows_and_times() -> None:
    default = load_protocol()

    assert default.send_window == timedelta(hours=6)
    assert default.answer_window == timedelta(hours=24)
    assert default.default_time == time(18, 0)
    assert {time(9), time(12), time(18), time(20)} <= set(default.time_choices)
    assert default.default_time in default.time_choices
    assert list(default.time_choices) == sorted(set(default.time_choices))
    assert default.source == "built-in protocol"


def test_default_protocol_text_parses_to_the_same_plan() -> None:
    parsed = parse_protocol(default_protocol_text(), source="copy")

    assert parsed.days == load_protocol().days
    assert parsed.source == "copy"


# Parsing valid text ---------------------------------------------------------------------


def test_overlapping_blocks_are_merged_sorted_and_deduplicated() -> None:
    text = protocol_text(
        schedule="{ first = 3, last = 9, every = 3 }, { first = 1, last = 5, every = 1 }"
    )

    parsed = parse_protocol(text, source=SOURCE)

    assert parsed.days == (1, 2, 3, 4, 5, 6, 9)


def test_every_larger_than_the_span_gives_only_the_first_day() -> None:
    parsed = parse_protocol(
        protocol_text(schedule="{ first = 10, last = 12, every = 30 }"), source=SOURCE
    )

    assert parsed.days == (10,)


def test_time_choices_are_sorted_and_deduplicated() -> None:
    parsed = parse_protocol(
        protocol_text(time_choices='["20:00", "08:30", "20:00"]'), source=SOURCE
    )

    assert parsed.time_choices == (time(8, 30), time(20, 0))


def test_window_bounds_are_accepted() -> None:
    parsed = parse_protocol(protocol_text(send="24", answer="72"), source=SOURCE)

    assert parsed.send_window == timedelta(hours=24)
    assert parsed.answer_window == timedelta(hours=72)


def test_max_day_is_accepted() -> None:
    parsed = parse_protocol(
        protocol_text(schedule=f"{{ first = {MAX_DAY}, last = {MAX_DAY}, every = 1 }}"),
        source=SOURCE,
    )

    assert parsed.days == (MAX_DAY,)


# Parsing errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("this is = = not toml", "not valid TOML", id="not-toml"),
        pytest.param("[checkins\nschedule = []", "not valid TOML", id="broken-table-header"),
        pytest.param(
            "[dispatch]\nsend_window_hours = 6\nanswer_window_hours = 24\n",
            "missing [checkins] table",
            id="missing-checkins",
        ),
        pytest.param(
            protocol_text().split("[dispatch]")[0], "missing [dispatch] table", id="no-dispatch"
        ),
        pytest.param(
            'checkins = "daily"\n[dispatch]\nsend_window_hours = 6\n',
            "missing [checkins] table",
            id="checkins-not-a-table",
        ),
        pytest.param(protocol_text(schedule=""), "non-empty 'schedule'", id="empty-schedule"),
        pytest.param(
            protocol_text().replace("schedule = [", "schedule = 1 #["),
            "non-empty 'schedule'",
            id="schedule-not-a-list",
        ),
        pytest.param(
            protocol_text(schedule="5"), "schedule block 1: must be a table", id="block-not-table"
        ),
        pytest.param(
            protocol_text(schedule="{ first = 5, last = 3, every = 1 }"),
            "schedule block 1: 'last' (3) is before 'first' (5)",
            id="last-before-first",
        ),
        pytest.param(
            protocol_text(schedule="{ first = 1, last = 3, every = 0 }"),
            "'every' must be a whole number from 1 to 366",
            id="every-zero",
        ),
        pytest.param(
            protocol_text(schedule="{ first = 0, last = 3, every = 1 }"),
            "'first' must be a whole number from 1 to 366",
            id="day-zero",
        ),
        pytest.param(
            protocol_text(schedule="{ first = 1, last = 367, every = 1 }"),
            "'last' must be a whole number from 1 to 366",
            id="day-too-late",
        ),
        pytest.param(
            protocol_text(schedule="{ first = true, last = 3, every = 1 }"),
            "'first' must be a whole number",
            id="bool-first",
        ),
        pytest.param(
            protocol_text(schedule="{ first = 1, last = 3, every = true }"),
            "'every' must be a whole number",
            id="bool-every",
        ),
        pytest.param(
            protocol_text(schedule="{ first = 1.0, last = 3, every = 1 }"),
            "'first' must be a whole number",
            id="float-first",
        ),
        pytest.param(
            protocol_text(schedule='{ first = "1", last = 3, every = 1 }'),
            "'first' must be a whole number",
            id="string-first",
        ),
        pytest.param(
            protocol_text(schedule="{ first = 1, last = 3 }"),
            "'every' must be a whole number",
            id="missing-every",
        ),
        pytest.param(
            protocol_text(schedule="{ first = 1, last = 3, every = 1, step = 2 }"),
            "schedule block 1: unknown key(s) step",
            id="unknown-key",
        ),
        pytest.param(
            protocol_text(
                schedule="{ first = 1, last = 3, every = 1 }, { first = 4, last = 9, every = 1, "
                "days = 3 }"
            ),
            "schedule block 2: unknown key(s) days",
            id="unknown-key-second-block",
        ),
        pytest.param(
            protocol_text(default_time='"25:00"'),
            "default_time: times must be 'HH:MM' strings, got '25:00'",
            id="default-25h",
        ),
        pytest.param(
            protocol_text(default_time='"9:00"'),
            "default_time: times must be 'HH:MM' strings, got '9:00'",
            id="default-single-digit-hour",
        ),
        pytest.param(
            protocol_text(default_time="18"), "default_time: times must be", id="default-int"
        ),
        pytest.param(
            protocol_text().replace('default_time = "18:00"\n', ""),
            "default_time: times must be",
            id="default-missing",
        ),
        pytest.param(
            protocol_text(time_choices='["09:00", "9:30"]'),
            "time_choices: times must be 'HH:MM' strings, got '9:30'",
            id="choice-single-digit-hour",
        ),
        pytest.param(
            protocol_text(time_choices='["12:60"]'), "got '12:60'", id="choice-60-minutes"
        ),
        pytest.param(
            protocol_text(time_choices="[]"), "time_choices must list 1 to 12", id="no-choices"
        ),
        pytest.param(
            protocol_text(time_choices=str([f"{h:02d}:00" for h in range(13)]).replace("'", '"')),
            "time_choices must list 1 to 12",
            id="13-choices",
        ),
        pytest.param(
            protocol_text(time_choices='"09:00"'),
            "time_choices must list 1 to 12",
            id="choices-not-a-list",
        ),
        pytest.param(
            protocol_text(send="0"),
            "[dispatch]: 'send_window_hours' must be a whole number from 1 to 24",
            id="send-window-zero",
        ),
        pytest.param(protocol_text(send="25"), "'send_window_hours' must be", id="send-window-25"),
        pytest.param(
            protocol_text(answer="0"),
            "'answer_window_hours' must be a whole number from 1 to 72",
            id="answer-window-zero",
        ),
        pytest.param(
            protocol_text(answer="73"), "'answer_window_hours' must be", id="answer-window-73"
        ),
        pytest.param(
            protocol_text(send="false"), "'send_window_hours' must be", id="send-window-bool"
        ),
        pytest.param(
            protocol_text(send="12", answer="8"),
            "answer_window_hours (8) must be longer than send_window_hours (12)",
            id="answer-window-shorter-than-send-window",
        ),
    ],
)
def test_invalid_protocol_is_rejected_with_a_clear_message(text: str, expected: str) -> None:
    message = protocol_error(text)

    assert message.startswith(f"{SOURCE}: ")
    assert expected in message
    assert "\n" not in message


# The [adaptive] table -------------------------------------------------------------------


def test_the_shipped_protocol_has_the_adaptive_defaults() -> None:
    assert load_protocol().adaptive == AdaptiveConfig()
    assert parse_protocol(protocol_text(), source=SOURCE).adaptive == AdaptiveConfig()


def test_the_adaptive_table_is_read() -> None:
    text = protocol_text() + (
        '[adaptive]\nenabled = false\nlow_drop = 2\nnight_start = "21:00"\nnight_end = "09:00"\n'
    )

    adaptive = parse_protocol(text, source=SOURCE).adaptive

    assert adaptive == AdaptiveConfig(
        enabled=False, low_drop=2.0, night_start=time(21, 0), night_end=time(9, 0)
    )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        pytest.param("adaptive = 3\n", "[adaptive] must be a table", id="not-a-table"),
        pytest.param("[adaptive]\nlow_drop = -1\n", "low_drop must be a number", id="neg"),
        pytest.param("[adaptive]\nnight_end = '8am'\n", "night_end must be an 'HH:MM'", id="t"),
        pytest.param("[adaptive]\nextra = 1\n", "unknown key 'extra'", id="unknown"),
        pytest.param(
            "[adaptive]\nmin_lead_hours = 6\n", "min_lead_hours must be a number", id="lead"
        ),
    ],
)
def test_a_bad_adaptive_table_is_rejected_naming_the_key(table: str, expected: str) -> None:
    # A top-level key must come before the first table to be top-level.
    text = protocol_text() + table if table.startswith("[") else table + protocol_text()
    message = protocol_error(text)

    assert message.startswith(f"{SOURCE}: [adaptive]") or "[adaptive] must be" in message
    assert expected in message


# Loading from a file --------------------------------------------------------------------


def test_load_protocol_from_a_file_uses_the_path_as_source(tmp_path: Path) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text(protocol_text(), encoding="utf-8")

    loaded = load_protocol(path)

    assert loaded.days == (1, 2, 3)
    assert loaded.source == str(path)


def test_load_protocol_names_the_path_of_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"

    with pytest.raises(ProtocolError) as info:
        load_protocol(path)

    assert str(info.value).startswith(f"{path}: cannot read")


def test_load_protocol_names_the_path_of_a_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(
        protocol_text().replace("[dispatch]", "# Zeitfenster f\xfcr\n[dispatch]").encode("latin-1")
    )

    with pytest.raises(ProtocolError) as info:
        load_protocol(path)

    assert str(info.value) == f"{path}: not UTF-8 text"


def test_load_protocol_errors_from_a_file_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(protocol_text(send="0"), encoding="utf-8")

    with pytest.raises(ProtocolError) as info:
        load_protocol(path)

    assert str(info.value).startswith(f"{path}: [dispatch]: 'send_window_hours'")


# parse_hhmm -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("00:00", time(0, 0)),
        ("09:00", time(9, 0)),
        ("12:30", time(12, 30)),
        ("19:59", time(19, 59)),
        ("23:59", time(23, 59)),
        (" 08:15 ", time(8, 15)),
        ("24:00", None),
        ("25:00", None),
        ("9:00", None),
        ("09:0", None),
        ("09:60", None),
        ("0900", None),
        ("09.00", None),
        ("09:00:00", None),
        ("-1:00", None),
        ("", None),
        ("   ", None),
        ("noon", None),
        ("\u0660\u0669:\u0660\u0660", None),  # Arabic-Indic digits are not HH:MM
    ],
)
def test_parse_hhmm(value: str, expected: time | None) -> None:
    assert parse_hhmm(value) == expected


def test_silence_and_escalation_defaults_and_the_shipped_values() -> None:
    bare = parse_protocol(protocol_text(), source=SOURCE)
    assert bare.pause_alert_after == timedelta(days=7)
    assert bare.urgent_escalate_after == timedelta(minutes=15)
    shipped = load_protocol()
    assert shipped.pause_alert_after == timedelta(days=7)
    assert shipped.urgent_escalate_after == timedelta(minutes=15)


def test_silence_and_alert_tables_are_read() -> None:
    text = (
        protocol_text()
        + "[silence]\npause_alert_days = 3\n[alerts]\nurgent_escalate_minutes = 5\n"
    )
    parsed = parse_protocol(text, source=SOURCE)
    assert parsed.pause_alert_after == timedelta(days=3)
    assert parsed.urgent_escalate_after == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("[silence]\npause_alert_days = 0\n", "'pause_alert_days' must be a whole number from 1"),
        ("[silence]\npause_days = 3\n", "[silence] unknown key(s) pause_days"),
        ("[alerts]\nurgent_escalate_minutes = 0\n", "'urgent_escalate_minutes' must be a whole"),
        ("[alerts]\nurgent_escalate_minutes = 241\n", "from 1 to 240"),
        ('[alerts]\nurgent_escalate_minutes = "15"\n', "'urgent_escalate_minutes' must be"),
        ("[alerts]\nescalate = 15\n", "[alerts] unknown key(s) escalate"),
        ("alerts = 3\n", "[alerts] must be a table"),
    ],
)
def test_bad_silence_and_alert_tables_are_rejected(table: str, expected: str) -> None:
    text = table + protocol_text() if not table.startswith("[") else protocol_text() + table
    assert expected in protocol_error(text)
