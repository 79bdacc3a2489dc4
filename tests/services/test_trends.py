"""TrendService records episodes at the answers the detector names, even on a late review."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.codes import EpisodeEndReason
from bot.domain.detection import DetectorConfig
from bot.domain.entities import Checkin, Patient
from bot.services.trends import TrendService
from tests.conftest import CLINIC_TZ, STAFF_ID, WORDING, Domain, alert_service


def trends(domain: Domain) -> TrendService:
    return TrendService(
        domain.storage,
        domain.clock,
        alerts=alert_service(domain.storage, domain.clock),
        wording=WORDING,
        config=DetectorConfig(),
    )


async def answer(domain: Domain, patient: Patient, at: datetime, score: int) -> None:
    """Store an answered check-in at a moment (as if the patient answered then)."""
    domain.clock.set(at)
    checkin = await domain.storage.checkins.create_extra(patient.id, now=at, update_id=None)
    assert checkin is not None
    await domain.storage.answers.answer(
        checkin.id, score=score, now=at, update_id=None, patient_id=patient.id
    )


async def test_a_late_review_records_the_episode_at_the_confirming_answer(
    domain: Domain,
) -> None:
    patient = await domain.enrol(7)
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    start = domain.clock.now()
    service = trends(domain)
    day = timedelta(days=1)
    for number, score in enumerate([8, 8, 7, 4, 4], 1):
        await answer(domain, patient, start + number * day, score)
    confirmed = start + 5 * day
    # A good answer before the review runs (say the bot was down for a while).
    await answer(domain, patient, start + 5 * day + timedelta(hours=6), 8)
    domain.clock.advance(timedelta(hours=6))

    opened = await service.review(patient)

    assert [alert.kind for alert in opened] == ["decline"]
    (episode,) = await domain.storage.episodes.since(patient.id, start)
    assert episode.detected_at == confirmed
    assert episode.ended_at is None
    # The 8 after the confirming answer counts: one more near the level ends the episode,
    # and the end is recorded at that answer.
    recovered = start + 6 * day + timedelta(hours=12)
    await answer(domain, patient, recovered, 8)
    domain.clock.advance(timedelta(hours=3))
    assert await service.review(patient) == []
    (episode,) = await domain.storage.episodes.since(patient.id, start)
    assert episode.ended_at == recovered
    assert episode.end_reason is EpisodeEndReason.RECOVERED


async def adaptive_rig(domain: Domain) -> tuple[TrendService, Patient]:
    patient = await domain.enrol(8, time="09:00")
    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)
    service = TrendService(
        domain.storage,
        domain.clock,
        alerts=alert_service(domain.storage, domain.clock),
        wording=WORDING,
        config=DetectorConfig(),
        adaptive=domain.protocol.adaptive,
        default_time=domain.protocol.default_time,
    )
    return service, patient


async def answer_next(domain: Domain, patient: Patient, score: int) -> Checkin:
    checkin_id = await domain.send_next(patient.id)
    result = await domain.storage.answers.answer(
        checkin_id, score=score, now=domain.clock.now(), update_id=None, patient_id=patient.id
    )
    assert result.checkin is not None
    return result.checkin


async def test_a_markedly_low_answer_plans_one_extra_check_in(domain: Domain) -> None:
    service, patient = await adaptive_rig(domain)
    # Days 1-14 are daily; answer 8s through day 14, then day 16 comes two days later.
    for _ in range(14):
        await service.after_answer(await answer_next(domain, patient, 8))
    assert await domain.storage.checkins.adaptive_open(patient.id) is None

    low = await answer_next(domain, patient, 4)  # day 16, next planned day 18
    await service.after_answer(low)
    extra = await domain.storage.checkins.adaptive_open(patient.id)

    assert extra is not None
    assert extra.adaptive
    local = extra.due_at.astimezone(CLINIC_TZ)
    assert local.strftime("%H:%M") == "09:00"
    assert local.date() == (low.due_at.astimezone(CLINIC_TZ) + timedelta(days=1)).date()
    # At most one pending at a time: another low answer plans nothing more.
    await service.after_answer(low)
    rows = [c for c in await domain.storage.checkins.for_patient(patient.id) if c.adaptive]
    assert len(rows) == 1


async def test_a_new_infusion_cancels_the_extra_check_in(domain: Domain) -> None:
    service, patient = await adaptive_rig(domain)
    for _ in range(14):
        await service.after_answer(await answer_next(domain, patient, 8))
    await service.after_answer(await answer_next(domain, patient, 3))
    assert await domain.storage.checkins.adaptive_open(patient.id) is not None

    await domain.care.record_infusion(args=[patient.code], staff_id=STAFF_ID, update_id=None)

    assert await domain.storage.checkins.adaptive_open(patient.id) is None


async def test_an_ordinary_answer_plans_nothing(domain: Domain) -> None:
    service, patient = await adaptive_rig(domain)
    for _ in range(15):
        await service.after_answer(await answer_next(domain, patient, 8))

    assert await domain.storage.checkins.adaptive_open(patient.id) is None
