"""The detection package: its public surface, and that it stays pure domain code."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.domain.detection as detection

PACKAGE = Path(detection.__file__).parent
NOT_IN_THE_DOMAIN = {"telegram", "httpx", "aiosqlite", "asyncio", "storage"}


def imported(path: Path) -> dict[str, set[str]]:
    """Return each module a file imports, with the names it takes from it."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name, set())
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.setdefault(node.module, set()).update(alias.name for alias in node.names)
    return found


def test_the_names_the_bot_uses_are_exported() -> None:
    used = {
        "DetectorConfig",
        "Episode",
        "Evidence",
        "Finding",
        "Observation",
        "Recovery",
        "evaluate",
    }

    assert used <= set(detection.__all__)
    assert all(hasattr(detection, name) for name in detection.__all__)


def test_the_modules_import_no_io_telegram_or_services() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for module in imported(path):
            root = module.split(".")[0]
            assert root not in NOT_IN_THE_DOMAIN, (path.name, module)
            assert root != "bot" or module.startswith("bot.domain."), (path.name, module)
