"""The data the staff chart is drawn from: answers, misses, level, alerts, axis to now."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.chart import ChartData
from bot.domain.codes import AlertKind
from bot.services.staff import StaffService
from tests.conftest import CLINIC_TZ, STAFF_ID, Domain, alert_service


class KeptCharts:
    """A renderer that keeps what it was handed."""

    def __init__(self) -> None:
        self.data: list[ChartData] = []

    def mood_chart(self, data: ChartData, *, tz: object) -> bytes:
        self.data.append(data)
        return b"png"


async def test_the_chart_gets_answers_misses_level_alerts_and_now(domain: Domain) -> None:
    charts = KeptCharts()
    staff = StaffService(
        domain.storage,
        domain.clock,
        timezone=CLINIC_TZ,
        charts=charts,
        detection=domain.protocol.detection,
    )
    patient = await domain.enrol(1)
    recorded = await domain.care.record_infusion(
        args=[patient.code], staff_id=STAFF_ID, update_id=None
    )
    assert recorded is not None
    given = recorded.infusion.given_at
    for score in (8, 8, 7):
        checkin_id = await domain.send_next(patient.id)
        await domain.storage.answers.answer(
            checkin_id, user_id=1, score=score, now=domain.clock.now(), update_id=None
        )
    missed = await domain.send_next(patient.id)
    domain.clock.advance(domain.protocol.answer_window + timedelta(minutes=1))
    await domain.storage.checkins.housekeeping(
        domain.clock.now(),
        send_window=domain.protocol.send_window,
        answer_window=domain.protocol.answer_window,
    )
    alert = await alert_service(domain.storage, domain.clock).raise_plain(
        patient, kind=AlertKind.DISENGAGEMENT, text="quiet"
    )
    assert alert is not None
    domain.clock.advance(timedelta(hours=3))

    assert await staff.chart(patient, highlight=alert.created_at) == b"png"

    (data,) = charts.data
    assert data.code == patient.code
    assert [point.score for point in data.points] == [8, 8, 7]
    missed_checkin = await domain.storage.checkins.get(missed)
    assert missed_checkin is not None
    assert data.missed == (missed_checkin.due_at,)
    assert data.infusions == (given,)
    assert data.level is not None
    assert abs(data.level - 23 / 3) < 1e-9
    assert data.level_from == given
    assert data.past_alerts == (alert.created_at,)
    assert data.highlight == alert.created_at
    assert data.start < given
    assert data.end == domain.clock.now()


async def test_before_any_infusion_the_chart_has_no_level(domain: Domain) -> None:
    charts = KeptCharts()
    staff = StaffService(
        domain.storage,
        domain.clock,
        timezone=CLINIC_TZ,
        charts=charts,
        detection=domain.protocol.detection,
    )
    patient = await domain.enrol(1)
    await staff.chart(patient, highlight=None)
    (data,) = charts.data
    assert (data.points, data.missed, data.infusions, data.level) == ((), (), (), None)
    assert data.end == domain.clock.now()
