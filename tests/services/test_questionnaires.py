"""Questionnaires over a real database: steps, races, expiry, the safety item, the finding."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.codes import AlertKind, QuestionnaireOrigin, QuestionnaireStatus
from bot.domain.entities import Patient
from bot.runtime.content import load_questionnaires
from bot.services.questionnaires import QuestionnaireService, Step, StepKind
from bot.services.staff import StaffService
from bot.services.urgent import UrgentOutbox
from bot.telegram import questionnaire_texts
from bot.telegram.staff_replies import summary
from tests.conftest import CLINIC_TZ, STAFF_ID, WORDING, Domain, alert_service
from tests.services.test_safety import STAFF_CHAT, Messenger

QUESTIONNAIRES = load_questionnaires()
USER = 501


class Asking:
    """A questionnaire service over the test database, and what it sent."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.messenger = Messenger()
        self.alerts = alert_service(domain.storage, domain.clock, staff_chat_id=STAFF_CHAT)
        outbox = UrgentOutbox(
            domain.storage,
            domain.clock,
            self.messenger,
            staff_chat=self.alerts.staff_chat_come_what_may,
        )
        self.episodes: list[str] = []

        async def on_episode(patient: Patient, kind: object, alert: object) -> None:
            self.episodes.append(patient.code)

        self.service = QuestionnaireService(
            domain.storage,
            domain.clock,
            questionnaires=QUESTIONNAIRES,
            expire_after=timedelta(hours=24),
            alerts=self.alerts,
            outbox=outbox,
            wording=WORDING,
            on_episode=[on_episode],
        )

    async def start(self, instrument: str = "phq9", user: int = USER) -> Step:
        return await self.service.request(user_id=user, instrument=instrument, update_id=None)

    async def answer(self, step: Step, value: int, user: int = USER) -> Step:
        assert step.response is not None
        return await self.service.answer(
            user_id=user,
            response_id=step.response.id,
            index=len(step.response.answers),
            value=value,
        )

    async def run(self, instrument: str, values: list[int]) -> Step:
        step = await self.start(instrument)
        for value in values:
            step = await self.answer(step, value)
        return step

    async def urgent_alerts(self, patient_id: int) -> list[str]:
        alerts = await self.domain.storage.alerts.for_patient(patient_id, limit=50)
        return [a.text for a in alerts if a.urgent]


@pytest.fixture
def asking(domain: Domain) -> Asking:
    return Asking(domain)


async def test_a_request_starts_at_the_first_item(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    step = await asking.start()
    assert step.kind is StepKind.ASK
    assert not step.resumed
    assert step.response is not None
    assert step.response.origin is QuestionnaireOrigin.REQUESTED
    assert step.progress.index == 0


@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ([0] * 9, 0, "minimal"),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], 4, "minimal"),
        ([1, 1, 1, 1, 1, 0, 0, 0, 0, 1], 5, "mild"),
        ([1, 1, 1, 2, 2, 2, 0, 0, 0, 2], 9, "mild"),
        ([2, 2, 2, 2, 2, 0, 0, 0, 0, 2], 10, "moderate"),
        ([2, 2, 2, 2, 2, 2, 2, 0, 0, 3], 14, "moderate"),
        ([3, 3, 3, 2, 2, 2, 0, 0, 0, 3], 15, "moderately severe"),
        ([3, 3, 3, 2, 2, 2, 2, 2, 0, 3], 19, "moderately severe"),
        ([3, 3, 3, 3, 2, 2, 2, 2, 0, 3], 20, "severe"),
        ([3] * 8 + [0, 3], 24, "severe"),
    ],
)
async def test_phq9_total_and_band_are_stored(
    asking: Asking, domain: Domain, values: list[int], total: int, band: str
) -> None:
    patient = await domain.enrol(USER)
    step = await asking.run("phq9", values)
    assert step.kind is StepKind.DONE
    done = await domain.storage.questionnaires.completed(patient.id, "phq9")
    assert [(r.total, r.band) for r in done] == [(total, band)]
    assert done[0].status is QuestionnaireStatus.COMPLETED
    assert done[0].answers[:9] == tuple(values[:9])


@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ([0] * 7, 0, "minimal"),
        ([1, 1, 1, 1, 0, 0, 0], 4, "minimal"),
        ([1, 1, 1, 1, 1, 0, 0], 5, "mild"),
        ([2, 2, 2, 2, 1, 0, 0], 9, "mild"),
        ([2, 2, 2, 2, 2, 0, 0], 10, "moderate"),
        ([2, 2, 2, 2, 2, 2, 2], 14, "moderate"),
        ([3, 3, 3, 2, 2, 2, 0], 15, "severe"),
        ([3] * 7, 21, "severe"),
    ],
)
async def test_gad7_total_and_band_are_stored(
    asking: Asking, domain: Domain, values: list[int], total: int, band: str
) -> None:
    patient = await domain.enrol(USER)
    step = await asking.run("gad7", values)
    assert step.kind is StepKind.DONE
    assert step.response is not None
    assert (step.response.total, step.response.band) == (total, band)
    assert len(await domain.storage.questionnaires.completed(patient.id, "gad7")) == 1


async def test_all_zero_skips_the_functional_question(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    step = await asking.run("phq9", [0] * 9)
    assert step.kind is StepKind.DONE
    assert step.response is not None
    assert step.response.answers == (0,) * 9 + (None,)


async def test_the_functional_question_can_be_skipped(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    step = await asking.run("phq9", [1] * 9)
    assert step.kind is StepKind.ASK
    assert step.progress.index == 9
    assert step.response is not None
    done = await asking.service.skip(user_id=USER, response_id=step.response.id, index=9)
    assert done.kind is StepKind.DONE
    assert done.response is not None
    assert done.response.total == 9


async def test_a_required_item_cannot_be_skipped(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    step = await asking.start()
    assert step.response is not None
    same = await asking.service.skip(user_id=USER, response_id=step.response.id, index=0)
    assert same.kind is StepKind.ASK
    assert same.progress.index == 0


async def test_back_undoes_the_previous_answer(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    step = await asking.run("phq9", [2, 3])
    assert step.response is not None
    back = await asking.service.back(user_id=USER, response_id=step.response.id, index=2)
    assert back.kind is StepKind.ASK
    assert back.response is not None
    assert back.response.answers == (2,)
    again = await asking.answer(back, 0)
    assert again.response is not None
    assert again.response.answers == (2, 0)


async def test_back_at_the_first_item_stays(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    step = await asking.start()
    assert step.response is not None
    back = await asking.service.back(user_id=USER, response_id=step.response.id, index=0)
    assert back.kind is StepKind.ASK
    assert back.progress.index == 0


async def test_a_double_press_counts_once(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    step = await asking.start()
    assert step.response is not None
    first = await asking.service.answer(
        user_id=USER, response_id=step.response.id, index=0, value=1
    )
    second = await asking.service.answer(
        user_id=USER, response_id=step.response.id, index=0, value=3
    )
    assert first.response is not None
    assert second.response is not None
    assert second.response.answers == (1,)
    assert second.resumed


async def test_an_impossible_score_changes_nothing(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    step = await asking.start()
    assert step.response is not None
    same = await asking.service.answer(
        user_id=USER, response_id=step.response.id, index=0, value=7
    )
    assert same.response is not None
    assert same.response.answers == ()


async def test_someone_elses_administration_is_unknown(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    await domain.enrol(USER + 1)
    step = await asking.start()
    assert step.response is not None
    other = await asking.service.answer(
        user_id=USER + 1, response_id=step.response.id, index=0, value=1
    )
    assert other.kind is StepKind.UNKNOWN
    stranger = await asking.service.answer(
        user_id=777, response_id=step.response.id, index=0, value=1
    )
    assert stranger.kind is StepKind.UNKNOWN
    stored = await domain.storage.questionnaires.get(step.response.id)
    assert stored is not None
    assert stored.answers == ()


async def test_a_stranger_cannot_start_one(asking: Asking, domain: Domain) -> None:
    step = await asking.start(user=777)
    assert step.kind is StepKind.NOT_ENROLLED
    rows = await domain.storage.database.fetch_all("SELECT id FROM questionnaire_responses")
    assert rows == []


async def test_an_unknown_instrument_is_unknown(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    assert (await asking.start("phq2")).kind is StepKind.UNKNOWN


async def test_a_second_request_resumes_where_it_was(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    await asking.run("phq9", [1, 1, 1])
    again = await asking.start("phq9")
    assert again.resumed
    assert again.progress.index == 3
    other = await asking.start("gad7")
    assert other.resumed
    assert other.response is not None
    assert other.response.instrument == "phq9"


async def test_unfinished_ones_expire_after_a_day(asking: Asking, domain: Domain) -> None:
    patient = await domain.enrol(USER)
    step = await asking.run("gad7", [1, 2])
    domain.clock.advance(timedelta(hours=24, seconds=1))
    late = await asking.answer(step, 1)
    assert late.kind is StepKind.EXPIRED
    assert step.response is not None
    stored = await domain.storage.questionnaires.get(step.response.id)
    assert stored is not None
    assert stored.status is QuestionnaireStatus.EXPIRED
    assert stored.answers == (1, 2)
    fresh = await asking.start("gad7")
    assert fresh.kind is StepKind.ASK
    assert not fresh.resumed
    assert fresh.progress.index == 0
    assert await domain.storage.questionnaires.completed(patient.id) == []


async def test_an_answer_just_before_expiry_counts(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    step = await asking.run("gad7", [1])
    domain.clock.advance(timedelta(hours=23, minutes=59))
    assert (await asking.answer(step, 1)).kind is StepKind.ASK


async def test_a_completed_one_is_already_done(asking: Asking, domain: Domain) -> None:
    await domain.enrol(USER)
    done = await asking.run("gad7", [0] * 7)
    assert done.response is not None
    again = await asking.service.answer(
        user_id=USER, response_id=done.response.id, index=6, value=1
    )
    assert again.kind is StepKind.ALREADY_DONE


async def test_item_nine_takes_the_urgent_path_at_once(asking: Asking, domain: Domain) -> None:
    patient = await domain.enrol(USER)
    step = await asking.run("phq9", [1] * 8)
    assert await asking.urgent_alerts(patient.id) == []
    after = await asking.answer(step, 1)
    # Not finished yet: the functional question is still to come.
    assert after.kind is StepKind.ASK
    urgent = await asking.urgent_alerts(patient.id)
    assert len(urgent) == 1
    assert patient.code in urgent[0]
    assert "URGENT" in urgent[0]
    assert "Several days" in urgent[0]
    replies = asking.messenger.to(USER)
    assert len(replies) == 1
    assert "988" in replies[0]


async def test_item_nine_again_after_back_is_not_a_second_alert(
    asking: Asking, domain: Domain
) -> None:
    patient = await domain.enrol(USER)
    step = await asking.run("phq9", [1] * 9)
    assert step.response is not None
    back = await asking.service.back(user_id=USER, response_id=step.response.id, index=9)
    await asking.answer(back, 3)
    assert len(await asking.urgent_alerts(patient.id)) == 1
    assert len(asking.messenger.to(USER)) == 1
    # Worse than first told: the staff hear it once, as a follow-up.
    [worse] = asking.messenger.staff()
    assert patient.code in worse
    assert "Nearly every day" in worse
    again = await asking.service.back(user_id=USER, response_id=step.response.id, index=9)
    await asking.answer(again, 2)
    await asking.service.back(user_id=USER, response_id=step.response.id, index=9)
    assert len(asking.messenger.staff()) == 1


async def test_item_nine_not_at_all_is_not_urgent(asking: Asking, domain: Domain) -> None:
    patient = await domain.enrol(USER)
    await asking.run("phq9", [3] * 8 + [0, 3])
    assert await asking.urgent_alerts(patient.id) == []
    assert asking.messenger.to(USER) == []


async def _phq9_total(asking: Asking, values: list[int]) -> None:
    step = await asking.run("phq9", values)
    assert step.kind is StepKind.DONE, step.kind


async def test_a_rise_of_five_opens_a_decline_alert(asking: Asking, domain: Domain) -> None:
    patient = await domain.enrol(USER)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    domain.clock.advance(timedelta(days=1))
    await _phq9_total(asking, [1, 1, 0, 0, 0, 0, 0, 0, 0, 0])  # 2
    domain.clock.advance(timedelta(days=7))
    await _phq9_total(asking, [1, 1, 1, 1, 1, 1, 1, 0, 0, 1])  # 7: up 5
    alerts = await domain.storage.alerts.for_patient(patient.id)
    declines = [a for a in alerts if a.kind is AlertKind.DECLINE]
    assert len(declines) == 1
    assert "PHQ-9 up 5 points, from 2" in declines[0].text
    assert asking.episodes == [patient.code]
    # The usual rule: one open episode, so a further rise is not another alert.
    domain.clock.advance(timedelta(days=7))
    await _phq9_total(asking, [2, 2, 2, 2, 1, 1, 1, 1, 0, 2])
    alerts = await domain.storage.alerts.for_patient(patient.id)
    assert len([a for a in alerts if a.kind is AlertKind.DECLINE]) == 1


async def test_crossing_ten_opens_a_decline_alert(asking: Asking, domain: Domain) -> None:
    patient = await domain.enrol(USER)
    await _phq9_total(asking, [1, 1, 1, 1, 1, 1, 1, 0, 0, 1])  # 7
    domain.clock.advance(timedelta(days=14))
    await _phq9_total(asking, [2, 2, 1, 1, 1, 1, 1, 1, 0, 1])  # 10
    alerts = await domain.storage.alerts.for_patient(patient.id)
    declines = [a for a in alerts if a.kind is AlertKind.DECLINE]
    assert len(declines) == 1
    assert "PHQ-9 reached 10" in declines[0].text


async def test_a_first_phq9_is_never_a_finding(asking: Asking, domain: Domain) -> None:
    patient = await domain.enrol(USER)
    await _phq9_total(asking, [3] * 8 + [0, 3])
    alerts = await domain.storage.alerts.for_patient(patient.id)
    assert [a for a in alerts if a.kind is AlertKind.DECLINE] == []


async def test_gad7_totals_are_not_read_by_the_detector(asking: Asking, domain: Domain) -> None:
    patient = await domain.enrol(USER)
    await asking.run("gad7", [0] * 7)
    domain.clock.advance(timedelta(days=14))
    await asking.run("gad7", [3] * 7)
    assert await domain.storage.alerts.for_patient(patient.id) == []


async def test_a_stopped_patient_cannot_go_on(asking: Asking, domain: Domain) -> None:
    patient = await domain.enrol(USER)
    step = await asking.start()
    await domain.care.stop(patient)
    assert (await asking.answer(step, 1)).kind is StepKind.NOT_ENROLLED
    assert (await asking.start()).kind is StepKind.NOT_ENROLLED


async def test_staff_see_latest_totals_with_response_and_remission(
    asking: Asking, domain: Domain
) -> None:
    patient = await domain.enrol(USER)
    await _phq9_total(asking, [3, 3, 3, 3, 2, 2, 2, 2, 0, 3])  # 20, the baseline
    await asking.run("gad7", [2] * 7)  # 14
    domain.clock.advance(timedelta(days=14))
    await _phq9_total(asking, [1, 1, 1, 1, 1, 1, 1, 1, 0, 1])  # 8: half or less
    done = await domain.storage.questionnaires.completed(patient.id)
    lines = questionnaire_texts.summaries(done, CLINIC_TZ)
    assert lines[0].startswith("GAD-7: 14 (moderate) on ")
    assert lines[1].startswith("PHQ-9: 8 (mild) on ")
    assert lines[1].endswith("; baseline 20, response")
    domain.clock.advance(timedelta(days=14))
    await _phq9_total(asking, [1, 1, 1, 1, 0, 0, 0, 0, 0, 1])  # 4
    done = await domain.storage.questionnaires.completed(patient.id)
    assert questionnaire_texts.summaries(done, CLINIC_TZ)[1].endswith(
        "; baseline 20, response and remission"
    )
    summary = await domain_staff_summary(domain, patient)
    assert "PHQ-9: 4 (minimal)" in summary


async def domain_staff_summary(domain: Domain, patient: Patient) -> str:
    class NoCharts:
        def mood_chart(self, data: object, *, tz: object) -> bytes:
            return b""

    staff = StaffService(
        domain.storage,
        domain.clock,
        timezone=CLINIC_TZ,
        charts=NoCharts(),
        detection=domain.protocol.detection,
    )
    view = await staff.summary(patient)
    return summary(view, now=domain.clock.now(), tz=CLINIC_TZ)


async def test_item_nine_reaches_staff_even_when_the_alert_cannot_be_stored(
    asking: Asking, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = await domain.enrol(USER)
    step = await asking.run("phq9", [0] * 8)

    async def broken(**kwargs: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(domain.storage.alerts, "add", broken)
    await asking.answer(step, 2)
    monkeypatch.undo()

    assert len(asking.messenger.to(USER)) == 1  # the crisis reply
    told = asking.messenger.staff()
    assert len(told) == 1
    assert patient.code in told[0]
    assert "More than half the days" in told[0]
    # Told once: a further press on the same item is not another message.
    assert step.response is not None
    await asking.service.answer(user_id=USER, response_id=step.response.id, index=8, value=2)
    assert len(asking.messenger.staff()) == 1


async def test_item_nine_after_expiry_still_takes_the_urgent_path(
    asking: Asking, domain: Domain
) -> None:
    patient = await domain.enrol(USER)
    step = await asking.run("phq9", [1] * 8)
    domain.clock.advance(timedelta(hours=25))
    late = await asking.answer(step, 3)
    assert late.kind is StepKind.EXPIRED
    assert len(await asking.urgent_alerts(patient.id)) == 1
    assert len(asking.messenger.to(USER)) == 1


async def test_item_nine_from_a_stopped_patient_still_takes_the_urgent_path(
    asking: Asking, domain: Domain
) -> None:
    patient = await domain.enrol(USER)
    step = await asking.run("phq9", [1] * 8)
    await domain.care.stop(patient)
    assert (await asking.answer(step, 1)).kind is StepKind.NOT_ENROLLED
    assert len(await asking.urgent_alerts(patient.id)) == 1


async def test_item_nine_on_an_old_copy_still_takes_the_urgent_path(
    asking: Asking, domain: Domain
) -> None:
    patient = await domain.enrol(USER)
    step = await asking.run("phq9", [1] * 8 + [0])  # item 9 "Not at all": on to the last one
    assert step.response is not None
    again = await asking.service.answer(
        user_id=USER, response_id=step.response.id, index=8, value=3
    )
    assert again.kind is StepKind.ASK
    assert again.response is not None
    assert again.response.answers[8] == 0  # the stored answer is not changed by an old copy
    assert len(await asking.urgent_alerts(patient.id)) == 1
