"""The repositories over one open database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ._alerts import AlertRepository
from ._answers import AnswerRepository
from ._checkins import CheckinRepository
from ._clinic import ClinicRepository
from ._database import Database
from ._episodes import EpisodeRepository
from ._escalations import EscalationRepository
from ._explainers import ExplainerDeliveryRepository
from ._inbox import InboxRepository
from ._infusions import InfusionRepository
from ._outbox import OutboxRepository
from ._patients import PatientRepository
from ._privacy import PrivacyRepository
from ._questionnaires import QuestionnaireRepository
from ._questions import QuestionRepository
from ._records import RecordRepository
from ._roster import RosterRepository
from ._silence import SilenceRepository
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
    async def open(cls, path: Path) -> Storage:
        """Open (creating and migrating if needed) the database at path."""
        db = Database(path)
        await db.open()
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
async def open_storage(path: Path) -> AsyncIterator[Storage]:
    """Open storage for the duration of a block."""
    storage = await Storage.open(path)
    try:
        yield storage
    finally:
        await storage.close()
