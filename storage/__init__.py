"""Afterglow's storage: SQLite (aiosqlite) or PostgreSQL (SQLAlchemy, asyncpg). The only
package that speaks SQL.

Repositories return the entities of `bot.domain.entities`.
"""

from ._alerts import AlertRepository
from ._answers import AnswerRepository
from ._checkins import CheckinRepository
from ._clinic import ClinicRepository
from ._copy import CopyReport, copy_to_postgres
from ._copy_source import CopyError
from ._database import Database, Row, SchemaError, Transaction, latest_schema_version
from ._episodes import EpisodeRepository
from ._escalations import EscalationRepository
from ._explainers import ExplainerDeliveryRepository
from ._inbox import InboxRepository
from ._infusions import InfusionRepository
from ._instances import InstanceRepository
from ._leader import LeaderLock
from ._maintenance import DatabaseReport, backup_database, inspect_database
from ._outbox import OutboxRepository
from ._patients import CodeTakenError, PatientRepository
from ._pg_inspect import inspect_postgres
from ._postgres import (
    LEADER_LOCK,
    DatabaseUrlError,
    PostgresDatabase,
    instance_lock_key,
    is_postgres_url,
    postgres_url,
)
from ._privacy import PrivacyRepository
from ._questionnaires import QuestionnaireRepository
from ._questions import QuestionRepository
from ._records import RecordRepository
from ._roster import NameTakenError, RosterRepository
from ._silence import SilenceRepository
from ._sqlite import SqliteDatabase
from ._stats import StatsRepository
from ._store import Storage, open_storage

__all__ = [
    "LEADER_LOCK",
    "AlertRepository",
    "AnswerRepository",
    "CheckinRepository",
    "ClinicRepository",
    "CodeTakenError",
    "CopyError",
    "CopyReport",
    "Database",
    "DatabaseReport",
    "DatabaseUrlError",
    "EpisodeRepository",
    "EscalationRepository",
    "ExplainerDeliveryRepository",
    "InboxRepository",
    "InfusionRepository",
    "InstanceRepository",
    "LeaderLock",
    "NameTakenError",
    "OutboxRepository",
    "PatientRepository",
    "PostgresDatabase",
    "PrivacyRepository",
    "QuestionRepository",
    "QuestionnaireRepository",
    "RecordRepository",
    "RosterRepository",
    "Row",
    "SchemaError",
    "SilenceRepository",
    "SqliteDatabase",
    "StatsRepository",
    "Storage",
    "Transaction",
    "backup_database",
    "copy_to_postgres",
    "inspect_database",
    "inspect_postgres",
    "instance_lock_key",
    "is_postgres_url",
    "latest_schema_version",
    "open_storage",
    "postgres_url",
]
