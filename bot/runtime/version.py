"""The installed Afterglow's version, as `afterglow --version` and the start-up line say it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def afterglow_version() -> str:
    """Return the installed distribution's version ('unknown' when run from a bare tree)."""
    try:
        return version("afterglow")
    except PackageNotFoundError:
        return "unknown"
