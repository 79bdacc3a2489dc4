"""The `afterglow` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import dotenv_values

from bot.domain.crisis import CrisisPatternError
from bot.domain.errors import AfterglowError
from bot.domain.explainers import ExplainerError
from bot.domain.protocol import ProtocolError
from bot.runtime.content import load_content
from bot.runtime.settings import (
    ConfigError,
    load_settings,
    load_setup_settings,
    load_webhook_settings,
)
from bot.runtime.version import afterglow_version

EXIT_FAILED = 1
EXIT_CONFIG = 2


def environment(cwd: Path) -> dict[str, str]:
    """Return the process environment over the values of a .env file in cwd, if any."""
    merged: dict[str, str] = {}
    env_file = cwd / ".env"
    if env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def _fail(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"afterglow: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    """Start the bot (long polling, or webhook with --webhook) until stopped."""
    env = environment(Path.cwd())
    from bot.runtime.application import build_application

    try:
        settings = load_settings(env)
        webhook = load_webhook_settings(env) if args.webhook else None
        content = load_content(protocol=settings.protocol_path, explainers=settings.content_dir)
    except ConfigError as err:
        return _fail(f"configuration error: {err}{_setup_hint(err)}")
    except ProtocolError as err:
        return _fail(f"protocol error: {err}")
    except (ExplainerError, CrisisPatternError) as err:
        return _fail(f"content error: {err}")

    from telegram.error import InvalidToken, NetworkError

    from bot.runtime.instance import AlreadyRunningError
    from bot.runtime.lifecycle import ALLOWED_UPDATES, serve_webhook
    from bot.runtime.logs import configure_logging
    from bot.runtime.startup import StartupError, token_rejected, wait_for_telegram

    configure_logging(
        token=settings.token,
        level=logging.DEBUG if args.verbose else logging.INFO,
        json_lines=settings.log_json,
    )
    try:
        # Telegram unreachable (no network yet, an outage): wait it out, or stop on SIGTERM.
        if wait_for_telegram(settings.token, settings.api_base_url) is None:
            return 0
        app = build_application(settings, content=content, announce=True, webhook=bool(webhook))
        # SIGINT and SIGTERM stop taking updates, let handlers and the current dispatcher
        # pass finish, close the database, and return here: exit code 0.
        if webhook is None:
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
        else:
            serve_webhook(app, webhook)
    except (AlreadyRunningError, StartupError) as err:
        return _fail(str(err))
    except InvalidToken:
        return _fail(str(token_rejected(settings.api_base_url)))
    except NetworkError as err:
        lost = f"lost Telegram while starting ({type(err).__name__}); start again"
        return _fail(lost, EXIT_FAILED)
    return 0


def _setup_hint(err: ConfigError) -> str:
    if err.variable in {"AFTERGLOW_STAFF_CHAT_ID", "AFTERGLOW_ADMIN_IDS"}:
        return " (`afterglow setup` finds the ids)"
    return ""


def setup(args: argparse.Namespace) -> int:
    """Answer /whoami and /chatid with only a token, until the ids are in the settings."""
    from bot.runtime.logs import configure_logging
    from bot.runtime.setup_mode import run_setup
    from bot.runtime.startup import StartupError

    try:
        settings = load_setup_settings(environment(Path.cwd()))
    except ConfigError as err:
        return _fail(f"configuration error: {err}")
    configure_logging(token=settings.token, level=logging.INFO)
    try:
        return run_setup(settings)
    except StartupError as err:
        return _fail(str(err))


def check(args: argparse.Namespace) -> int:
    """Validate configuration, crisis contacts, protocol, content and database; print them."""
    from bot.runtime.health import run_check

    return run_check(environment(Path.cwd()), live=args.live)


def backup(args: argparse.Namespace) -> int:
    """Write a consistent copy of the live database to a file."""
    from storage import backup_database

    env = environment(Path.cwd())
    source = Path(env.get("AFTERGLOW_DB", "").strip() or "afterglow.db")
    target: Path = args.target
    if target.exists() and not target.is_dir() and not args.force:
        return _fail(f"{target} exists; use --force to overwrite it")
    try:
        pages = backup_database(source, target)
    except AfterglowError as err:
        return _fail(f"backup failed: {err}", EXIT_FAILED)
    print(f"backed up {source} to {target} ({pages} pages)")
    return 0


def migrate_to_postgres(args: argparse.Namespace) -> int:
    """Copy the SQLite database into an empty PostgreSQL database; verify the row counts."""
    from storage import copy_to_postgres

    env = environment(Path.cwd())
    source = args.source or Path(env.get("AFTERGLOW_DB", "").strip() or "afterglow.db")
    url = (args.url or env.get("AFTERGLOW_DATABASE_URL", "")).strip()
    if not url:
        return _fail("no PostgreSQL database: give --to URL or set AFTERGLOW_DATABASE_URL")
    try:
        report = asyncio.run(copy_to_postgres(source, url))
    except AfterglowError as err:
        return _fail(f"migration failed: {err}", EXIT_FAILED)
    for table, rows in report.tables:
        print(f"{table}: {rows} rows")
    print(f"copied {report.rows} rows in {len(report.tables)} tables; row counts verified")
    return 0


CEILING_DROPS = (0.5, 1.0, 1.5, 2.0)


def simulate_cohort_command(args: argparse.Namespace) -> int:
    """Write a synthetic cohort CSV (docs/detection.md describes the model)."""
    from bot.research.ceiling import oracle_ceiling
    from bot.research.cohort import simulate_cohort, write_cohort_csv

    if args.patients < 1:
        return _fail("--patients must be at least 1")
    rows = simulate_cohort(args.patients, args.seed)
    try:
        write_cohort_csv(rows, args.out)
    except OSError as err:
        return _fail(f"cannot write {args.out} ({err.strerror})")
    print(
        f"wrote {len(rows)} rows for {args.patients} patients to {args.out} (with offered rows:"
        " what each would answer on a day without a planned check-in)"
    )
    print(
        "ceiling: relapse onsets with two answers within 14 days given while the true level"
        " was this far below the patient's level (a method that confirms a drop of that size"
        " on a second answer finds more only by chance):"
    )
    for drop in CEILING_DROPS:
        ceiling = oracle_ceiling(args.patients, args.seed, drop)
        print(
            f"  drop >= {drop:.1f} points: {ceiling.detectable}/{ceiling.onsets}"
            f" = {ceiling.sensitivity:.3f}, median delay {ceiling.median_delay_days:.2f} days"
        )
    daily = oracle_ceiling(args.patients, args.seed, 1.0, daily=True)
    print(
        f"  asked every day, drop >= 1.0 points: {daily.detectable}/{daily.onsets}"
        f" = {daily.sensitivity:.3f}, median delay {daily.median_delay_days:.2f} days"
    )
    return 0


def _research_protocol(path: Path | None) -> tuple[str, str] | None:
    """Return (text, name) of --protocol, else of AFTERGLOW_PROTOCOL as the bot reads it."""
    if path is None:
        chosen = environment(Path.cwd()).get("AFTERGLOW_PROTOCOL", "").strip()
        if not chosen:
            return None
        path = Path(chosen).expanduser()
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read a TOML protocol ({err})") from None


def evaluate_detector_command(args: argparse.Namespace) -> int:
    """Replay a cohort CSV through the detector and the naive rule and print the table."""
    from bot.research.cohort import CohortFormatError
    from bot.research.evaluation import evaluate_cohort, format_report
    from bot.research.settings_file import read_settings

    try:
        setting = read_settings(*(_research_protocol(args.protocol) or ("", "defaults")))
    except ValueError as err:
        return _fail(f"protocol error: {err}")
    try:
        report = evaluate_cohort(args.cohort, setting.detection, setting.adaptive)
    except CohortFormatError as err:
        return _fail(f"malformed cohort: {err}")
    print(format_report(report))
    return 0


def tune_detector_command(args: argparse.Namespace) -> int:
    """Sweep the detector's main thresholds on a cohort; print and draw the frontier."""
    from bot.research.cohort import CohortFormatError, read_cohort_csv
    from bot.research.settings_file import read_settings
    from bot.research.tuning_commands import TuningError, run_tuning
    from bot.runtime.content import default_protocol_text

    try:
        found = _research_protocol(args.protocol)
        setting = read_settings(*(found or ("", "defaults")))
    except ValueError as err:
        return _fail(f"protocol error: {err}")
    try:
        rows = read_cohort_csv(args.cohort)
    except CohortFormatError as err:
        return _fail(f"malformed cohort: {err}")
    try:
        text = found[0] if found is not None else default_protocol_text()
        output = run_tuning(
            rows,
            setting,
            protocol_text=text,
            chart=args.chart,
            pick=args.pick,
            write_protocol=args.write_protocol,
            force=args.force,
            jobs=args.jobs,
            show_all=args.all,
        )
    except TuningError as err:
        return _fail(str(err))
    print(output)
    return 0


def evaluate_crisis_command(args: argparse.Namespace) -> int:
    """Score the crisis net on a labelled corpus: recall and false alarms per layer and kind."""
    from bot.research.crisis_corpus import CorpusError
    from bot.research.crisis_eval import evaluate_file

    try:
        report = evaluate_file(args.corpus, show=args.show, rules_only=args.rules_only)
    except CorpusError as err:
        return _fail(f"malformed corpus: {err}")
    except CrisisPatternError as err:
        return _fail(f"content error: {err}")
    print(report)
    return 0


def demo(args: argparse.Namespace) -> int:
    """Run the whole product against the embedded fake Telegram, in accelerated time."""
    from bot.demo import run_demo

    return run_demo(out=args.out, days=args.days, patients=args.patients)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="afterglow", description="Follow-up check-ins after ketamine infusions, on Telegram."
    )
    parser.add_argument("--version", action="version", version=f"afterglow {afterglow_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the bot (long polling by default)")
    run_parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run_parser.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates by webhook (AFTERGLOW_WEBHOOK_URL, AFTERGLOW_WEBHOOK_SECRET,"
        " AFTERGLOW_WEBHOOK_LISTEN, AFTERGLOW_WEBHOOK_PORT)",
    )
    run_parser.set_defaults(handler=run)

    check_parser = commands.add_parser(
        "check", help="validate configuration, crisis contacts, protocol, content and database"
    )
    check_parser.add_argument(
        "--live",
        action="store_true",
        help="also fail when the running bot's last dispatcher pass is over 90 s old",
    )
    check_parser.set_defaults(handler=check)

    setup_parser = commands.add_parser(
        "setup", help="with only a token: answer /whoami and /chatid to find the ids"
    )
    setup_parser.set_defaults(handler=setup)

    backup_parser = commands.add_parser(
        "backup", help="copy the live database consistently (safe while the bot runs)"
    )
    backup_parser.add_argument("target", type=Path, help="file to write")
    backup_parser.add_argument("--force", action="store_true", help="overwrite the file")
    backup_parser.set_defaults(handler=backup)

    migrate = commands.add_parser("migrate-to-postgres", help="copy SQLite into empty PostgreSQL")
    migrate.add_argument("--from", dest="source", type=Path, help="SQLite file (AFTERGLOW_DB)")
    migrate.add_argument("--to", dest="url", help="postgresql:// URL (AFTERGLOW_DATABASE_URL)")
    migrate.set_defaults(handler=migrate_to_postgres)

    demo_parser = commands.add_parser(
        "demo", help="show the product working: no token, no network, about a minute"
    )
    demo_parser.add_argument(
        "--out", type=Path, default=None, help="folder for the transcript, charts and database"
    )
    demo_parser.add_argument(
        "--days", type=int, default=28, help="simulated days (12-60, default 28)"
    )
    demo_parser.add_argument("--patients", type=int, default=3, help="simulated patients (2-6)")
    demo_parser.set_defaults(handler=demo)

    _add_research_commands(commands)
    return parser


def _add_research_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the research commands: simulate-cohort, evaluate-, tune-detector, evaluate-crisis."""
    simulate = commands.add_parser(
        "simulate-cohort", help="write a synthetic cohort CSV for evaluating the detector"
    )
    simulate.add_argument("--patients", type=int, required=True, help="number of patients")
    simulate.add_argument("--seed", type=int, required=True, help="random seed")
    simulate.add_argument("--out", type=Path, required=True, help="CSV file to write")
    simulate.set_defaults(handler=simulate_cohort_command)

    evaluate = commands.add_parser(
        "evaluate-detector", help="compare the detector with the naive rule on a cohort CSV"
    )
    evaluate.add_argument("cohort", type=Path, help="CSV from simulate-cohort")
    evaluate.add_argument(
        "--protocol",
        type=Path,
        default=None,
        help="protocol file whose [detection] and [adaptive] to use (default: AFTERGLOW_PROTOCOL)",
    )
    evaluate.set_defaults(handler=evaluate_detector_command)

    tuner = commands.add_parser(
        "tune-detector", help="sweep the detector's thresholds on a cohort CSV: the frontier"
    )
    tuner.add_argument("cohort", type=Path, help="CSV from simulate-cohort")
    tuner.add_argument(
        "--protocol", type=Path, default=None, help="base protocol (default: AFTERGLOW_PROTOCOL)"
    )
    tuner.add_argument("--chart", type=Path, default=None, help="PNG file for the frontier")
    tuner.add_argument("--pick", type=int, default=None, help="frontier row to write")
    tuner.add_argument(
        "--write-protocol", type=Path, default=None, help="write the picked setting here"
    )
    tuner.add_argument("--force", action="store_true", help="overwrite --write-protocol")
    tuner.add_argument("--jobs", type=int, default=1, help="processes to use (default 1)")
    tuner.add_argument("--all", action="store_true", help="also list every setting swept")
    tuner.set_defaults(handler=tune_detector_command)

    crisis = commands.add_parser(
        "evaluate-crisis", help="score the crisis net on a labelled corpus (TOML [[message]])"
    )
    crisis.add_argument("corpus", type=Path, help="TOML file of [[message]] text, label, kind")
    crisis.add_argument("--show", action="store_true", help="list misses and false alarms")
    crisis.add_argument("--rules-only", action="store_true", help="without the classifier")
    crisis.set_defaults(handler=evaluate_crisis_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `afterglow` console script."""
    # Opt in to python-telegram-bot's timedelta time periods (no deprecation warnings).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


def console() -> None:
    """Console-script wrapper that exits with main()'s code."""
    sys.exit(main())
