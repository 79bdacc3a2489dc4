"""TrendService records episodes at the answers the detector names, even on a late review."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.codes import EpisodeEndReason
from bot.domain.detection import DetectorConfig
from bot.domain.entities import Patient
from bot.services.trends import TrendService
from tests.conftest import STAFF_ID, WORDING, Domain, alert_service


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
