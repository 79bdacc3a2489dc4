"""The questionnaire plan at work over a real database and a manual clock."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from bot.domain.codes import DeliveryProblem, QuestionnaireOrigin, QuestionnaireStatus
from bot.domain.delivery import Delivered, NotDelivered, SendOutcome, Undeliverable
from bot.domain.entities import QuestionnaireResponse
from bot.domain.questionnaire_plan import QuestionnairePlan
from bot.domain.questionnaires import Questionnaire
from bot.services.questionnaire_planner import QuestionnairePlanner
from tests.conftest import CLINIC_TZ, STAFF_ID, Domain
from tests.services.test_questionnaires import Asking

USER = 601


class Sender:
    """Records the first items sent; answers from a script, then with deliveries."""

    def __init__(self) -> None:
        self.script: list[SendOutcome] = []
        self.sent: list[tuple[int, str, QuestionnaireOrigin]] = []

    async def send_questionnaire(
        self, chat_id: int, response: QuestionnaireResponse, questionnaire: Questionnaire
    ) -> SendOutcome:
        self.sent.append((chat_id, response.instrument, response.origin))
        if self.script:
            return self.script.pop(0)
        return Delivered(message_id=len(self.sent))


@pytest.fixture
def asking(domain: Domain) -> Asking:
    return Asking(domain)


@pytest.fixture
def sender() -> Sender:
    return Sender()


@pytest.fixture
def planner(domain: Domain, asking: Asking, sender: Sender) -> QuestionnairePlanner:
    return QuestionnairePlanner(
        domain.storage,
        domain.clock,
        service=asking.service,
        plan=QuestionnairePlan(),
        sender=sender,
        default_time=time(9, 0),
    )


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=CLINIC_TZ)


async def test_the_baseline_comes_at_the_patients_time(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender
) -> None:
    # Enrolled Monday 2 March 08:00 Berlin, check-in time 10:30.
    await domain.enrol(USER, time="10:30")
    assert await planner.tend() == 0
    domain.clock.set(local(2, 10, 29))
    assert await planner.tend() == 0
    domain.clock.set(local(2, 10, 30))
    assert await planner.tend() == 1
    assert sender.sent == [(USER, "phq9", QuestionnaireOrigin.BASELINE)]
    # One at a time: nothing more while the PHQ-9 is in progress.
    assert await planner.tend() == 0


async def test_gad7_follows_once_the_phq9_is_done(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender, asking: Asking
) -> None:
    await domain.enrol(USER, time="10:30")
    domain.clock.set(local(2, 10, 30))
    await planner.tend()
    step = await asking.start("phq9", user=USER)  # resumes the planned one
    assert step.resumed
    for _ in range(9):
        step = await asking.answer(step, 0, user=USER)
    assert await planner.tend() == 1
    assert [entry[1] for entry in sender.sent] == ["phq9", "gad7"]


async def test_it_waits_for_the_check_in_sent_that_day(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender
) -> None:
    patient = await domain.enrol(USER, time="10:30")
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    checkin_id = await domain.send_next(patient.id)
    domain.clock.set(max(domain.clock.now(), local(2, 10, 30)))
    assert await planner.tend() == 0
    rows = await domain.storage.checkins.for_patient(patient.id)
    sent = next(c for c in rows if c.id == checkin_id)
    assert sent.due_at <= domain.clock.now()
    await domain.storage.database.write_one(
        "UPDATE checkins SET state = 'answered', score = 6, answered_at = ? WHERE id = ?",
        (int(domain.clock.now().timestamp()), checkin_id),
    )
    assert await planner.tend() == 1


async def test_a_week_after_an_infusion(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender, asking: Asking
) -> None:
    patient = await domain.enrol(USER, time="10:30")
    domain.clock.set(local(2, 10, 30))
    await planner.tend()
    await domain.storage.database.write_one(
        "UPDATE questionnaire_responses SET status = 'expired'", ()
    )
    await planner.tend()  # the GAD-7 baseline
    await domain.storage.database.write_one(
        "UPDATE questionnaire_responses SET status = 'expired' WHERE status = 'in_progress'", ()
    )
    sender.sent.clear()
    domain.clock.set(local(4, 12))
    await domain.care.record_infusion(
        args=[patient.code, "2026-03-04", "11:00"], staff_id=STAFF_ID, update_id=None
    )
    await domain.storage.database.write_one("UPDATE checkins SET state = 'cancelled'", ())
    domain.clock.set(local(11, 10, 29))
    assert await planner.tend() == 0
    domain.clock.set(local(11, 10, 30))
    assert await planner.tend() == 1
    assert sender.sent == [(USER, "phq9", QuestionnaireOrigin.AFTER_INFUSION)]


async def test_every_fourteen_days_without_an_infusion(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender
) -> None:
    await domain.enrol(USER, time="10:30")
    domain.clock.set(local(2, 10, 30))
    await planner.tend()
    await domain.storage.database.write_one(
        "UPDATE questionnaire_responses SET status = 'expired'", ()
    )
    await planner.tend()
    await domain.storage.database.write_one(
        "UPDATE questionnaire_responses SET status = 'expired' WHERE status = 'in_progress'", ()
    )
    sender.sent.clear()
    domain.clock.set(local(16, 10, 29))
    assert await planner.tend() == 0
    domain.clock.set(local(16, 10, 30))
    assert await planner.tend() == 1
    assert sender.sent == [(USER, "phq9", QuestionnaireOrigin.INTERVAL)]


async def test_a_send_that_failed_is_planned_again(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender
) -> None:
    patient = await domain.enrol(USER, time="10:30")
    domain.clock.set(local(2, 10, 30))
    sender.script = [NotDelivered(DeliveryProblem.CONNECT_FAILED)]
    assert await planner.tend() == 0
    assert await domain.storage.questionnaires.in_progress(patient.id) is None
    assert await planner.tend() == 1
    assert len(sender.sent) == 2


async def test_an_unreachable_patient_is_not_asked_every_pass(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender
) -> None:
    patient = await domain.enrol(USER, time="10:30")
    domain.clock.set(local(2, 10, 30))
    sender.script = [
        Undeliverable(DeliveryProblem.FORBIDDEN, recipient_gone=True),
        Undeliverable(DeliveryProblem.FORBIDDEN, recipient_gone=True),
    ]
    await planner.tend()
    rows = await domain.storage.database.fetch_all(
        "SELECT status FROM questionnaire_responses WHERE patient_id = ?", (patient.id,)
    )
    assert [row["status"] for row in rows] == [QuestionnaireStatus.EXPIRED]
    await planner.tend()  # the GAD-7 is tried once too
    await planner.tend()
    assert len(sender.sent) == 2


async def test_paused_and_stopped_patients_are_not_asked(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender
) -> None:
    paused = await domain.enrol(USER, time="10:30")
    stopped = await domain.enrol(USER + 1, time="10:30")
    await domain.care.pause(paused)
    await domain.care.stop(stopped)
    domain.clock.set(local(2, 10, 30))
    assert await planner.tend() == 0
    assert sender.sent == []


async def test_unfinished_planned_ones_expire(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender
) -> None:
    patient = await domain.enrol(USER, time="10:30")
    domain.clock.set(local(2, 10, 30))
    await planner.tend()
    domain.clock.advance(timedelta(hours=24))
    await planner.tend()
    rows = await domain.storage.database.fetch_all(
        "SELECT instrument, status FROM questionnaire_responses WHERE patient_id = ? ORDER BY id",
        (patient.id,),
    )
    assert [(r["instrument"], r["status"]) for r in rows] == [
        ("phq9", "expired"),
        ("gad7", "in_progress"),
    ]


async def test_never_at_night_it_waits_for_the_morning(
    domain: Domain, planner: QuestionnairePlanner, sender: Sender
) -> None:
    await domain.enrol(USER, time="10:30")
    domain.clock.set(local(2, 21, 31))
    assert await planner.tend() == 0
    domain.clock.set(local(3, 7, 59))
    assert await planner.tend() == 0
    # Overdue from yesterday: today at the patient's own time, not at the first daytime pass.
    domain.clock.set(local(3, 8, 0))
    assert await planner.tend() == 0
    domain.clock.set(local(3, 10, 30))
    assert await planner.tend() == 1
    assert sender.sent == [(USER, "phq9", QuestionnaireOrigin.BASELINE)]
