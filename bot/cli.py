"""The `afterglow` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import dotenv_values

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


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="afterglow", description="Follow-up check-ins after ketamine infusions, on Telegram."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the bot (long polling)")
    run_parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run_parser.set_defaults(handler=run)
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
