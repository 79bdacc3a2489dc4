"""The services of a running bot, wired once, in one place, over one open database."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.domain.clock import Clock
from bot.domain.crisis import CrisisNet
from bot.domain.entities import Clinic
from bot.domain.explainers import ExplainerLibrary
from bot.domain.protocol import Protocol
from bot.domain.questionnaires import Questionnaire
from bot.services.alerts import AlertService
from bot.services.care import CareService
from bot.services.checkins import CheckinService
from bot.services.dispatcher import Dispatcher
from bot.services.education import EducationService
from bot.services.enrolment import EnrolmentService
from bot.services.escalation import EscalationService
from bot.services.ports import (
    ChartRenderer,
    CheckinSender,
    HistoryRenderer,
    PatientSender,
    QuestionnaireSender,
    SendPermits,
    StaffSender,
    UrgentMessenger,
    Wording,
)
from bot.services.privacy import PrivacyService
from bot.services.questionnaire_planner import QuestionnairePlanner
from bot.services.questionnaires import QuestionnaireService
from bot.services.questions import QuestionService
from bot.services.records import RecordService
from bot.services.roster import RosterService, UserIdsChanged
from bot.services.safety import SafetyService
from bot.services.silence import SilenceService
from bot.services.staff import StaffService
from bot.services.stats import StatsService
from bot.services.trends import TrendService
from bot.services.urgent import UrgentOutbox
from storage import Storage


@dataclass(frozen=True, slots=True)
class Outside:
    """Everything the services reach the outside world through."""

    checkins: CheckinSender
    staff: StaffSender
    patients: PatientSender
    urgent: UrgentMessenger
    questionnaires: QuestionnaireSender
    wording: Wording
    charts: ChartRenderer
    history: HistoryRenderer
    permits: SendPermits


@dataclass(frozen=True, slots=True)
class StaffWatch:
    """Who is notified when the roster admits or drops a Telegram user (the staff filter)."""

    joined: UserIdsChanged
    removed: UserIdsChanged


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a handler or a job may call."""

    clinic: Clinic
    clock: Clock
    protocol: Protocol
    storage: Storage
    enrolment: EnrolmentService
    care: CareService
    checkins: CheckinService
    dispatcher: Dispatcher
    alerts: AlertService
    staff: StaffService
    trends: TrendService
    education: EducationService
    safety: SafetyService
    silence: SilenceService
    urgent: UrgentOutbox
    questions: QuestionService
    questionnaires: QuestionnaireService
    questionnaire_plan: QuestionnairePlanner
    records: RecordService
    roster: RosterService
    escalation: EscalationService
    stats: StatsService
    privacy: PrivacyService

    def is_staff(self, user_id: int | None) -> bool:
        """Tell whether a Telegram user may use staff commands: an owner or a joined member."""
        return self.roster.is_staff(user_id)


@dataclass(frozen=True, slots=True)
class _Care:
    """The services that watch over patients and reach the staff and them."""

    staff: StaffService
    alerts: AlertService
    education: EducationService
    trends: TrendService
    silence: SilenceService


def _care(
    storage: Storage,
    clock: Clock,
    clinic: Clinic,
    protocol: Protocol,
    library: ExplainerLibrary,
    outside: Outside,
    on_staff_chat_moved: Callable[[int], None],
) -> _Care:
    staff = StaffService(
        storage,
        clock,
        timezone=clinic.timezone,
        charts=outside.charts,
        detection=protocol.detection,
    )
    alerts = AlertService(
        storage,
        clock,
        outside.staff,
        staff_chat_id=clinic.staff_chat_id,
        chart=staff.alert_chart,
        on_staff_chat_moved=on_staff_chat_moved,
        escalate_after=protocol.urgent_escalate_after,
    )
    education = EducationService(
        storage,
        clock,
        library=library,
        contacts=clinic.contacts,
        schedule=protocol.explainers,
        alerts=alerts,
        sender=outside.patients,
        wording=outside.wording,
    )
    trends = TrendService(
        storage,
        clock,
        alerts=alerts,
        wording=outside.wording,
        config=protocol.detection,
        adaptive=protocol.adaptive,
        default_time=protocol.default_time,
        on_episode=[education.on_episode],
    )
    silence = SilenceService(
        storage,
        clock,
        alerts=alerts,
        wording=outside.wording,
        pause_alert_after=protocol.pause_alert_after,
    )
    return _Care(staff=staff, alerts=alerts, education=education, trends=trends, silence=silence)


def _safety(
    storage: Storage, clock: Clock, *, net: CrisisNet, alerts: AlertService, outside: Outside
) -> tuple[SafetyService, QuestionService, UrgentOutbox]:
    urgent = UrgentOutbox(
        storage, clock, outside.urgent, staff_chat=alerts.staff_chat_come_what_may
    )
    questions = QuestionService(
        storage,
        clock,
        alerts=alerts,
        messenger=outside.urgent,
        outbox=urgent,
        wording=outside.wording,
    )
    safety = SafetyService(
        storage,
        clock,
        net=net,
        alerts=alerts,
        outbox=urgent,
        questions=questions,
        wording=outside.wording,
    )
    return safety, questions, urgent


def _check_ins(
    storage: Storage,
    clock: Clock,
    instance: int | None,
    protocol: Protocol,
    outside: Outside,
    care: _Care,
    questions: QuestionService,
) -> tuple[CheckinService, Dispatcher]:
    checkins = CheckinService(
        storage,
        clock,
        sender=outside.checkins,
        trends=care.trends,
        questions=questions,
        silence=care.silence,
        instance=instance,
    )
    dispatcher = Dispatcher(
        storage,
        clock,
        outside.checkins,
        protocol=protocol,
        permits=outside.permits,
        on_delivered=[care.education.after_checkin],
        on_unreachable=[care.silence.unreachable],
        instance=instance,
    )
    return checkins, dispatcher


def _staff_side(
    storage: Storage,
    clock: Clock,
    clinic: Clinic,
    protocol: Protocol,
    outside: Outside,
    urgent: UrgentOutbox,
    staff_watch: StaffWatch,
) -> tuple[RosterService, EscalationService]:
    roster = RosterService(
        storage,
        clock,
        owners=clinic.staff_ids,
        on_joined=staff_watch.joined,
        on_removed=staff_watch.removed,
    )
    escalation = EscalationService(
        storage,
        clock,
        roster=roster,
        sender=outside.staff,
        outbox=urgent,
        wording=outside.wording,
        every=protocol.urgent_escalate_after,
    )
    return roster, escalation


def _privacy(
    storage: Storage,
    clock: Clock,
    clinic: Clinic,
    silence: SilenceService,
    questions: QuestionService,
) -> PrivacyService:
    return PrivacyService(
        storage,
        clock,
        silence=silence,
        questions=questions,
        retention_days=clinic.retention_days,
        delete_clinical_record=clinic.delete_clinical_record,
    )


def _questionnaires(
    storage: Storage,
    clock: Clock,
    questionnaires: Mapping[str, Questionnaire],
    protocol: Protocol,
    outside: Outside,
    care: _Care,
    urgent: UrgentOutbox,
) -> tuple[QuestionnaireService, QuestionnairePlanner]:
    asking = QuestionnaireService(
        storage,
        clock,
        questionnaires=questionnaires,
        expire_after=protocol.questionnaires.expire_after,
        alerts=care.alerts,
        outbox=urgent,
        wording=outside.wording,
        on_episode=[care.education.on_episode],
    )
    planner = QuestionnairePlanner(
        storage,
        clock,
        service=asking,
        plan=protocol.questionnaires,
        sender=outside.questionnaires,
        default_time=protocol.default_time,
    )
    return asking, planner


def build_services(
    storage: Storage,
    clock: Clock,
    *,
    clinic: Clinic,
    protocol: Protocol,
    library: ExplainerLibrary,
    net: CrisisNet,
    questionnaires: Mapping[str, Questionnaire],
    outside: Outside,
    on_staff_chat_moved: Callable[[int], None],
    staff_watch: StaffWatch,
    instance: int | None = None,
) -> Services:
    """Wire the services over an open database; `instance` is this process's id among those
    sharing it (the check-ins it claims carry it; None in tests of one process)."""
    care = _care(storage, clock, clinic, protocol, library, outside, on_staff_chat_moved)
    safety, questions, urgent = _safety(
        storage, clock, net=net, alerts=care.alerts, outside=outside
    )
    checkins, dispatcher = _check_ins(storage, clock, instance, protocol, outside, care, questions)
    roster, escalation = _staff_side(
        storage, clock, clinic, protocol, outside, urgent, staff_watch
    )
    asking, planner = _questionnaires(
        storage, clock, questionnaires, protocol, outside, care, urgent
    )
    return Services(
        clinic=clinic,
        clock=clock,
        protocol=protocol,
        storage=storage,
        enrolment=EnrolmentService(
            storage,
            clock,
            timezone=clinic.timezone,
            default_time=protocol.default_time.strftime("%H:%M"),
        ),
        care=CareService(
            storage, clock, protocol=protocol, timezone=clinic.timezone, silence=care.silence
        ),
        checkins=checkins,
        dispatcher=dispatcher,
        alerts=care.alerts,
        staff=care.staff,
        trends=care.trends,
        education=care.education,
        safety=safety,
        silence=care.silence,
        urgent=urgent,
        questions=questions,
        questionnaires=asking,
        questionnaire_plan=planner,
        records=RecordService(storage, clock, clinic.timezone, questionnaires, outside.history),
        roster=roster,
        escalation=escalation,
        stats=StatsService(storage, clock),
        privacy=_privacy(storage, clock, clinic, care.silence, questions),
    )
