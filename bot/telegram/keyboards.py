"""Inline keyboards and the callback data they carry, parsed strictly (clients can forge it).

Every callback data fits Telegram's 64-byte limit: ids have at most 18 digits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram import privacy_texts, texts

CONSENT_DATA = "c:agree"
_MOOD = re.compile(r"m:([1-9][0-9]{0,17}):(10|[0-9])")
_TIME = re.compile(r"t:([01][0-9]|2[0-3])([0-5][0-9])")
_ALERT = re.compile(r"al:(ack|res):([1-9][0-9]{0,17})")
_OPEN_ALERT = re.compile(r"ao:([1-9][0-9]{0,17})")
_LEARN = re.compile(r"lx:([a-z0-9]+(?:-[a-z0-9]+)*)")
_CONTACT = re.compile(r"cc:([1-9][0-9]{0,17})")
LEARN_MENU = "lx:menu"


@dataclass(frozen=True, slots=True)
class MoodChoice:
    """A pressed mood button."""

    checkin_id: int
    score: int


def parse_mood(data: str) -> MoodChoice | None:
    """Return the mood choice in callback data, or None if it is not a valid one."""
    match = _MOOD.fullmatch(data)
    if match is None:
        return None
    return MoodChoice(checkin_id=int(match.group(1)), score=int(match.group(2)))


def parse_time(data: str) -> str | None:
    """Return 'HH:MM' from time-choice callback data, or None."""
    match = _TIME.fullmatch(data)
    return None if match is None else f"{match.group(1)}:{match.group(2)}"


def mood_keyboard(checkin_id: int) -> InlineKeyboardMarkup:
    """Return the eleven 0-10 buttons of a check-in, in two rows."""
    buttons = [
        InlineKeyboardButton(str(score), callback_data=f"m:{checkin_id}:{score}")
        for score in range(11)
    ]
    return InlineKeyboardMarkup([buttons[:6], buttons[6:]])


def consent_keyboard() -> InlineKeyboardMarkup:
    """Return the single consent button."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.CONSENT_BUTTON, callback_data=CONSENT_DATA)]]
    )


def time_keyboard(choices: Sequence[time]) -> InlineKeyboardMarkup:
    """Return HH:MM buttons, four to a row."""
    buttons = [
        InlineKeyboardButton(choice.strftime("%H:%M"), callback_data=f"t:{choice:%H%M}")
        for choice in choices
    ]
    return InlineKeyboardMarkup([buttons[i : i + 4] for i in range(0, len(buttons), 4)])


class AlertButton(StrEnum):
    """The two buttons under a staff alert, as their callback data names them."""

    ACKNOWLEDGE = "ack"
    RESOLVE = "res"


@dataclass(frozen=True, slots=True)
class AlertAction:
    """A pressed Acknowledge or Resolve button."""

    action: AlertButton
    alert_id: int


def parse_alert_action(data: str) -> AlertAction | None:
    """Return the alert action in callback data, or None if it is not a valid one."""
    match = _ALERT.fullmatch(data)
    if match is None:
        return None
    return AlertAction(action=AlertButton(match.group(1)), alert_id=int(match.group(2)))


def alert_keyboard(alert_id: int, *, acknowledged: bool = False) -> InlineKeyboardMarkup:
    """Return the Acknowledge / Resolve buttons of a staff alert."""
    resolve = InlineKeyboardButton("Resolve", callback_data=f"al:{AlertButton.RESOLVE}:{alert_id}")
    if acknowledged:
        return InlineKeyboardMarkup([[resolve]])
    acknowledge = InlineKeyboardButton(
        "Acknowledge", callback_data=f"al:{AlertButton.ACKNOWLEDGE}:{alert_id}"
    )
    return InlineKeyboardMarkup([[acknowledge, resolve]])


def open_alerts_keyboard(alert_ids: Sequence[int]) -> InlineKeyboardMarkup:
    """Return one "Open" button per listed alert, numbered as the list is, four a row."""
    buttons = [
        InlineKeyboardButton(f"Open {number}", callback_data=f"ao:{alert_id}")
        for number, alert_id in enumerate(alert_ids, start=1)
    ]
    return InlineKeyboardMarkup([buttons[i : i + 4] for i in range(0, len(buttons), 4)])


def parse_open_alert(data: str) -> int | None:
    """Return the alert id of an "Open" button, or None."""
    match = _OPEN_ALERT.fullmatch(data)
    return None if match is None else int(match.group(1))


def parse_learn(data: str) -> str | None:
    """Return the explainer id (or 'menu') in /learn callback data, or None."""
    match = _LEARN.fullmatch(data)
    return None if match is None else match.group(1)


_QUESTION = re.compile(r"sq:(y|n):([1-9][0-9]{0,17})")


@dataclass(frozen=True, slots=True)
class QuestionChoice:
    """A pressed Yes or No under the direct safety question."""

    yes: bool
    question_id: int


def parse_question(data: str) -> QuestionChoice | None:
    """Return the answer in direct-question callback data, or None."""
    match = _QUESTION.fullmatch(data)
    if match is None:
        return None
    return QuestionChoice(yes=match.group(1) == "y", question_id=int(match.group(2)))


def question_keyboard(question_id: int) -> InlineKeyboardMarkup:
    """Return the Yes and No buttons under the direct safety question."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.SAFETY_YES, callback_data=f"sq:y:{question_id}"),
                InlineKeyboardButton(texts.SAFETY_NO, callback_data=f"sq:n:{question_id}"),
            ]
        ]
    )


def stop_keyboard() -> InlineKeyboardMarkup:
    """Return the confirmation buttons of /stop."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(texts.STOP_YES, callback_data="st:yes")],
            [InlineKeyboardButton(texts.STOP_NO, callback_data="st:no")],
        ]
    )


def parse_stop(data: str) -> bool | None:
    """Return whether a /stop confirmation button confirms, or None if it is not one."""
    return {"st:yes": True, "st:no": False}.get(data)


_DELETE = re.compile(r"dd:y:([1-9][0-9]{0,17})")
DELETE_NO_DATA = "dd:n"


def delete_keyboard(patient_id: int) -> InlineKeyboardMarkup:
    """Return /deletemydata's buttons; Delete names the record it was offered for."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(privacy_texts.DELETE_YES, callback_data=f"dd:y:{patient_id}")],
            [InlineKeyboardButton(privacy_texts.DELETE_NO, callback_data=DELETE_NO_DATA)],
        ]
    )


@dataclass(frozen=True, slots=True)
class DeleteChoice:
    """A pressed /deletemydata button: Delete, for the record it names, or Keep (None)."""

    patient_id: int | None


def parse_delete(data: str) -> DeleteChoice | None:
    """Return the /deletemydata choice in callback data, or None if it is not one."""
    if data == DELETE_NO_DATA:
        return DeleteChoice(None)
    match = _DELETE.fullmatch(data)
    return None if match is None else DeleteChoice(int(match.group(1)))


def parse_contact(data: str) -> int | None:
    """Return the episode id in 'contact me' callback data, or None."""
    match = _CONTACT.fullmatch(data)
    return None if match is None else int(match.group(1))


def learn_menu(topics: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Return one button per topic: (explainer id, title)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(title, callback_data=f"lx:{topic}")] for topic, title in topics]
    )


def learn_page(next_id: str | None) -> InlineKeyboardMarkup:
    """Return Back (to the topics) and, unless last, Next."""
    row = [InlineKeyboardButton("« Back", callback_data=LEARN_MENU)]
    if next_id is not None:
        row.append(InlineKeyboardButton("Next »", callback_data=f"lx:{next_id}"))
    return InlineKeyboardMarkup([row])


def more_topics() -> InlineKeyboardMarkup:
    """Return the button under a pushed explainer that opens the /learn menu."""
    return InlineKeyboardMarkup([[InlineKeyboardButton("More topics", callback_data=LEARN_MENU)]])


def contact_keyboard(episode_id: int) -> InlineKeyboardMarkup:
    """Return the 'contact me' button under an episode message."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(CONTACT_BUTTON, callback_data=f"cc:{episode_id}")]]
    )


CONTACT_BUTTON = "I'd like the clinic to contact me"
