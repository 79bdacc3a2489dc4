"""The storage tests run on both backends: SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.postgres import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test here runs once per backend."""
    return str(request.param)
