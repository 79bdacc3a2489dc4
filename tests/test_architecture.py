"""The shape of the code, checked: which layer may import which, and how big things get.

Dependencies point one way: domain <- services <- telegram and handlers <- runtime <- cli;
storage uses the domain only. The demo, the research tools and the fake Bot API server are
reached only from the CLI (lazily, inside the commands that run them), tests and
benchmarks. Every import is found by walking the syntax tree, including imports inside
functions.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "bot", ROOT / "handlers", ROOT / "storage"]

# Each layer and the project layers it may import (itself included).
ALLOWED: dict[str, set[str]] = {
    "domain": {"domain"},
    "storage": {"storage", "domain"},
    "services": {"services", "domain", "storage"},
    "telegram": {"telegram", "services", "domain"},
    "handlers": {"handlers", "telegram", "services", "domain"},
    "runtime": {"runtime", "handlers", "telegram", "services", "domain", "storage"},
    "cli": {"cli", "runtime", "domain", "storage", "research", "demo"},
    "research": {"research", "domain"},
    "demo": {"demo", "runtime", "services", "domain", "storage", "fake_telegram"},
    "fake_telegram": {"fake_telegram"},
    "package": set(),
}
# Third-party and standard-library roots a layer must not touch.
FORBIDDEN: dict[str, set[str]] = {
    "domain": {
        "telegram",
        "httpx",
        "aiohttp",
        "aiosqlite",
        "sqlite3",
        "sqlalchemy",
        "asyncpg",
        "matplotlib",
        "asyncio",
        "os",
        "pathlib",
        "importlib",
        "socket",
        "logging",
    },
    "storage": {"telegram", "httpx", "aiohttp", "matplotlib"},
    "services": {
        "telegram",
        "httpx",
        "aiohttp",
        "aiosqlite",
        "sqlite3",
        "sqlalchemy",
        "asyncpg",
        "matplotlib",
    },
    "telegram": {"aiosqlite", "sqlite3", "sqlalchemy", "asyncpg"},
    "handlers": {"aiosqlite", "sqlite3", "sqlalchemy", "asyncpg", "httpx", "matplotlib"},
}
TOOLS = {"demo", "research", "fake_telegram"}
MAX_MODULE_LINES = 410
MAX_FUNCTION_LINES = 60
# Third-party libraries the domain may use: pure computation, no I/O.
PURE_LIBRARIES = {"rapidfuzz", "emoji"}
# Functions that are a data table, not logic.
DATA_TABLES: set[str] = set()


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement's target, where it is and whether it runs at import time."""

    module: str
    line: int
    top_level: bool


def layer_of(module: str) -> str | None:
    """Return the project layer of a dotted module name, or None outside the project."""
    parts = module.split(".")
    if parts[0] in {"handlers", "storage"}:
        return parts[0]
    if parts[0] != "bot":
        return None
    if len(parts) == 1:
        return "package"
    if parts[1] in {"cli", "__main__"}:
        return "cli"
    if parts[1] in ALLOWED:
        return parts[1]
    return "package"


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[Import]:
    """Return every import in a file, relative ones resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> list[Import]:
    """Return every import in module source text whose package is `package`."""
    tree = ast.parse(source)
    found: list[Import] = []
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(Import(target, node.lineno, id(node) in top))
    return found


def source_files() -> list[Path]:
    return sorted(path for folder in SOURCES for path in folder.rglob("*.py"))


def test_the_scan_sees_the_whole_tree() -> None:
    names = {module_name(path) for path in source_files()}
    assert {"bot.domain.codes", "bot.services.dispatcher", "handlers.patient"} <= names
    assert {"bot.telegram.senders", "bot.runtime.application", "storage._checkins"} <= names
    assert all(layer_of(name) is not None for name in names)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("bot.domain.probe", "from bot.services.alerts import AlertService\n"),
        ("bot.domain.probe", "def f():\n    import telegram\n"),
        ("bot.services.probe", "from ..telegram import texts\n"),
        ("storage.probe", "from bot.services import container\n"),
        ("handlers.probe", "from storage import Storage\n"),
        ("bot.runtime.probe", "from bot.demo import run_demo\n"),
        ("bot.cli", "from bot.fake_telegram import FakeTelegramServer\n"),
        ("bot.cli", "from bot.demo import run_demo\n"),
    ],
)
def test_a_wrong_import_would_be_caught(module: str, source: str) -> None:
    """The checker itself finds each kind of violation, relative and nested imports too."""
    package = module.rsplit(".", 1)[0]
    assert violations(module, imports_in(source, package)) != []


def test_the_cli_may_reach_a_tool_inside_its_command() -> None:
    source = "def demo():\n    from bot.demo import run_demo\n"
    assert violations("bot.cli", imports_in(source, "bot")) == []


def violations(module: str, found: list[Import]) -> list[str]:
    """Return the imports of a module that break the layer rules."""
    layer = layer_of(module)
    assert layer is not None
    problems: list[str] = []
    for item in found:
        target = layer_of(item.module)
        root = item.module.split(".")[0]
        if target is None:
            if root in FORBIDDEN.get(layer, set()):
                problems.append(f"{module}:{item.line} imports {item.module}")
            continue
        if target == "package" or target == layer:
            continue
        if target not in ALLOWED[layer]:
            problems.append(f"{module}:{item.line} ({layer}) imports {item.module} ({target})")
        elif layer == "cli" and target in TOOLS and item.top_level:
            problems.append(f"{module}:{item.line} imports the tool {item.module} at start-up")
    return problems


def test_dependencies_point_one_way() -> None:
    problems = [
        problem
        for path in source_files()
        for problem in violations(module_name(path), imports_of(path))
    ]
    assert problems == []


def test_nothing_on_the_runtime_path_reaches_the_tools() -> None:
    runtime_layers = {"domain", "storage", "services", "telegram", "handlers", "runtime"}
    reached = [
        f"{module_name(path)} -> {item.module}"
        for path in source_files()
        if layer_of(module_name(path)) in runtime_layers
        for item in imports_of(path)
        if layer_of(item.module) in TOOLS
    ]
    assert reached == []


def test_only_storage_speaks_sql() -> None:
    offenders = []
    for path in source_files():
        if layer_of(module_name(path)) == "storage":
            continue
        text = path.read_text(encoding="utf-8")
        for keyword in ("SELECT ", "UPDATE ", "INSERT INTO", "DELETE FROM"):
            if f'"{keyword}' in text or f"'{keyword}" in text:
                offenders.append(f"{module_name(path)}: {keyword.strip()}")
    assert offenders == []


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            name = f"{module_name(path)}.{node.name}"
            if length > MAX_FUNCTION_LINES and name not in DATA_TABLES:
                long.append(f"{name}: {length} lines")
    return long


def test_no_module_or_function_is_too_long() -> None:
    long_modules = [
        f"{module_name(path)}: {count} lines"
        for path in source_files()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    long_functions = [entry for path in source_files() for entry in _long_functions(path)]
    assert long_modules == []
    assert long_functions == []


@pytest.mark.parametrize("layer", ["domain"])
def test_the_domain_imports_nothing_that_does_io(layer: str) -> None:
    roots = {
        item.module.split(".")[0]
        for path in source_files()
        if layer_of(module_name(path)) == layer
        for item in imports_of(path)
    }
    stdlib = set(sys.stdlib_module_names)
    assert roots - stdlib - {"bot", "__future__"} - PURE_LIBRARIES == set()
    assert roots & FORBIDDEN[layer] == set()
