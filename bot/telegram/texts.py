"""Everything the bot says to patients, in one place, in plain words."""

from __future__ import annotations

from bot.domain.entities import SafetyContacts
from bot.domain.explainers import Explainer
from bot.telegram.commands import Audience, commands_for


def notice(contacts: SafetyContacts) -> str:
    """Return the not-for-emergencies notice with the crisis resources."""
    return (
        "This chat is not monitored around the clock and is not for emergencies. "
        f"If you are in danger or thinking about harming yourself, call "
        f"{contacts.emergency_number} (local emergency services) or {contacts.crisis_line}."
    )


CHECKIN_PROMPT = "How is your mood today?\n0 = worst, 10 = best. Tap a number."


CONSENT_VERSION = "2026-12-01"
"""The version of consent_text, stored with each patient's consent: change it with the text."""


def _kept(retention_days: int | None) -> str:
    if retention_days is None:
        return "kept until you or your clinic delete them"
    return f"kept for {retention_days} days, then deleted"


def _kept_after(keeps_clinical_record: bool) -> str:
    if not keeps_clinical_record:
        return ""
    return (
        " Your clinic keeps your scores and infusion dates under your patient code for its"
        " medical records even then; your notes and Telegram details are deleted."
    )


def consent_text(
    contacts: SafetyContacts,
    *,
    retention_days: int | None = None,
    keeps_clinical_record: bool = False,
) -> str:
    """Return the welcome and consent request (version CONSENT_VERSION) after an invitation.

    `keeps_clinical_record`: the clinic keeps scores and infusions after a deletion
    (AFTERGLOW_DELETE_CLINICAL_RECORD=false), and the text says so.
    """
    return (
        "Welcome to Afterglow, your clinic's follow-up assistant.\n\n"
        "After each infusion I ask you once a day, at a time you choose, how your mood is "
        "from 0 to 10 (about ten seconds), and now and then a short questionnaire.\n\n"
        "What happens with what you send:\n"
        "\u2022 Your care team reads your answers and any notes you write.\n"
        "\u2022 Every message is checked for words that may mean you are in danger. If so, "
        "I send you crisis numbers and alert the care team at once.\n"
        "\u2022 Only your clinic's care team sees your answers, under a patient code, not your "
        "Telegram name or number.\n"
        f"\u2022 Answers and notes are {_kept(retention_days)}.\n"
        "\u2022 Telegram is not an encrypted medical channel. Only share what you are "
        "comfortable sharing here.\n\n"
        "You can /pause or /stop check-ins, get a copy of your data with /mydata, and delete "
        f"it with /deletemydata, at any time.{_kept_after(keeps_clinical_record)}\n\n"
        f"{notice(contacts)}\n\n"
        "If you agree, tap the button below."
    )


CONSENT_BUTTON = "I agree"
CONSENT_RECORDED = "Thank you, your consent is recorded."
CONSENT_ALREADY = "Your consent is already recorded."
CHOOSE_TIME = (
    "At what time of day would you like your check-in? Pick the time closest to what suits "
    "you (your local time). You can change it later with /time."
)


def time_set(hhmm: str, zone: str, moved: int) -> str:
    """Return the confirmation of a new check-in time."""
    text = f"Done. Your check-ins will come at {hhmm} ({zone})."
    if moved:
        text += f" {moved} upcoming check-in{'s' if moved != 1 else ''} moved to the new time."
    return text


TIME_BAD = "Please send a time as HH:MM, for example /time 08:30, or pick one of the buttons."


def help_text(contacts: SafetyContacts, *, enrolled: bool) -> str:
    """Return the patient help text, always with the safety notice."""
    commands = "\n".join(command.help_line() for command in commands_for(Audience.PATIENT))
    intro = (
        "I check in with you after your infusions and pass your answers to your care team."
        if enrolled
        else "I am your clinic's follow-up assistant. To start, open the invitation link "
        "your clinic gave you."
    )
    return f"{intro}\n\n{commands}\n\n{notice(contacts)}"


NOT_INVITED = (
    "Hello! I can only help patients of a clinic using Afterglow. "
    "Please ask your clinic for an invitation link."
)
ALREADY_ENROLLED = "You are already set up with your clinic. Send /help to see what I can do."
ENROLLED_ELSEWHERE = (
    "This Telegram account is already linked to a patient record, so this invitation "
    "was not used. If something is wrong, please contact your clinic."
)
CONSENT_FIRST = "Please read the message above and tap \u201cI agree\u201d before we start."


def answer_recorded(score: int) -> str:
    """Return the check-in prompt as it reads once answered."""
    return (
        f"How is your mood today?\nRecorded: {score}/10. Thank you.\n\n"
        "If you like, type a short note about today, or send /skip."
    )


def answer_recorded_short(score: int) -> str:
    """Return the short confirmation of a typed answer."""
    return (
        f"Recorded: {score}/10. Thank you.\n"
        "If you like, type a short note about today, or send /skip."
    )


def already_answered(score: int | None) -> str:
    """Return the reply to a second answer of the same check-in."""
    if score is None:
        return "This check-in is already answered."
    return f"You already answered this check-in with {score}/10."


CHECKIN_CLOSED = "This check-in has closed. Send /checkin to rate your mood now."
BUTTON_INVALID = "This button is no longer valid."
REPROMPT_SCORE = "Please answer with a number from 0 to 10 (for example 7), or tap a button."
NO_OPEN_CHECKIN = "There is no open check-in right now. Send /checkin to rate your mood now."
OPEN_CHECKIN_EXISTS = "You have an open check-in. Tap a number below:"
NOTE_SAVED = "Thank you, your note is saved."
NOTE_SKIPPED = "OK, no note this time."
NOTHING_TO_SKIP = "There is nothing to skip right now."
UNRECOGNISED = (
    "I did not understand that. Send /checkin to rate your mood, or /help to see what I can do."
)


def text_only(contacts: SafetyContacts) -> str:
    """Return the reply to stickers, photos and voice messages, with the safety notice."""
    return (
        "I can only read text messages, so please type your answer. Send /help to see what "
        f"I can do.\n\n{notice(contacts)}"
    )


PAUSED = "Check-ins are paused. Send /resume when you want them back."
ALREADY_PAUSED = "Check-ins are already paused. Send /resume to start them again."
RESUMED = "Welcome back. Check-ins are on again."
NOT_PAUSED = "Check-ins are not paused."
STOPPED = (
    "Check-ins are stopped and I will not message you again. "
    "If you want them back one day, please ask your clinic."
)
STOP_CONFIRM = (
    "Stopping means I will send you no more check-ins or messages, and your care team will"
    " no longer see how you are doing between visits. Your clinic will be told that you"
    " stopped. If you only need a break, /pause instead.\n\nDo you want to stop?"
)
STOP_YES = "Stop all messages"
STOP_NO = "Keep my check-ins"
STOP_KEPT = "Good, nothing changes: your check-ins carry on."
ALREADY_STOPPED = (
    "Check-ins are stopped. If you want them back, please ask your clinic for a new invitation."
)
NOT_ACTIVE_YET = "Please finish setting up first: tap \u201cI agree\u201d above."
WELCOME_BACK = "Good to hear from you again. Check-ins are back on."

INVITE_EXPIRED = "This invitation link has expired. Please ask your clinic for a new one."
INVITE_USED = "This invitation link has already been used. Please ask your clinic for a new one."


def answer_recorded_typed(score: int) -> str:
    """Return the check-in prompt as it reads once answered by typing."""
    return f"How is your mood today?\nRecorded: {score}/10."


LEARN_INTRO = (
    "Short reads about ketamine: how it works, why its effect can fade, and what helps it "
    "last. Pick a topic."
)
CONTACT_SENT = "Your care team has been told."
CONTACT_ALREADY = "Your care team already knows; they will be in touch."


def contact_confirmation(contacts: SafetyContacts) -> str:
    """Return the reply after the patient asked the clinic to contact them."""
    return (
        "Thank you. I have let your care team know that you would like to hear from them; "
        "they will contact you.\n\n" + notice(contacts)
    )


def your_time(current: str, zone: str) -> str:
    """Return the answer to /time without a time: the current one and the choice."""
    return f"Your check-ins come at {current} ({zone}). {CHOOSE_TIME}"


def time_saved(hhmm: str) -> str:
    """Return the short answer to a pressed time button."""
    return f"{hhmm} saved"


def score_recorded(score: int) -> str:
    """Return the short answer to a pressed mood button."""
    return f"Recorded: {score}/10"


def explainer_page(explainer: Explainer, body: str) -> str:
    """Return an explainer as the patient reads it: its title, then its text."""
    return f"{explainer.title}\n\n{body}"


GENTLE = (
    "Thank you for your answers over the last days. It looks like your mood has been lower "
    "lately. That happens to many people after ketamine: the lift often fades with time, "
    "and it is not a sign that you failed or that the treatment was wasted. There are good "
    "ways to help it last, and your care team can talk them through with you."
)
CONTACT_OFFER = "If you would like someone from the clinic to get in touch, tap the button."


def episode_message(explainer: Explainer | None, body: str | None) -> str:
    """Return the message to a patient whose mood has been lower: fading is common."""
    text = GENTLE
    if explainer is not None and body is not None:
        text = f"{GENTLE}\n\n{explainer_page(explainer, body)}"
    return f"{text}\n\n{CONTACT_OFFER}"


def crisis_reply(contacts: SafetyContacts, *, care_team_told: bool, acted: bool = False) -> str:
    """Return the caring reply with the crisis resources."""
    told = (
        "I have let your care team know, and someone will reach out to you."
        if care_team_told
        else "Please also contact your clinic."
    )
    if acted:
        return (
            f"Please call {contacts.emergency_number} now, or ask someone near you to call,"
            " and tell them what you have done. Do not wait to see how you feel: getting help"
            " quickly matters.\n\n"
            f"You can also {contacts.crisis_line}, any time of day or night.\n\n"
            f"{told} This chat is not watched around the clock, so please call now."
        )
    return (
        "Thank you for telling me. I am really sorry you are going through this, and you do "
        "not have to face it alone.\n\n"
        "If you might act on these thoughts or are in danger now, call"
        f" {contacts.emergency_number} (local emergency services). You can also"
        f" {contacts.crisis_line}, any time of day or night.\n\n"
        f"{told} This chat is not watched around the clock, so please use the numbers above"
        " if you need help right now."
    )


SAFETY_QUESTION = (
    "I would like to ask you something directly, because it matters and you can answer"
    " honestly: are you having thoughts of ending your life, or of harming yourself?"
)
SAFETY_YES = "Yes, I am"
SAFETY_NO = "No, I'm not"


def safety_no_reply(contacts: SafetyContacts) -> str:
    """Return the thanks for a 'No' to the direct question, with where to turn."""
    return (
        "Thank you for answering. I am glad, and I have let your care team know how you are"
        " doing. If that changes, you can tell me any time.\n\n" + notice(contacts)
    )


SAFETY_ALREADY = "Thank you, your answer is recorded."

SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again."
BUTTON_FAILED = "Sorry, something went wrong. Please try again."
