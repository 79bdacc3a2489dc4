"""Explainers for patients: the /learn menu, scheduled pushes, and episode messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol as TypingProtocol
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.detection import FindingKind
from bot.domain.entities import Alert, CheckinKind, DueCheckin, Patient, PatientStatus, WaitingPush
from bot.domain.explainers import Explainer, ExplainerLibrary
from bot.services.alerts import AlertService
from bot.telegram.texts import SafetyContacts
from storage import Storage

log = logging.getLogger(__name__)

# Scheduled explainers go out only between these local times: never in the middle of the night.
EARLIEST = time(8, 0)
LATEST = time(21, 30)
RETRY_PUSH = timedelta(minutes=30)
# A claimed push not marked sent by then (the bot stopped mid-send) is sent again; longer
# than any send can wait in the flood queue, so it never races a send still under way.
CLAIM_LEASE = timedelta(hours=1)


def in_daytime(moment: datetime, tz: ZoneInfo) -> bool:
    """Tell whether a moment is within the daytime window in a zone."""
    return EARLIEST <= moment.astimezone(tz).time() <= LATEST


def next_morning(moment: datetime, tz: ZoneInfo) -> datetime:
    """Return the next start of the daytime window after a moment, in UTC."""
    local = moment.astimezone(tz)
    day = local.date() if local.time() < EARLIEST else local.date() + timedelta(days=1)
    return datetime.combine(day, EARLIEST, tzinfo=tz).astimezone(UTC)


# For an episode, the first of these the patient has not been sent yet.
CONTEXTUAL: dict[FindingKind, tuple[str, ...]] = {
    FindingKind.DECLINE: (
        "why-it-fades",
        "fading-connections",
        "fading-brain-balance",
        "fading-life-unchanged",
        "fading-tolerance",
    ),
    FindingKind.LOW_MOOD: (
        "what-helps",
        "helps-therapy",
        "helps-daily-habits",
        "helps-maintenance",
        "helps-other-treatments",
    ),
}

GENTLE = (
    "Thank you for your answers over the last days. It looks like your mood has been lower "
    "lately. That happens to many people after ketamine: the lift often fades with time, "
    "and it is not a sign that you failed or that the treatment was wasted. There are good "
    "ways to help it last, and your care team can talk them through with you."
)


@dataclass(frozen=True, slots=True)
class Page:
    """One explainer page of /learn, with its neighbours for Back and Next."""

    explainer: Explainer
    text: str
    next_id: str | None


class ExplainerSender(TypingProtocol):
    """Sends pushed explainers and episode messages to a patient, never raising."""

    async def send_explainer(self, chat_id: int, text: str, *, explainer_id: str) -> bool:
        """Send an explainer (with a button to the /learn menu); True if delivered."""
        ...

    async def send_contextual(self, chat_id: int, text: str, *, episode_id: int) -> bool:
        """Send the episode message with the 'contact me' button; True if delivered."""
        ...


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
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._library = library
        self._contacts = contacts
        self._schedule = sorted(schedule)
        self._alerts = alerts
        self._sender: ExplainerSender | None = None
        self._delivering = asyncio.Lock()

    def attach(self, sender: ExplainerSender) -> None:
        """Give the service its way to reach patients (set once the bot exists)."""
        self._sender = sender

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
            text=f"{explainer.title}\n\n{self.render(explainer_id)}",
            next_id=None if following is None else following.id,
        )

    async def after_checkin(self, item: DueCheckin) -> None:
        """Push the scheduled explainer due by this check-in's day, at a decent local hour."""
        checkin = item.checkin
        if checkin.kind is not CheckinKind.PLANNED or checkin.day is None or self._sender is None:
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
            how="scheduled",
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
        """Send explainers that waited for the morning or for a retry (one pass at a time)."""
        if self._sender is None:
            return 0
        async with self._delivering:
            return await self._deliver_waiting()

    async def _deliver_waiting(self) -> int:
        sent = 0
        now = self._clock.now()
        for push in await self._storage.explainers.waiting(now):
            tz = ZoneInfo(push.timezone)
            if push.how == "contextual" and not push.active:
                # Paused, stopped or unreachable: an episode message later would be stale.
                await self._storage.explainers.release(push.delivery_id)
            elif push.chat_id is None or not push.active:
                await self._storage.explainers.defer(
                    push.delivery_id, not_before=next_morning(now + timedelta(days=1), tz)
                )
            elif not in_daytime(now, tz):
                await self._storage.explainers.defer(
                    push.delivery_id, not_before=next_morning(now, tz)
                )
            elif push.how == "contextual":
                if await self._retry_contextual(push):
                    sent += 1
            elif await self._push(
                push.delivery_id, push.chat_id, push.explainer_id, push.patient_code
            ):
                sent += 1
        return sent

    async def _retry_contextual(self, push: WaitingPush) -> bool:
        """Send an episode message again, while its episode is still open."""
        assert self._sender is not None
        if (
            not push.episode_open
            or push.episode_id is None
            or push.chat_id is None
            or self._library.get(push.explainer_id) is None
        ):
            # The moment has passed (recovered, resolved, a new infusion): forget it.
            await self._storage.explainers.release(push.delivery_id)
            return False
        delivered = await self._sender.send_contextual(
            push.chat_id, self._contextual_text(push.explainer_id), episode_id=push.episode_id
        )
        await self._record_push(push.delivery_id, delivered)
        log.info("explainer.contextual_retry code=%s delivered=%s", push.patient_code, delivered)
        return delivered

    async def _record_push(self, delivery_id: int, delivered: bool) -> None:
        """Mark a claimed push sent, or leave it waiting for a retry."""
        now = self._clock.now()
        if delivered:
            await self._storage.explainers.mark_sent(delivery_id, now=now)
        else:
            await self._storage.explainers.defer(delivery_id, not_before=now + RETRY_PUSH)

    def _contextual_text(self, explainer_id: str | None) -> str:
        if explainer_id is None or (explainer := self._library.get(explainer_id)) is None:
            text = GENTLE
        else:
            text = f"{GENTLE}\n\n{explainer.title}\n\n{self.render(explainer_id)}"
        return (
            text + "\n\nIf you would like someone from the clinic to get in touch, tap the button."
        )

    async def _push(
        self, delivery_id: int, chat_id: int, explainer_id: str, patient_code: str
    ) -> bool:
        assert self._sender is not None
        explainer = self._library.get(explainer_id)
        if explainer is None:
            await self._storage.explainers.release(delivery_id)
            return False
        text = f"{explainer.title}\n\n{self.render(explainer_id)}"
        delivered = await self._sender.send_explainer(chat_id, text, explainer_id=explainer_id)
        await self._record_push(delivery_id, delivered)
        log.info(
            "explainer.scheduled code=%s explainer=%s delivered=%s",
            patient_code,
            explainer_id,
            delivered,
        )
        return delivered

    async def on_episode(self, patient: Patient, kind: FindingKind, alert: Alert) -> None:
        """Tell a patient in a decline or low-mood episode, once, that fading is common."""
        choices = CONTEXTUAL.get(kind)
        if (
            choices is None
            or alert.episode_id is None
            or self._sender is None
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
                how="contextual",
                now=self._clock.now(),
                retry_at=self._clock.now() + CLAIM_LEASE,
                episode_id=alert.episode_id,
            )
        text = self._contextual_text(fresh[0] if delivery_id is not None else None)
        delivered = await self._sender.send_contextual(
            patient.chat_id, text, episode_id=alert.episode_id
        )
        if delivery_id is not None:
            # Recorded as sent, or left waiting for a retry while the episode lasts.
            await self._record_push(delivery_id, delivered)
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
        episode = await self._storage.alerts.episode(episode_id)
        if episode is None or episode.patient_id != patient.id:
            return None
        text = (
            f"\U0001f4de {patient.code} \u00b7 asked to be contacted\n"
            f"The patient tapped \u201cI'd like the clinic to contact me\u201d after a "
            f"{episode.kind.replace('_', ' ')} message. Please get in touch."
        )
        alert = await self._alerts.raise_plain(
            patient, kind="contact_request", text=text, episode_id=episode_id
        )
        return alert is not None
