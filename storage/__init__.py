"""Afterglow's storage: SQLite through aiosqlite. The only package that speaks SQL."""

from ._alerts import AlertRepository
from ._checkins import CheckinRepository
from ._database import Database, SchemaError, latest_schema_version
from ._explainers import ExplainerDeliveryRepository
from ._infusions import InfusionRepository
from ._maintenance import DatabaseReport, backup_database, inspect_database
from ._models import (
    Alert,
    AnswerOutcome,
    AnswerResult,
    AuditEntry,
    Checkin,
    CheckinKind,
    CheckinState,
    Delivery,
    DueCheckin,
    EpisodeRecord,
    HousekeepingCounts,
    Infusion,
    MoodPoint,
    NewAlert,
    Outcome,
    Patient,
    PatientOverview,
    PatientStatus,
    PlannedCheckin,
    RedeemOutcome,
    Redemption,
    TextContext,
    WaitingPush,
)
from ._patients import CodeTakenError, PatientRepository
from ._store import Storage, open_storage

__all__ = [
    "Alert",
    "AlertRepository",
    "AnswerOutcome",
    "AnswerResult",
    "AuditEntry",
    "Checkin",
    "CheckinKind",
    "CheckinRepository",
    "CheckinState",
    "CodeTakenError",
    "Database",
    "DatabaseReport",
    "Delivery",
    "DueCheckin",
    "EpisodeRecord",
    "ExplainerDeliveryRepository",
    "HousekeepingCounts",
    "Infusion",
    "InfusionRepository",
    "MoodPoint",
    "NewAlert",
    "Outcome",
    "Patient",
    "PatientOverview",
    "PatientRepository",
    "PatientStatus",
    "PlannedCheckin",
    "RedeemOutcome",
    "Redemption",
    "SchemaError",
    "Storage",
    "TextContext",
    "WaitingPush",
    "backup_database",
    "inspect_database",
    "latest_schema_version",
    "open_storage",
]
