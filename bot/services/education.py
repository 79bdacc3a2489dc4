"""Explainers for patients: the /learn menu, scheduled pushes, and episode messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.codes import AlertKind, CheckinKind, EpisodeKind, PatientStatus, PushKind
from bot.domain.daytime import in_daytime, next_morning
from bot.domain.delivery import Delivered, SendOutcome
from bot.domain.entities import Alert, DueCheckin, Patient, SafetyContacts, WaitingPush
from bot.domain.explainers import Explainer, ExplainerLibrary
from bot.services.alerts import AlertService
from bot.services.ports import PatientSender, Wording
from storage import Storage

log = logging.getLogger(__name__)

RETRY_PUSH = timedelta(minutes=30)
# A claimed push not marked sent by then (the bot stopped mid-send) is sent again; longer
# than any send can wait in the flood queue, so it never races a send still under way.
CLAIM_LEASE = timedelta(hours=1)
# At most this many waiting pushes are handled in one pass; the rest in the next.
WAITING_PER_PASS = 50


# For an episode, the first of these the patient has not been sent yet.
CONTEXTUAL: dict[EpisodeKind, tuple[str, ...]] = {
    EpisodeKind.DECLINE: (
        "why-it-fades",
        "fading-connections",
        "fading-brain-balance",
        "fading-life-unchanged",
        "fading-tolerance",
    ),
    EpisodeKind.LOW_MOOD: (
        "what-helps",
        "helps-therapy",
        "helps-daily-habits",
        "helps-maintenance",
        "helps-other-treatments",
    ),
}


@dataclass(frozen=True, slots=True)
class Page:
    """One explainer page of /learn, with the one after it for Next."""

    explainer: Explainer
    body: str
    next_id: str | None


class EducationService:
    """Decides which explainer a patient gets when, and records every delivery."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        library: ExplainerLibrary,
        contacts: SafetyContacts,
        schedule: Sequence[tuple[int, str]],
        alerts: AlertService,
        sender: PatientSender,
        wording: Wording,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._library = library
        self._contacts = contacts
        self._schedule = sorted(schedule)
        self._alerts = alerts
        self._sender = sender
        self._wording = wording
        self._delivering = asyncio.Lock()

    def render(self, explainer_id: str) -> str:
        """Return an explainer's text with the clinic's crisis resources filled in."""
        return self._library.render(
            explainer_id,
            crisis_line=self._contacts.crisis_line,
            emergency_number=self._contacts.emergency_number,
        )

    def menu(self) -> list[Explainer]:
        """Return the /learn topics in order."""
        return self._library.ordered()

    async def page(self, patient: Patient | None, explainer_id: str) -> Page | None:
        """Return a /learn page and record that the patient opened it; None if unknown."""
        explainer = self._library.get(explainer_id)
        if explainer is None:
            return None
        if patient is not None:
            await self._storage.explainers.record_request(
                patient_id=patient.id, explainer_id=explainer_id, now=self._clock.now()
            )
        following = self._library.next_after(explainer_id)
        return Page(
            explainer=explainer,
            body=self.render(explainer_id),
            next_id=None if following is None else following.id,
        )

    async def after_checkin(self, item: DueCheckin) -> None:
        """Push the scheduled explainer due by this check-in's day, at a decent local hour."""
        checkin = item.checkin
        if checkin.kind is not CheckinKind.PLANNED or checkin.day is None:
            return
        patient = await self._storage.patients.get(checkin.patient_id)
        if patient is None or patient.status is not PatientStatus.ACTIVE:
            return
        pushed = await self._storage.explainers.pushed(patient.id)
        due = [
            explainer_id
            for day, explainer_id in self._schedule
            if day <= checkin.day
            and explainer_id not in pushed
            and self._library.get(explainer_id) is not None
        ]
        if not due:
            return
        # One at a time: if several are overdue, the next check-in brings the next one.
        explainer_id = due[0]
        now = self._clock.now()
        delivery_id = await self._storage.explainers.claim_push(
            patient_id=patient.id,
            explainer_id=explainer_id,
            how=PushKind.SCHEDULED,
            now=now,
            retry_at=now + CLAIM_LEASE,
        )
        if delivery_id is None:
            return
        tz = ZoneInfo(patient.timezone)
        if not in_daytime(now, tz):
            # Never in the middle of the night: it waits for the morning.
            await self._storage.explainers.defer(delivery_id, not_before=next_morning(now, tz))
            log.info("explainer.deferred code=%s explainer=%s", item.patient_code, explainer_id)
            return
        await self._push(delivery_id, item.chat_id, explainer_id, item.patient_code)

    async def deliver_waiting(self) -> int:
        """Send explainers that waited for the morning or for a retry (one pass at a time).

        Each push is claimed just before it is handled, one at a time, so that no other
        instance sends it meanwhile; one a crash cut short is due again when the lease ends.
        """
        async with self._delivering:
            sent = 0
            for _ in range(WAITING_PER_PASS):
                claimed = await self._storage.explainers.claim_waiting(self._clock.now(), limit=1)
                if not claimed:
                    break
                if await self._deliver_waiting(claimed[0]):
                    sent += 1
            return sent

    async def _deliver_waiting(self, push: WaitingPush) -> bool:
        """Handle one claimed push; every branch ends its claim (sent, deferred or released)."""
        now = self._clock.now()
        tz = ZoneInfo(push.timezone)
        explainers = self._storage.explainers
        if push.how is PushKind.CONTEXTUAL and not push.active:
            # Paused, stopped or unreachable: an episode message later would be stale.
            await explainers.release(push.delivery_id)
        elif push.chat_id is None or not push.active:
            await explainers.defer(
                push.delivery_id, not_before=next_morning(now + timedelta(days=1), tz)
            )
        elif not in_daytime(now, tz):
            await explainers.defer(push.delivery_id, not_before=next_morning(now, tz))
        elif push.how is PushKind.CONTEXTUAL:
            return await self._retry_contextual(push)
        else:
            return await self._push(
                push.delivery_id, push.chat_id, push.explainer_id, push.patient_code
            )
        return False

    async def _retry_contextual(self, push: WaitingPush) -> bool:
        """Send an episode message again, while its episode is still open."""
        explainer = self._library.get(push.explainer_id)
        if (
            not push.episode_open
            or push.episode_id is None
            or push.chat_id is None
            or explainer is None
        ):
            # The moment has passed (recovered, resolved, a new infusion): forget it.
            await self._storage.explainers.release(push.delivery_id)
            return False
        outcome = await self._sender.send_episode_message(
            push.chat_id,
            episode_id=push.episode_id,
            explainer=explainer,
            body=self.render(explainer.id),
        )
        delivered = await self._record_push(push.delivery_id, outcome)
        log.info("explainer.contextual_retry code=%s delivered=%s", push.patient_code, delivered)
        return delivered

    async def _record_push(self, delivery_id: int, outcome: SendOutcome) -> bool:
        """Mark a claimed push sent, or leave it waiting for a retry; True if sent."""
        now = self._clock.now()
        if isinstance(outcome, Delivered):
            await self._storage.explainers.mark_sent(delivery_id, now=now)
            return True
        await self._storage.explainers.defer(delivery_id, not_before=now + RETRY_PUSH)
        return False

    async def _push(
        self, delivery_id: int, chat_id: int, explainer_id: str, patient_code: str
    ) -> bool:
        explainer = self._library.get(explainer_id)
        if explainer is None:
            await self._storage.explainers.release(delivery_id)
            return False
        outcome = await self._sender.send_explainer(chat_id, explainer, self.render(explainer_id))
        delivered = await self._record_push(delivery_id, outcome)
        log.info(
            "explainer.scheduled code=%s explainer=%s delivered=%s",
            patient_code,
            explainer_id,
            delivered,
        )
        return delivered

    async def on_episode(self, patient: Patient, kind: EpisodeKind, alert: Alert) -> None:
        """Tell a patient in a decline or low-mood episode, once, that fading is common."""
        choices = CONTEXTUAL.get(kind)
        if (
            choices is None
            or alert.episode_id is None
            or patient.chat_id is None
            or patient.status is not PatientStatus.ACTIVE
        ):
            return
        pushed = await self._storage.explainers.pushed(patient.id)
        fresh = [c for c in choices if c not in pushed and self._library.get(c) is not None]
        delivery_id = None
        if fresh:
            delivery_id = await self._storage.explainers.claim_push(
                patient_id=patient.id,
                explainer_id=fresh[0],
                how=PushKind.CONTEXTUAL,
                now=self._clock.now(),
                retry_at=self._clock.now() + CLAIM_LEASE,
                episode_id=alert.episode_id,
            )
        explainer = self._library.get(fresh[0]) if delivery_id is not None else None
        outcome = await self._sender.send_episode_message(
            patient.chat_id,
            episode_id=alert.episode_id,
            explainer=explainer,
            body=None if explainer is None else self.render(explainer.id),
        )
        delivered = isinstance(outcome, Delivered)
        if delivery_id is not None:
            # Recorded as sent, or left waiting for a retry while the episode lasts.
            await self._record_push(delivery_id, outcome)
        log.info(
            "explainer.contextual code=%s kind=%s delivered=%s", patient.code, kind, delivered
        )

    async def request_contact(self, *, user_id: int, episode_id: int) -> bool | None:
        """Raise a staff alert that the patient asked to be contacted.

        True if raised now, False if already raised for this episode, None if not allowed.
        """
        patient = await self._storage.patients.by_user(user_id)
        if patient is None:
            return None
        episode = await self._storage.episodes.get(episode_id)
        if episode is None or episode.patient_id != patient.id:
            return None
        alert = await self._alerts.raise_plain(
            patient,
            kind=AlertKind.CONTACT_REQUEST,
            text=self._wording.contact_request(patient, episode.kind),
            episode_id=episode_id,
        )
        return alert is not None
