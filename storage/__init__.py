"""Afterglow's storage: SQLite through aiosqlite. The only package that speaks SQL.

Repositories return the entities of `bot.domain.entities`.
"""

from ._alerts import AlertRepository
from ._checkins import CheckinRepository
from ._database import Database, SchemaError, latest_schema_version
from ._explainers import ExplainerDeliveryRepository
from ._infusions import InfusionRepository
from ._maintenance import DatabaseReport, backup_database, inspect_database
from ._patients import CodeTakenError, PatientRepository
from ._store import Storage, open_storage

__all__ = [
    "AlertRepository",
    "CheckinRepository",
    "CodeTakenError",
    "Database",
    "DatabaseReport",
    "ExplainerDeliveryRepository",
    "InfusionRepository",
    "PatientRepository",
    "SchemaError",
    "Storage",
    "backup_database",
    "inspect_database",
    "latest_schema_version",
    "open_storage",
]
