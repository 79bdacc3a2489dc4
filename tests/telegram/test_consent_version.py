"""The consent text is versioned: a changed text must come with a new CONSENT_VERSION."""

from __future__ import annotations

import hashlib

from bot.domain.entities import SafetyContacts
from bot.telegram.texts import CONSENT_VERSION, consent_text

# The text of each version, as a fingerprint. Changing the consent text? Give it a new
# CONSENT_VERSION (patients who agreed keep the version they agreed to) and add its line.
FINGERPRINTS = {"2026-12-01": "e21902406bbb3f50"}


def test_the_consent_text_matches_its_version() -> None:
    text = consent_text(SafetyContacts("CRISIS", "EMERGENCY"), retention_days=99)
    fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    assert FINGERPRINTS.get(CONSENT_VERSION) == fingerprint, (
        "the consent text changed: give it a new CONSENT_VERSION"
    )


def test_the_consent_text_fits_a_phone_screen_or_two() -> None:
    text = consent_text(SafetyContacts("call or text 988", "911"), retention_days=365)
    assert len(text) < 1200
    assert "kept for 365 days, then deleted" in text


def test_the_text_says_when_the_clinic_keeps_the_clinical_record() -> None:
    contacts = SafetyContacts("call or text 988", "911")
    kept = consent_text(contacts, keeps_clinical_record=True)
    assert "keeps your scores and infusion dates" in kept
    assert "keeps your scores" not in consent_text(contacts)
