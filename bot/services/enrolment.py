"""Invitations, enrolment and consent."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.codes import AuditAction, PatientStatus, RedeemOutcome
from bot.domain.entities import Patient, Redemption
from bot.domain.errors import InputError, InputProblem
from bot.domain.text import clean_text
from storage import CodeTakenError, Storage

log = logging.getLogger(__name__)

INVITE_TTL = timedelta(days=7)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I look-alikes
CODE_PATTERN = re.compile(r"P-[A-Z0-9]{4,8}")
# What Telegram passes as a deep-link /start payload: 1 to 64 of A-Za-z0-9_-.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
# What new_token() makes: 43 URL-safe characters (256 random bits).
GENERATED_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
MAX_LABEL = 64


def hash_token(token: str) -> str:
    """Return the stored form of an invitation token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    """Return a fresh URL-safe invitation token with 256 random bits (43 characters)."""
    return secrets.token_urlsafe(32)


def new_code(length: int = 4) -> str:
    """Return a random pseudonymous patient code such as P-7K3Q."""
    return "P-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_code(raw: str) -> str:
    """Return a patient code in canonical form, or raise InputError."""
    code = raw.strip().upper()
    if not code.startswith("P-"):
        code = "P-" + code
    if not CODE_PATTERN.fullmatch(code):
        raise InputError(InputProblem.NOT_A_CODE, raw.strip()[:20])
    return code


@dataclass(frozen=True, slots=True)
class Invitation:
    """A newly invited patient and the one-time token for their link."""

    patient: Patient
    token: str
    expires_at: datetime


class EnrolmentService:
    """Creates invitations and binds patients to their Telegram account with consent."""

    def __init__(
        self, storage: Storage, clock: Clock, *, timezone: ZoneInfo, default_time: str
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._timezone = timezone
        self._default_time = default_time

    async def invite(
        self, *, staff_id: int, label: str | None, update_id: int | None
    ) -> Invitation | None:
        """Create a patient and an invitation; None if this update was already handled."""
        clean_label = " ".join(clean_text(label).split()) if label else None
        if clean_label and len(clean_label) > MAX_LABEL:
            raise InputError(InputProblem.LABEL_TOO_LONG, str(MAX_LABEL))
        now = self._clock.now()
        token = new_token()
        for attempt in range(20):
            code = new_code(4 if attempt < 10 else 6)
            try:
                patient = await self._storage.patients.create_invited(
                    code=code,
                    label=clean_label or None,
                    timezone=self._timezone.key,
                    token_hash=hash_token(token),
                    now=now,
                    expires_at=now + INVITE_TTL,
                    created_by=staff_id,
                    update_id=update_id,
                )
            except CodeTakenError:
                continue
            if patient is None:
                return None
            await self._storage.clinic.audit(
                actor=staff_id,
                action=AuditAction.INVITE,
                now=now,
                patient_id=patient.id,
                detail=None,
            )
            log.info("patient.invited code=%s", patient.code)
            return Invitation(patient=patient, token=token, expires_at=now + INVITE_TTL)
        raise RuntimeError("could not find a free patient code")

    async def redeem(self, *, payload: str | None, user_id: int, chat_id: int) -> Redemption:
        """Bind the user to the patient whose invitation token they opened."""
        if payload is None or not TOKEN_PATTERN.fullmatch(payload):
            existing = await self._storage.patients.by_user(user_id)
            if existing is not None:
                return Redemption(RedeemOutcome.ALREADY_ENROLLED, existing)
            return Redemption(RedeemOutcome.UNKNOWN, None)
        result = await self._storage.patients.redeem(
            token_hash=hash_token(payload), user_id=user_id, chat_id=chat_id, now=self._clock.now()
        )
        if result.outcome is RedeemOutcome.ENROLLED and result.patient is not None:
            log.info("patient.enrolled code=%s", result.patient.code)
        else:
            log.info("invite.refused outcome=%s", result.outcome.value)
        return result

    async def consent(
        self, *, user_id: int, version: str | None = None
    ) -> tuple[Patient | None, bool]:
        """Record consent to the consent text of `version`.

        Returns the patient and whether consent was newly recorded. The version is the one
        of the text the bot shows (bot.telegram.texts.CONSENT_VERSION); None records none.
        """
        patient = await self._storage.patients.by_user(user_id)
        if patient is None:
            return None, False
        if patient.status is not PatientStatus.CONSENT_PENDING:
            return patient, False
        updated = await self._storage.patients.record_consent(
            patient.id, now=self._clock.now(), default_time=self._default_time, version=version
        )
        if updated is None:
            return await self._storage.patients.get(patient.id), False
        log.info("patient.consented code=%s version=%s", updated.code, version)
        return updated, True
