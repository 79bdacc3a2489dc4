"""What the bot says to a patient about deleting their data (/deletemydata)."""

from __future__ import annotations

from bot.domain.entities import SafetyContacts
from bot.telegram.texts import notice

DELETE_YES = "Delete my data"
DELETE_NO = "Keep my data"


def delete_confirm(*, keep_clinical: bool) -> str:
    """Return what /deletemydata will delete, and the question."""
    if keep_clinical:
        deleted = (
            "\u2022 your notes and anything else you wrote to me\n"
            "\u2022 your answers to safety questions\n"
            "\u2022 which reads I sent you\n"
            "\u2022 the link between this Telegram account and your clinic record\n\n"
            "Your clinic keeps its clinical record under your patient code only: the dates of"
            " your infusions and your mood and questionnaire scores, without your notes."
        )
    else:
        deleted = (
            "\u2022 your mood scores and notes, and anything else you wrote to me\n"
            "\u2022 your questionnaire answers and scores\n"
            "\u2022 your answers to safety questions\n"
            "\u2022 which reads I sent you, and your infusion dates\n"
            "\u2022 the link between this Telegram account and your clinic record"
        )
    return (
        f"This deletes what I keep about you:\n{deleted}\n\n"
        "All check-ins and messages stop, and your care team is told, by your patient code"
        " only, that you deleted your data. Only a note that a deletion happened, and when,"
        " is kept. If you recently told us something that worried us for your safety, the"
        " care team still sees that message until they have followed it up, then it goes"
        " too. Messages already in this chat stay in your Telegram app; you can delete them"
        " there.\n\n"
        "This cannot be undone. To keep a copy, send /mydata first.\n\n"
        "Do you want to delete your data?"
    )


def deleted(contacts: SafetyContacts) -> str:
    """Return the confirmation that the data is gone, with where to turn in a crisis."""
    return (
        "Your data is deleted and I will not message you again. If you want follow-up one"
        " day, please ask your clinic for a new invitation.\n\n" + notice(contacts)
    )


KEPT = "Good, nothing was deleted."
NOTHING_TO_DELETE = (
    "This Telegram account is not linked to a patient record here, so there is nothing to delete."
)
OUT_OF_DATE = (
    "This button is out of date, so nothing was deleted. Send /deletemydata if you want to"
    " delete your data."
)
NO_FOLLOW_UP = "There is no active follow-up for you here, so this button does nothing."

SAFETY_PRESS_WITHOUT_RECORD = (
    "pressed an answer that signals thoughts of ending their life or harming themselves (the"
    " safety question, or PHQ-9 item 9) on an old message, after deleting their data"
)
