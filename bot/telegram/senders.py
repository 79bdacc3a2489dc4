"""The senders behind the services' ports, over python-telegram-bot's Bot."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram import Bot
from telegram.constants import MessageLimit
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.domain.delivery import Delivered, RateLimited, SendOutcome
from bot.domain.entities import Alert, QuestionnaireResponse
from bot.domain.explainers import Explainer
from bot.domain.questionnaires import Questionnaire
from bot.telegram import escalation_texts, questionnaire_texts, staff_texts, texts
from bot.telegram.delivery import attempt, outcome_of
from bot.telegram.flood import PREPAID
from bot.telegram.keyboards import (
    alert_keyboard,
    contact_keyboard,
    mood_keyboard,
    more_topics,
    question_keyboard,
)

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
# A crisis reply that meets a 429 waits this long at most, once, before giving up.
URGENT_WAIT_LIMIT = 10.0


class TelegramCheckinSender:
    """Check-in prompts with their 0-10 keyboard, through the flood-limited Bot."""

    def __init__(self, bot: ExtBot[int]) -> None:
        self._bot = bot

    async def send_checkin(
        self, chat_id: int, checkin_id: int, *, prepaid: bool = False
    ) -> SendOutcome:
        """Send the mood prompt with its 0-10 keyboard."""
        return await attempt(
            self._bot.send_message(
                chat_id=chat_id,
                text=texts.CHECKIN_PROMPT,
                reply_markup=mood_keyboard(checkin_id),
                rate_limit_args=PREPAID if prepaid else None,
            )
        )


class TelegramStaffSender:
    """Staff alerts: a photo with caption when there is a chart, else text.

    Urgent alerts go through a second Bot without the flood limiter, so they never wait
    behind a queue of check-ins.
    """

    def __init__(self, bot: Bot, urgent_bot: Bot) -> None:
        self._normal = bot
        self._urgent = urgent_bot

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> SendOutcome:
        """Send an alert with its buttons; report the outcome without raising."""
        text = staff_texts.alert_message(alert, reminder=reminder)
        markup = alert_keyboard(alert.id)
        bot = self._urgent if alert.urgent else self._normal
        if photo is not None and len(text) <= CAPTION_LIMIT:
            try:
                message = await bot.send_photo(
                    chat_id=chat_id, photo=photo, caption=text, reply_markup=markup
                )
                return Delivered(message_id=message.message_id, photo=True)
            except BadRequest as err:
                if "migrate" in err.message.lower():
                    return outcome_of(err)
                # The picture was refused: the words must still get through.
            except TelegramError as err:
                return outcome_of(err)
        return await attempt(
            bot.send_message(chat_id=chat_id, text=text[:TEXT_LIMIT], reply_markup=markup)
        )

    async def send_escalation(
        self, chat_id: int, alert: Alert, *, waited: timedelta
    ) -> SendOutcome:
        """Send an URGENT alert privately to an on-call member, at once, with its buttons."""
        text = escalation_texts.private_copy(alert, waited=waited)
        return await attempt(
            self._urgent.send_message(
                chat_id=chat_id, text=text[:TEXT_LIMIT], reply_markup=alert_keyboard(alert.id)
            )
        )


class TelegramPatientSender:
    """Pushed explainers and episode messages to patients (through the flood limiter)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_explainer(self, chat_id: int, explainer: Explainer, body: str) -> SendOutcome:
        """Send an explainer with a button to the /learn menu."""
        text = texts.explainer_page(explainer, body)
        return await attempt(
            self._bot.send_message(
                chat_id=chat_id, text=text[:TEXT_LIMIT], reply_markup=more_topics()
            )
        )

    async def send_episode_message(
        self, chat_id: int, *, episode_id: int, explainer: Explainer | None, body: str | None
    ) -> SendOutcome:
        """Send the episode message with the 'contact me' button."""
        text = texts.episode_message(explainer, body)
        return await attempt(
            self._bot.send_message(
                chat_id=chat_id, text=text[:TEXT_LIMIT], reply_markup=contact_keyboard(episode_id)
            )
        )


class TelegramQuestionnaireSender:
    """The first item of a planned questionnaire (through the flood limiter)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_questionnaire(
        self, chat_id: int, response: QuestionnaireResponse, questionnaire: Questionnaire
    ) -> SendOutcome:
        """Send the opening words and the current item with its option buttons."""
        opening = questionnaire_texts.intro(response.origin, questionnaire, resumed=False)
        return await attempt(
            self._bot.send_message(
                chat_id=chat_id,
                text=questionnaire_texts.item_text(response, questionnaire, intro=opening),
                reply_markup=questionnaire_texts.item_keyboard(response, questionnaire),
            )
        )


class TelegramUrgentMessenger:
    """Crisis replies and direct staff messages, through a Bot that bypasses the flood limiter."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_now(self, chat_id: int, text: str) -> SendOutcome:
        """Send at once; a 429 is waited out once, other errors reported as they are."""
        outcome = await self._send(chat_id, text)
        if isinstance(outcome, RateLimited):
            await asyncio.sleep(min(outcome.retry_after.total_seconds(), URGENT_WAIT_LIMIT))
            outcome = await self._send(chat_id, text)
        return outcome

    async def send_question(self, chat_id: int, question_id: int) -> SendOutcome:
        """Ask the direct safety question with its Yes and No buttons."""
        return await attempt(
            self._bot.send_message(
                chat_id=chat_id,
                text=texts.SAFETY_QUESTION,
                reply_markup=question_keyboard(question_id),
            )
        )

    async def _send(self, chat_id: int, text: str) -> SendOutcome:
        return await attempt(self._bot.send_message(chat_id=chat_id, text=text[:TEXT_LIMIT]))
