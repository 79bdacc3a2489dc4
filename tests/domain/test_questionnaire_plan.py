"""The questionnaire plan: baseline at enrolment, a week after each infusion, every 14 days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.codes import QuestionnaireOrigin
from bot.domain.protocol import ProtocolError, parse_protocol
from bot.domain.questionnaire_plan import QuestionnairePlan, next_due, send_moment
from bot.runtime.content import default_protocol_text

PLAN = QuestionnairePlan()
ENROLLED = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def test_never_asked_is_due_at_enrolment_as_the_baseline() -> None:
    due = next_due(PLAN, "phq9", enrolled_at=ENROLLED, infusions=[], last_started=None)
    assert (due.origin, due.at) == (QuestionnaireOrigin.BASELINE, ENROLLED)


def test_every_fourteen_days_after_the_last_start() -> None:
    last = ENROLLED + timedelta(days=1)
    due = next_due(PLAN, "phq9", enrolled_at=ENROLLED, infusions=[], last_started=last)
    assert (due.origin, due.at) == (QuestionnaireOrigin.INTERVAL, last + timedelta(days=14))


def test_an_infusion_resets_the_clock_to_seven_days_after_it() -> None:
    last = ENROLLED
    infusion = ENROLLED + timedelta(days=3)
    due = next_due(PLAN, "phq9", enrolled_at=ENROLLED, infusions=[infusion], last_started=last)
    assert (due.origin, due.at) == (
        QuestionnaireOrigin.AFTER_INFUSION,
        infusion + timedelta(days=7),
    )


def test_an_infusion_already_followed_up_does_not_count_again() -> None:
    infusion = ENROLLED
    last = infusion + timedelta(days=7, hours=2)
    due = next_due(PLAN, "phq9", enrolled_at=ENROLLED, infusions=[infusion], last_started=last)
    assert due.origin is QuestionnaireOrigin.INTERVAL
    assert due.at == last + timedelta(days=14)


def test_one_sent_early_on_the_due_day_counts_as_the_one_after_the_infusion() -> None:
    # The infusion was at 10:00; a week later the patient's time is 09:00, so the PHQ-9 went
    # out an hour before the exact moment. It must not be asked again at 10:00.
    infusion = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    started = infusion + timedelta(days=7) - timedelta(hours=1)
    due = next_due(PLAN, "phq9", enrolled_at=ENROLLED, infusions=[infusion], last_started=started)
    assert due.origin is QuestionnaireOrigin.INTERVAL
    assert due.at == started + timedelta(days=14)


def test_a_late_infusion_whose_week_comes_after_the_interval_leaves_the_interval() -> None:
    last = ENROLLED
    infusion = ENROLLED + timedelta(days=10)
    due = next_due(PLAN, "phq9", enrolled_at=ENROLLED, infusions=[infusion], last_started=last)
    assert (due.origin, due.at) == (QuestionnaireOrigin.INTERVAL, last + timedelta(days=14))


def test_the_latest_of_several_infusions_counts() -> None:
    infusions = [ENROLLED + timedelta(days=1), ENROLLED + timedelta(days=4)]
    due = next_due(PLAN, "gad7", enrolled_at=ENROLLED, infusions=infusions, last_started=ENROLLED)
    assert due.at == infusions[1] + timedelta(days=7)


def test_sent_at_the_patients_time_on_the_due_day() -> None:
    due = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    moment = send_moment(due, checkin_time=time(9, 30), tz=BERLIN)
    assert moment == datetime(2026, 3, 9, 9, 30, tzinfo=BERLIN)


def test_the_due_day_counts_not_the_hour() -> None:
    due = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # 13:00 in Berlin: the time passed
    moment = send_moment(due, checkin_time=time(9, 30), tz=BERLIN)
    assert moment == datetime(2026, 3, 9, 9, 30, tzinfo=BERLIN)


def test_strictly_never_before_the_due_moment() -> None:
    due = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # enrolled at 13:00 in Berlin
    moment = send_moment(due, checkin_time=time(9, 30), tz=BERLIN, strict=True)
    assert moment == datetime(2026, 3, 10, 9, 30, tzinfo=BERLIN)


def test_the_due_day_is_the_patients_local_day() -> None:
    due = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)  # already 10 March in Berlin
    moment = send_moment(due, checkin_time=time(9, 0), tz=BERLIN)
    assert moment == datetime(2026, 3, 10, 9, 0, tzinfo=BERLIN)


def test_local_time_is_kept_across_a_daylight_saving_change() -> None:
    due = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # the Saturday before the change
    moment = send_moment(due, checkin_time=time(9, 0), tz=BERLIN, strict=True)
    assert moment.astimezone(BERLIN).hour == 9
    assert moment.astimezone(BERLIN).day == 29


def _protocol_with(table: str) -> str:
    text = default_protocol_text()
    start = text.index("[questionnaires]")
    end = text.index("[explainers]")
    return text[:start] + table + "\n\n" + text[end:]


def test_the_shipped_protocol_plans_phq9_and_gad7() -> None:
    plan = parse_protocol(default_protocol_text(), source="shipped").questionnaires
    assert plan.planned == ("phq9", "gad7")
    assert plan.after_infusion == timedelta(days=7)
    assert plan.every == timedelta(days=14)
    assert plan.expire_after == timedelta(hours=24)


def test_the_table_is_optional() -> None:
    protocol = parse_protocol(_protocol_with(""), source="test")
    assert protocol.questionnaires == QuestionnairePlan()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[questionnaires]\nevery_days = 0", "'every_days' must be a whole number from 1 to 90"),
        ("[questionnaires]\nevery_days = true", "'every_days' must be a whole number"),
        ("[questionnaires]\nexpire_hours = 500", "'expire_hours' must be a whole number"),
        ("[questionnaires]\nafter_infusion_days = 1.5", "'after_infusion_days' must be"),
        ('[questionnaires]\nplanned = "phq9"', "'planned' must be a list"),
        ('[questionnaires]\nplanned = ["phq9", "phq9"]', "names a questionnaire twice"),
        ("[questionnaires]\nplanned = [1]", "'planned' must be a list"),
        ("[questionnaires]\nsoon = 1", "unknown key(s): soon"),
    ],
)
def test_a_wrong_table_is_one_clear_error(table: str, message: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(_protocol_with(table), source="clinic.toml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("clinic.toml")


def test_an_empty_plan_is_allowed() -> None:
    protocol = parse_protocol(_protocol_with("[questionnaires]\nplanned = []"), source="t")
    assert protocol.questionnaires.planned == ()
