"""The crisis package: its public surface, and that it stays pure domain code."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.domain.crisis as crisis

PACKAGE = Path(crisis.__file__).parent
NOT_IN_THE_DOMAIN = {"telegram", "httpx", "aiosqlite", "asyncio", "storage"}


def imported(path: Path) -> set[str]:
    """Return the modules a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


def test_the_names_the_bot_uses_are_exported() -> None:
    used = {"CATEGORIES", "CrisisDetector", "CrisisPatternError", "CrisisSignal"}

    assert used <= set(crisis.__all__)
    assert all(hasattr(crisis, name) for name in crisis.__all__)


def test_the_modules_import_no_io_telegram_or_services() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for module in imported(path):
            root = module.split(".")[0]
            assert root not in NOT_IN_THE_DOMAIN, (path.name, module)
            assert root != "bot" or module.startswith("bot.domain."), (path.name, module)
