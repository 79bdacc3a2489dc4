"""The `afterglow` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from dotenv import dotenv_values

from .detection import DetectorConfig
from .protocol import ProtocolError, load_protocol
from .settings import ConfigError, load_settings

EXIT_CONFIG = 2


def environment(cwd: Path) -> dict[str, str]:
    """Return the process environment over the values of a .env file in cwd, if any."""
    merged: dict[str, str] = {}
    env_file = cwd / ".env"
    if env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def _fail(message: str) -> int:
    print(f"afterglow: {message}", file=sys.stderr)
    return EXIT_CONFIG


def run(args: argparse.Namespace) -> int:
    """Start the bot with long polling until interrupted."""
    env = environment(Path.cwd())
    try:
        settings = load_settings(env)
        protocol = load_protocol(settings.protocol_path)
    except ConfigError as err:
        return _fail(f"configuration error: {err}")
    except ProtocolError as err:
        return _fail(f"protocol error: {err}")

    from .app import ALLOWED_UPDATES, build_application
    from .logs import configure_logging

    configure_logging(token=settings.token, level=logging.DEBUG if args.verbose else logging.INFO)
    app = build_application(settings, protocol=protocol)
    app.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


def simulate_cohort_command(args: argparse.Namespace) -> int:
    """Write a synthetic cohort CSV (docs/detection.md describes the model)."""
    from .cohort import simulate_cohort, write_cohort_csv

    if args.patients < 1:
        return _fail("--patients must be at least 1")
    rows = simulate_cohort(args.patients, args.seed)
    try:
        write_cohort_csv(rows, args.out)
    except OSError as err:
        return _fail(f"cannot write {args.out} ({err.strerror})")
    print(f"wrote {len(rows)} rows for {args.patients} patients to {args.out}")
    return 0


def _detector_config(path: Path | None) -> DetectorConfig:
    """Return the [detection] thresholds of a protocol file, or the defaults."""
    if path is None:
        return DetectorConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"{path}: cannot read a TOML protocol ({err})") from None
    table = data.get("detection", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [detection] must be a table")
    try:
        return DetectorConfig.from_mapping(table)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def evaluate_detector_command(args: argparse.Namespace) -> int:
    """Replay a cohort CSV through the detector and the naive rule and print the table."""
    from .cohort import CohortFormatError
    from .evaluation import evaluate_cohort, format_report

    try:
        config = _detector_config(args.protocol)
    except ValueError as err:
        return _fail(f"protocol error: {err}")
    try:
        report = evaluate_cohort(args.cohort, config)
    except CohortFormatError as err:
        return _fail(f"malformed cohort: {err}")
    print(format_report(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="afterglow", description="Follow-up check-ins after ketamine infusions, on Telegram."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the bot (long polling)")
    run_parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run_parser.set_defaults(handler=run)

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
        "--protocol", type=Path, default=None, help="protocol file whose [detection] to use"
    )
    evaluate.set_defaults(handler=evaluate_detector_command)
    return parser


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
