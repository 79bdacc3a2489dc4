"""The repositories over one open database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ._alerts import AlertRepository
from ._answers import AnswerRepository
from ._checkins import CheckinRepository
from ._claims import LeaseRepository
from ._clinic import ClinicRepository
from ._database import Database
from ._episodes import EpisodeRepository
from ._escalations import EscalationRepository
from ._explainers import ExplainerDeliveryRepository
from ._inbox import InboxRepository
from ._infusions import InfusionRepository
from ._instances import InstanceRepository
from ._outbox import OutboxRepository
from ._patients import PatientRepository
from ._postgres import PostgresDatabase, is_postgres_url
from ._privacy import PrivacyRepository
from ._questionnaires import QuestionnaireRepository
from ._questions import QuestionRepository
from ._records import RecordRepository
from ._roster import RosterRepository
from ._silence import SilenceRepository
from ._sqlite import SqliteDatabase
from ._stats import StatsRepository


@dataclass(frozen=True, slots=True)
class Storage:
    """Every repository, sharing one database."""

    database: Database
    patients: PatientRepository
    infusions: InfusionRepository
    checkins: CheckinRepository
    answers: AnswerRepository
    alerts: AlertRepository
    episodes: EpisodeRepository
    clinic: ClinicRepository
    explainers: ExplainerDeliveryRepository
    inbox: InboxRepository
    instances: InstanceRepository
    leases: LeaseRepository
    outbox: OutboxRepository
    questions: QuestionRepository
    questionnaires: QuestionnaireRepository
    records: RecordRepository
    silence: SilenceRepository
    roster: RosterRepository
    escalations: EscalationRepository
    stats: StatsRepository
    privacy: PrivacyRepository

    @classmethod
    async def open(cls, location: Path | str) -> Storage:
        """Open (creating and migrating if needed) a SQLite file or a postgresql:// URL."""
        db: Database
        if isinstance(location, str) and is_postgres_url(location):
            db = PostgresDatabase(location)
        else:
            db = SqliteDatabase(Path(location))
        await db.open()
        return cls.over(db)

    @classmethod
    def over(cls, db: Database) -> Storage:
        """Return the repositories over an open database."""
        return cls(
            database=db,
            patients=PatientRepository(db),
            infusions=InfusionRepository(db),
            checkins=CheckinRepository(db),
            answers=AnswerRepository(db),
            alerts=AlertRepository(db),
            episodes=EpisodeRepository(db),
            clinic=ClinicRepository(db),
            explainers=ExplainerDeliveryRepository(db),
            inbox=InboxRepository(db),
            instances=InstanceRepository(db),
            leases=LeaseRepository(db),
            outbox=OutboxRepository(db),
            questions=QuestionRepository(db),
            questionnaires=QuestionnaireRepository(db),
            records=RecordRepository(db),
            silence=SilenceRepository(db),
            roster=RosterRepository(db),
            escalations=EscalationRepository(db),
            stats=StatsRepository(db),
            privacy=PrivacyRepository(db),
        )

    async def close(self) -> None:
        """Close the database."""
        await self.database.close()


@asynccontextmanager
async def open_storage(location: Path | str) -> AsyncIterator[Storage]:
    """Open storage for the duration of a block."""
    storage = await Storage.open(location)
    try:
        yield storage
    finally:
        await storage.close()
