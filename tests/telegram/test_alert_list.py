"""/alerts folding and /stats wording."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.codes import AlertKind
from bot.domain.entities import Alert
from bot.domain.stats import CheckinTally, spread, summarise
from bot.telegram import alert_list, stats_texts

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Berlin")


def alert(alert_id: int, patient_id: int, kind: AlertKind, *, acked: bool = False) -> Alert:
    return Alert(
        id=alert_id,
        patient_id=patient_id,
        patient_code=f"P-{patient_id:04d}",
        episode_id=None,
        kind=kind,
        urgent=kind is AlertKind.CRISIS,
        text=f"P-{patient_id:04d} {kind.value}\nmore",
        with_chart=False,
        created_at=T0 + timedelta(minutes=alert_id),
        sent=True,
        attempts=1,
        last_error=None,
        chat_id=-100,
        message_id=alert_id,
        photo=False,
        acknowledged_at=T0 if acked else None,
        acknowledged_by=1 if acked else None,
        resolved_at=None,
        reminders_sent=0,
    )


def test_a_patients_crisis_messages_fold_into_one_line() -> None:
    alerts = [
        alert(9, 1, AlertKind.CRISIS),
        alert(8, 1, AlertKind.CRISIS),
        alert(7, 2, AlertKind.CRISIS),
        alert(6, 1, AlertKind.CRISIS, acked=True),
        alert(5, 1, AlertKind.DECLINE),
    ]
    listed = alert_list.fold(alerts)
    assert [(entry.alert.id, entry.folded) for entry in listed] == [(8, 2), (7, 0), (5, 0)]
    line = alert_list.line(1, listed[0], TZ)
    assert line.startswith("1. URGENT P-0001 crisis")
    assert "+2 more crisis messages" in line
    assert "more crisis" not in alert_list.line(2, listed[1], TZ)


def test_the_shown_crisis_alert_is_an_unacknowledged_one() -> None:
    listed = alert_list.fold(
        [alert(9, 1, AlertKind.CRISIS, acked=True), alert(8, 1, AlertKind.CRISIS)]
    )
    assert [(entry.alert.id, entry.folded) for entry in listed] == [(8, 1)]
    all_acknowledged = alert_list.fold(
        [alert(9, 1, AlertKind.CRISIS, acked=True), alert(8, 1, AlertKind.CRISIS, acked=True)]
    )
    assert [(entry.alert.id, entry.folded) for entry in all_acknowledged] == [(9, 1)]


def test_every_alert_kind_has_a_name_in_stats() -> None:
    assert set(stats_texts.KIND_NAMES) == set(AlertKind)


def test_stats_text() -> None:
    figures = summarise(
        [],
        since=T0 - timedelta(days=30),
        until=T0,
        active_patients=4,
        answering_patients=3,
        checkins=CheckinTally(answered=9, missed=3, failed=0, open=2, cancelled=1),
    )
    text = stats_texts.stats(figures, TZ)
    assert "Last 30 days" in text
    assert "to acknowledge: none yet" in text
    assert "Patients active now: 4; answered at least once: 3" in text
    assert "Check-ins answered: 75% (9 of 12)" in text
    timed = replace(figures, to_acknowledge=spread([timedelta(minutes=4), timedelta(hours=3)]))
    assert "median 1 h 32 min, 90% within 3 h (2 alerts)" in stats_texts.stats(timed, TZ)


def test_durations() -> None:
    assert [
        stats_texts.duration(timedelta(seconds=s)) for s in (0, 59, 60, 3600, 3660, 90000)
    ] == ["0 s", "59 s", "1 min", "1 h", "1 h 1 min", "1 d 1 h"]
    assert stats_texts.duration(None) == "-"
