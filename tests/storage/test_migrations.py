"""Migrations: an older database is brought up to date, its sentences turned into codes."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from bot.domain.codes import (
    AlertKind,
    AuditAction,
    CheckinState,
    CloseReason,
    DeliveryProblem,
    EpisodeEndReason,
)
from storage import Storage, latest_schema_version
from storage._database import migrations

T0 = 1_772_000_000  # whole seconds, as the database stores times


def database_at(path: Path, version: int) -> None:
    """Create a database with the shipped migrations applied up to `version` only."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
        )
        for step in migrations()[:version]:
            number, name, sql = step.version, step.name, step.sql
            conn.executescript(sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (number, name)
            )
        conn.commit()


# (state, reason as an earlier Afterglow wrote it, close reason, last delivery problem)
CHECKINS = [
    ("missed", "no answer", CloseReason.NO_ANSWER, None),
    ("missed", "no answer before the next check-in", CloseReason.NO_ANSWER_BEFORE_NEXT, None),
    ("missed", "unanswered; delivery uncertain", CloseReason.UNANSWERED_UNCERTAIN, None),
    ("missed", "extra check-in left open", CloseReason.EXTRA_LEFT_OPEN, None),
    ("missed", "not sent within the send window", CloseReason.NOT_SENT_IN_WINDOW, None),
    (
        "missed",
        "not sent within the send window (last error: server error: Bad Gateway)",
        CloseReason.NOT_SENT_IN_WINDOW,
        DeliveryProblem.SERVER_ERROR,
    ),
    ("missed", "superseded by a newer due check-in", CloseReason.SUPERSEDED, None),
    ("cancelled", "patient paused", CloseReason.PATIENT_PAUSED, None),
    ("cancelled", "patient consent pending", CloseReason.PATIENT_CONSENT_PENDING, None),
    ("cancelled", "patient stopped", CloseReason.PATIENT_STOPPED, None),
    ("cancelled", "patient unreachable", CloseReason.PATIENT_UNREACHABLE, None),
    (
        "cancelled",
        "replaced by the plan of a newer infusion",
        CloseReason.REPLACED_BY_NEW_PLAN,
        None,
    ),
    (
        "failed",
        "forbidden (403): the patient blocked the bot",
        CloseReason.SEND_FAILED,
        DeliveryProblem.FORBIDDEN,
    ),
    (
        "failed",
        "bad request (400): chat not found",
        CloseReason.SEND_FAILED,
        DeliveryProblem.CHAT_NOT_FOUND,
    ),
    ("failed", "Undeliverable", CloseReason.SEND_FAILED, DeliveryProblem.TELEGRAM_ERROR),
    ("pending", "rate limited (429)", None, DeliveryProblem.RATE_LIMITED),
    ("pending", "connect timeout", None, DeliveryProblem.CONNECT_FAILED),
    ("pending", "network: ConnectError", None, DeliveryProblem.CONNECT_FAILED),
    (
        "sent",
        "timed out waiting for Telegram's answer",
        None,
        DeliveryProblem.READ_TIMEOUT,
    ),
    ("sent", "network: RemoteProtocolError", None, DeliveryProblem.CONNECTION_LOST),
    (
        "sent",
        "process stopped before the send was confirmed",
        None,
        DeliveryProblem.PROCESS_STOPPED,
    ),
    ("missed", "something no Afterglow wrote", CloseReason.UNKNOWN, None),
]


def fill_old_rows(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "INSERT INTO patients (id, code, status, timezone, created_at, created_by)"
            " VALUES (1, 'P-AAAA', 'active', 'UTC', ?, 9)",
            (T0,),
        )
        for index, (state, reason, _, _) in enumerate(CHECKINS, start=1):
            conn.execute(
                "INSERT INTO checkins (id, patient_id, kind, due_at, state, reason)"
                " VALUES (?, 1, 'planned', ?, ?, ?)",
                (index, T0 + index, state, reason),
            )
        conn.executemany(
            "INSERT INTO episodes (id, patient_id, kind, since, detected_at, explanation,"
            " ended_at, end_reason) VALUES (?, 1, 'decline', ?, ?, 'x', ?, ?)",
            [
                (1, T0, T0, T0 + 1, "recovered"),
                (2, T0, T0, T0 + 1, "resolved by staff"),
                (3, T0, T0, T0 + 1, "new infusion"),
            ],
        )
        conn.executemany(
            "INSERT INTO alerts (id, patient_id, kind, text, created_at, next_attempt_at,"
            " last_error) VALUES (?, 1, ?, 'words', ?, ?, ?)",
            [
                (1, "crisis", T0, T0, "rate limited (429)"),
                (2, "decline", T0, T0, "forbidden (403): is the bot still in the staff chat?"),
                (3, "low_mood", T0, T0, "TimedOut: Timed out"),
                (4, "contact_request", T0, T0, "NetworkError: Bad Gateway"),
            ],
        )
        conn.executemany(
            "INSERT INTO audit_log (at, actor, action, patient_id) VALUES (?, 9, ?, 1)",
            [
                (T0, "invite"),
                (T0, "infusion"),
                (T0, "view patient"),
                (T0, "acknowledge alert"),
                (T0, "resolve alert"),
                (T0, "resolve patient"),
            ],
        )
        conn.commit()


ROSTER_ACTIONS = {
    AuditAction.ADD_STAFF,
    AuditAction.JOIN_STAFF,
    AuditAction.ON_CALL,
    AuditAction.OFF_CALL,
    AuditAction.REMOVE_STAFF,
}


async def test_sentences_become_codes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    database_at(path, 5)
    fill_old_rows(path)

    storage = await Storage.open(path)
    try:
        assert await storage.database.schema_version() == latest_schema_version()
        rows = await storage.checkins.for_patient(1)
        assert [(row.close_reason, row.last_error) for row in rows] == [
            (close, problem) for _, _, close, problem in CHECKINS
        ]
        assert [row.state for row in rows] == [CheckinState(state) for state, *_ in CHECKINS]
        episodes = await storage.episodes.since(1, datetime.fromtimestamp(T0 - 1, UTC))
        assert [e.end_reason for e in episodes] == [
            EpisodeEndReason.RECOVERED,
            EpisodeEndReason.RESOLVED_BY_STAFF,
            EpisodeEndReason.NEW_INFUSION,
        ]
        alerts = [await storage.alerts.get(alert_id) for alert_id in (1, 2, 3, 4)]
        assert [(a.kind, a.last_error) for a in alerts if a is not None] == [
            (AlertKind.CRISIS, DeliveryProblem.RATE_LIMITED),
            (AlertKind.DECLINE, DeliveryProblem.FORBIDDEN),
            (AlertKind.LOW_MOOD, DeliveryProblem.READ_TIMEOUT),
            (AlertKind.CONTACT_REQUEST, DeliveryProblem.CONNECTION_LOST),
        ]
        log = await storage.clinic.audit_log(patient_id=1)
        # Every action the sentence-era audit log could hold (the roster's and the patient's
        # own deletion came later).
        later = ROSTER_ACTIONS | {AuditAction.DELETE_DATA, AuditAction.EXPORT}
        assert {entry.action for entry in log} == set(AuditAction) - later
    finally:
        await storage.close()


async def test_the_patients_misses_are_still_the_ones_the_detector_reads(tmp_path: Path) -> None:
    """Only 'no answer' and 'no answer before the next check-in' were ever LIKE 'no answer%'."""
    path = tmp_path / "old.db"
    database_at(path, 5)
    fill_old_rows(path)
    with closing(sqlite3.connect(path)) as conn:
        old_misses = {
            row[0]
            for row in conn.execute(
                "SELECT id FROM checkins WHERE state = 'missed' AND reason LIKE 'no answer%'"
            )
        }

    storage = await Storage.open(path)
    try:
        rows = await storage.checkins.for_patient(1)
        new_misses = {
            row.id
            for row in rows
            if row.close_reason is not None and row.close_reason.patient_missed
        }
        assert new_misses == old_misses == {1, 2}
    finally:
        await storage.close()


async def test_a_migrated_database_refuses_an_unknown_code(tmp_path: Path) -> None:
    """The new columns carry CHECK constraints: no sentence can creep back in."""
    path = tmp_path / "new.db"
    storage = await Storage.open(path)
    await storage.close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "INSERT INTO patients (id, code, status, timezone, created_at, created_by)"
            " VALUES (1, 'P-AAAA', 'active', 'UTC', 0, 9)"
        )
        for column, value in (("close_reason", "no answer"), ("last_error", "timed out")):
            try:
                conn.execute(
                    f"INSERT INTO checkins (patient_id, kind, due_at, state, {column})"
                    " VALUES (1, 'planned', 0, 'missed', ?)",
                    (value,),
                )
            except sqlite3.IntegrityError:
                continue
            raise AssertionError(f"{column} accepted {value!r}")
