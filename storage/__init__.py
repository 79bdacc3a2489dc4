"""Afterglow's storage: SQLite through aiosqlite. The only package that speaks SQL."""

from ._checkins import CheckinRepository
from ._database import Database, SchemaError, latest_schema_version
from ._infusions import InfusionRepository
from ._models import (
    AnswerOutcome,
    AnswerResult,
    Checkin,
    CheckinKind,
    CheckinState,
    Delivery,
    DueCheckin,
    HousekeepingCounts,
    Infusion,
    Patient,
    PatientOverview,
    PatientStatus,
    PlannedCheckin,
    RedeemOutcome,
    Redemption,
    TextContext,
)
from ._patients import CodeTakenError, PatientRepository
from ._store import Storage, open_storage

__all__ = [
    "AnswerOutcome",
    "AnswerResult",
    "Checkin",
    "CheckinKind",
    "CheckinRepository",
    "CheckinState",
    "CodeTakenError",
    "Database",
    "Delivery",
    "DueCheckin",
    "HousekeepingCounts",
    "Infusion",
    "InfusionRepository",
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
    "latest_schema_version",
    "open_storage",
]
