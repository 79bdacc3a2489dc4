"""Invitations and consent, through the enrolment service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.codes import PatientStatus
from bot.domain.errors import InputError
from tests.conftest import STAFF_ID, Domain


async def test_invite_creates_a_pseudonymous_code(domain: Domain) -> None:
    invitation = await domain.enrolment.invite(staff_id=STAFF_ID, label="  Mrs  X ", update_id=3)
    assert invitation is not None
    assert invitation.patient.code.startswith("P-")
    assert invitation.patient.label == "Mrs X"
    assert invitation.expires_at == domain.clock.now() + timedelta(days=7)
    with pytest.raises(InputError):
        await domain.enrolment.invite(staff_id=STAFF_ID, label="x" * 65, update_id=4)


async def test_consent_activates_with_the_default_time(domain: Domain) -> None:
    patient = await domain.enrol(11)
    assert patient.status is PatientStatus.ACTIVE
    assert patient.consent_at == domain.clock.now()
    assert patient.checkin_time == "18:00"
    assert patient.timezone == "Europe/Berlin"
    again, new = await domain.enrolment.consent(user_id=11)
    assert not new
    assert again is not None
