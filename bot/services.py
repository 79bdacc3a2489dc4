"""The services a running bot shares, built once the database is open."""

from __future__ import annotations

from dataclasses import dataclass

from storage import Storage

from .alerts import AlertService, StaffSender
from .care import CareService
from .checkins import CheckinService
from .clock import Clock
from .crisis import CrisisDetector
from .dispatcher import CheckinSender, Dispatcher
from .education import EducationService
from .enrolment import EnrolmentService
from .explainers import ExplainerLibrary
from .protocol import Protocol
from .safety import SafetyService
from .settings import Settings
from .staff import StaffService
from .texts import SafetyContacts
from .trends import TrendService


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
