"""`afterglow check`: configuration, crisis contacts, content and database, read-only.

With `--live` (the container's health check) it also fails when the dispatcher's last pass
is older than three of its intervals: a bot that is hung, or not running, is unhealthy.
"""

from __future__ import annotations

import asyncio
import socket
import textwrap
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from bot.domain.crisis import CrisisPatternError
from bot.domain.entities import SafetyContacts
from bot.domain.explainers import ExplainerError
from bot.domain.protocol import ProtocolError, check_schedule
from bot.runtime.content import (
    load_crisis_detector,
    load_crisis_net,
    load_explainers,
    load_protocol,
)
from bot.runtime.settings import ConfigError, Settings, load_settings
from bot.telegram import texts
from storage import DatabaseReport, inspect_database, inspect_postgres

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_CONFIG = 2
# How often `afterglow run` runs the dispatcher (build_application's dispatch_interval).
DISPATCH_EVERY = 30.0
STALE_AFTER = 3 * DISPATCH_EVERY

Echo = Callable[[str], None]


def run_check(
    env: Mapping[str, str], *, live: bool, echo: Echo = print, now: datetime | None = None
) -> int:
    """Print what the checks found; return 0 when sound, 1 on a problem, 2 on bad settings."""
    try:
        settings = load_settings(env)
    except ConfigError as err:
        echo(f"configuration: ERROR {err}")
        return EXIT_CONFIG
    echo(
        f"configuration: ok (staff chat {settings.staff_chat_id}, {len(settings.admin_ids)}"
        f" staff, time zone {settings.timezone.key}, database {settings.database_shown})"
    )
    for line in crisis_lines(settings):
        echo(line)
    problems = 0
    for line, ok in _content_checks(settings):
        echo(line)
        problems += 0 if ok else 1
    if settings.database_url is None:
        report = inspect_database(settings.db_path)
    else:
        report = asyncio.run(inspect_postgres(settings.database_url, host=socket.gethostname()))
    line, ok = _database_line(report)
    echo(line)
    problems += 0 if ok else 1
    if live:
        line, ok = heartbeat_line(report, now or datetime.now(UTC))
        echo(line)
        problems += 0 if ok else 1
    return EXIT_PROBLEM if problems else EXIT_OK


def crisis_lines(settings: Settings) -> list[str]:
    """Return the crisis contacts, where they came from, and the reply a patient gets."""
    contacts = SafetyContacts(settings.crisis_line, settings.emergency_number)
    reply = texts.crisis_reply(contacts, care_team_told=True)
    shown = [
        "  | " + wrapped
        for paragraph in reply.splitlines()
        for wrapped in (textwrap.wrap(paragraph, 88) or [""])
    ]
    return [
        f"crisis contacts: from {settings.contacts_from}",
        f"  emergency number: {settings.emergency_number}",
        f"  crisis line: {settings.crisis_line}",
        "  a patient who writes about ending their life is told:",
        *shown,
    ]


def _content_checks(settings: Settings) -> list[tuple[str, bool]]:
    """Return the lines and verdicts of the protocol and content checks."""
    lines: list[tuple[str, bool]] = []
    try:
        protocol = load_protocol(settings.protocol_path)
        lines.append(
            (
                f"protocol: ok ({protocol.source}: {len(protocol.days)} check-ins per infusion,"
                f" days {protocol.days[0]}-{protocol.days[-1]})",
                True,
            )
        )
    except ProtocolError as err:
        lines.append((f"protocol: ERROR {err}", False))
    try:
        library = load_explainers(settings.content_dir)
        lines.append((f"explainers: ok ({len(library)} topics)", True))
        try:
            check_schedule(load_protocol(settings.protocol_path), library)
        except (ExplainerError, ProtocolError) as err:
            lines.append((f"explainer schedule: ERROR {err}", False))
    except ExplainerError as err:
        lines.append((f"explainers: ERROR {err}", False))
    try:
        detector = load_crisis_detector()
        load_crisis_net()
        lines.append(
            (f"crisis patterns: ok ({detector.source}, with the net and its model)", True)
        )
    except CrisisPatternError as err:
        lines.append((f"crisis patterns: ERROR {err}", False))
    return lines


def _database_line(report: DatabaseReport) -> tuple[str, bool]:
    if not report.exists:
        return "database: not created yet (it is created at first start)", True
    if report.integrity.startswith("unreachable"):
        return f"database: ERROR PostgreSQL {report.integrity}", False
    if report.integrity != "ok":
        return f"database: ERROR integrity check says {report.integrity!r}", False
    if report.schema_version > report.latest_version:
        return (
            f"database: ERROR schema {report.schema_version} is newer than this Afterglow"
            f" ({report.latest_version})",
            False,
        )
    pending = report.latest_version - report.schema_version
    waiting = f", {pending} migration(s) to apply at start" if pending else ""
    running = "" if report.instances is None else f", {report.instances} instance(s) running"
    return (
        f"database: ok (schema {report.schema_version}{waiting}, {report.patients} patients"
        f"{running})",
        True,
    )


def heartbeat_line(report: DatabaseReport, now: datetime) -> tuple[str, bool]:
    """Return the live check's verdict on the dispatcher's last pass.

    With several instances on PostgreSQL the dispatcher's heartbeat is everyone's, so an
    instance running on this host is judged by its own last sign of work (a hung one
    keeps its locks but stops showing it); a standby waiting to lead, by the heartbeat.
    """
    if report.seen_here is not None:
        age = (now - report.seen_here).total_seconds()
        if age > STALE_AFTER:
            return (
                f"instance: ERROR this host's instance last worked {age:.0f} s ago (more than"
                f" {STALE_AFTER:.0f} s): it is hung",
                False,
            )
        return f"instance: ok (this host's instance worked {max(age, 0):.0f} s ago)", True
    if report.heartbeat is None:
        return "dispatcher: ERROR no pass recorded (is `afterglow run` running?)", False
    age = (now - report.heartbeat).total_seconds()
    if age > STALE_AFTER:
        return (
            f"dispatcher: ERROR last pass {age:.0f} s ago (more than {STALE_AFTER:.0f} s):"
            " the bot is hung or not running",
            False,
        )
    return f"dispatcher: ok (last pass {max(age, 0):.0f} s ago)", True
