"""The services a running bot shares, built once the database is open."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.clock import Clock
from bot.domain.crisis import CrisisDetector
from bot.domain.explainers import ExplainerLibrary
from bot.domain.protocol import Protocol
from bot.runtime.settings import Settings
from bot.services.alerts import AlertService, StaffSender
from bot.services.care import CareService
from bot.services.checkins import CheckinService
from bot.services.dispatcher import CheckinSender, Dispatcher
from bot.services.education import EducationService
from bot.services.enrolment import EnrolmentService
from bot.services.safety import SafetyService
from bot.services.staff import StaffService
from bot.services.trends import TrendService
from bot.telegram.texts import SafetyContacts
from storage import Storage


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a handler may call."""

    settings: Settings
    clock: Clock
    protocol: Protocol
    storage: Storage
    contacts: SafetyContacts
    enrolment: EnrolmentService
    care: CareService
    checkins: CheckinService
    dispatcher: Dispatcher
    alerts: AlertService
    staff: StaffService
    trends: TrendService
    education: EducationService
    safety: SafetyService

    def is_staff(self, user_id: int | None) -> bool:
        """Tell whether a Telegram user may use staff commands."""
        return user_id is not None and user_id in self.settings.admin_ids


async def open_services(
    settings: Settings,
    clock: Clock,
    protocol: Protocol,
    sender: CheckinSender,
    staff_sender: StaffSender,
    *,
    library: ExplainerLibrary,
    detector: CrisisDetector,
) -> Services:
    """Open the database and wire the services over it."""
    storage = await Storage.open(settings.db_path)
    default_time = protocol.default_time.strftime("%H:%M")
    staff = StaffService(storage, clock, timezone=settings.timezone)
    alerts = AlertService(
        storage, clock, staff_sender, staff_chat_id=settings.staff_chat_id, chart=staff.alert_chart
    )
    trends = TrendService(storage, clock, alerts=alerts, staff=staff, config=protocol.detection)
    checkins = CheckinService(storage, clock)
    checkins.on_answer(trends.review_patient_quietly)
    contacts = SafetyContacts(settings.crisis_line, settings.emergency_number)
    education = EducationService(
        storage,
        clock,
        library=library,
        contacts=contacts,
        schedule=protocol.explainers,
        alerts=alerts,
    )
    trends.on_episode(education.on_episode)
    dispatcher = Dispatcher(storage, clock, sender, protocol=protocol)
    dispatcher.on_delivered(education.after_checkin)
    safety = SafetyService(storage, clock, detector=detector, alerts=alerts, contacts=contacts)
    return Services(
        settings=settings,
        clock=clock,
        protocol=protocol,
        storage=storage,
        contacts=contacts,
        enrolment=EnrolmentService(
            storage, clock, timezone=settings.timezone, default_time=default_time
        ),
        care=CareService(storage, clock, protocol=protocol, timezone=settings.timezone),
        checkins=checkins,
        dispatcher=dispatcher,
        alerts=alerts,
        staff=staff,
        trends=trends,
        education=education,
        safety=safety,
    )
