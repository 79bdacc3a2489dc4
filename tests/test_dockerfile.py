"""The Dockerfile's essentials (there is no Docker engine on the build machines)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs with continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_slim_python_base() -> None:
    froms = [args for keyword, args in instructions() if keyword == "FROM"]
    assert len(froms) == 1
    assert re.fullmatch(r"python:3\.1[1-9][\w.-]*-slim[\w.-]*", froms[0])


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    steps = instructions()
    install_deps = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "requirements" in a)
    copy_code = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and a.startswith("bot"))
    copy_manifest = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and "pyproject" in a)
    assert copy_manifest < install_deps < copy_code


def test_runs_as_a_non_root_user_with_data_in_a_volume() -> None:
    steps = instructions()
    users = [a for k, a in steps if k == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    volumes = [a for k, a in steps if k == "VOLUME"]
    assert any("/data" in v for v in volumes)
    env = " ".join(a for k, a in steps if k == "ENV")
    assert "AFTERGLOW_DB=/data/" in env
    assert "AFTERGLOW_BACKUP_DIR=/data/" in env


def test_health_check_and_entry_point() -> None:
    steps = instructions()
    health = [a for k, a in steps if k == "HEALTHCHECK"]
    assert len(health) == 1
    assert json.loads(health[0].split("CMD", 1)[1].strip()) == ["afterglow", "check", "--live"]
    cmd = [a for k, a in steps if k == "CMD"]
    assert json.loads(cmd[-1]) == ["afterglow", "run"]


def test_dockerignore_keeps_secrets_and_data_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".env", "*.db", ".git", ".venv"):
        assert entry in ignored


def test_ci_runs_the_readmes_test_command_and_the_container_check_on_request() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Run the tests", 1)[1]
    command = section.split("```sh\n", 1)[1].split("\n```", 1)[0].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]

    assert command in lines
    guard = 'if [[ "${CONTAINER_CHECK:-0}" == 1 ]]; then'
    assert guard in lines
    after = lines[lines.index(guard) :]
    assert after[:3] == [guard, "tests/container/check.sh", "fi"]
    assert [line for line in lines if "check.sh" in line] == ["tests/container/check.sh"]
