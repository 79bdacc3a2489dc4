"""Everything the bot says to staff: alerts, lists and summaries, by pseudonymous code only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.codes import EpisodeKind, PatientStatus, QuestionAnswer
from bot.domain.entities import Alert, MoodPoint, Patient, PatientOverview
from bot.domain.errors import InputError, InputProblem
from bot.telegram.commands import Audience, commands_for

QUOTE_LIMIT = 600
NOTE_LIMIT = 300

NOT_AUTHORISED = "Sorry, you are not authorised to use this command."
NO_PATIENTS = "No patients yet. Use /invite to add one."
NO_OPEN_ALERTS = "No open alerts."
ACKNOWLEDGED = "Acknowledged"
RESOLVED = "Resolved"
ALREADY_ACKNOWLEDGED = "Already acknowledged."
ALREADY_RESOLVED = "Already resolved."

_EPISODE_TITLES = {
    EpisodeKind.DECLINE: "mood decline",
    EpisodeKind.LOW_MOOD: "persistently low mood",
    EpisodeKind.DISENGAGEMENT: "stopped answering",
}
_INFUSION_USAGE = (
    "Usage: /infusion <code> [YYYY-MM-DD [HH:MM]], for example /infusion P-7K3Q 2026-03-02"
)


def staff_help() -> str:
    """Return the staff commands, from the same table as the staff command menu."""
    lines = [command.help_line() for command in commands_for(Audience.STAFF)]
    return "Staff commands:\n" + "\n".join(lines)


def status_label(status: PatientStatus) -> str:
    """Return a patient status in words."""
    return status.value.replace("_", " ")


def patient_status(status: PatientStatus, deleted_at: datetime | None, tz: ZoneInfo) -> str:
    """Return a patient's status as staff read it: 'deleted on <date>' once they deleted."""
    if deleted_at is not None:
        return f"deleted on {deleted_at.astimezone(tz):%Y-%m-%d}"
    return status_label(status)


def consent_line(version: str | None, at: datetime | None, tz: ZoneInfo) -> str:
    """Return which consent text a patient agreed to, and when, as /patient shows it."""
    if at is None:
        return "Consent: not given yet."
    if version is None or version == "legacy":
        return f"Consent: given {local(at, tz)}, before consent versions were recorded."
    return f"Consent: version {version}, given {local(at, tz)}."


def episode_label(kind: EpisodeKind) -> str:
    """Return an episode kind in words, as /patient lists it."""
    return kind.value.replace("_", " ")


def local(moment: datetime | None, tz: ZoneInfo) -> str:
    """Return a moment as local 'YYYY-MM-DD HH:MM', or '-'."""
    return "-" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def day_label(moment: datetime, tz: ZoneInfo) -> str:
    """Return a short local date such as '12 Mar'."""
    return moment.astimezone(tz).strftime("%d %b").lstrip("0")


def calendar_days(start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """Return how many local midnights lie between two moments (calendar days)."""
    return (end.astimezone(tz).date() - start.astimezone(tz).date()).days


def scores_line(points: Sequence[MoodPoint]) -> str:
    """Return the last scores as '8 · 8 · 7 · 4 · 4'."""
    return " · ".join(str(point.score) for point in points) if points else "none yet"


def quote(text: str) -> str:
    """Return a patient's words as staff see them quoted, cut to QUOTE_LIMIT."""
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "\u2026"


def input_problem(err: InputError) -> str:
    """Return the reply to a staff command that cannot be carried out as typed."""
    value = err.value
    match err.problem:
        case InputProblem.NOT_A_CODE:
            return f"{value!r} is not a patient code (like P-7K3Q)."
        case InputProblem.NO_SUCH_PATIENT:
            return f"There is no patient {value}."
        case InputProblem.PATIENT_DELETED:
            return (
                f"{value} deleted their data and left follow-up; nothing can be recorded for"
                " them. Invite them again with /invite if they come back."
            )
        case InputProblem.LABEL_TOO_LONG:
            return f"The label is too long (at most {value} characters)."
        case InputProblem.INFUSION_USAGE:
            return _INFUSION_USAGE
        case InputProblem.NOT_A_DATE:
            return f"{value!r} is not a date. {_INFUSION_USAGE}"
        case InputProblem.NOT_A_REAL_DATE:
            return f"{value} is not a real date."
        case InputProblem.TOO_LONG_AGO:
            return "That date is more than a year ago."
        case InputProblem.IN_THE_FUTURE:
            return "That infusion time is in the future. Record infusions once given."
        case InputProblem.NOT_A_TIME:
            return f"{value!r} is not a time (HH:MM, 24-hour). {_INFUSION_USAGE}"
        case InputProblem.STAFF_NAME_BAD:
            return f"Give the member a name of 1 to {value} characters, like /addstaff Dr Rivera."
        case InputProblem.STAFF_NAME_TAKEN:
            return f"There is already a member called {value}. Choose another name."
        case InputProblem.NO_SUCH_STAFF:
            return f"There is no member called {value!r}. /staff lists them."


def usage(command: str) -> str:
    """Return the usage line of a command that takes one patient code."""
    return f"Usage: /{command} <code>, for example /{command} P-7K3Q"


def alert_message(alert: Alert, *, reminder: bool) -> str:
    """Return the text of an alert or of its reminder."""
    if not reminder:
        return alert.text
    prefix = (
        "URGENT reminder, not yet acknowledged"
        if alert.urgent
        else "Reminder, not yet acknowledged"
    )
    return f"{prefix}:\n\n{alert.text}"


def handled(alert: Alert, verb: str, who: str, at: datetime, tz: ZoneInfo) -> str:
    """Return an alert as it reads once a staff member acknowledged or resolved it."""
    return f"{alert.text}\n\n{verb} by {who} at {local(at, tz)}"


def episode_alert(
    patient: Patient,
    kind: EpisodeKind,
    *,
    explanation: str,
    last_infusion: datetime | None,
    last_scores: Sequence[MoodPoint],
    now: datetime,
    tz: ZoneInfo,
) -> str:
    """Return the text of an episode alert: who, what and since when (once), the last scores.

    The explanation already says since when; the days since the infusion are the clinic's
    calendar days (an infusion yesterday evening was 1 day ago this morning).
    """
    lines = [f"\u26a0\ufe0f {patient.code} \u00b7 {_EPISODE_TITLES[kind]}", explanation]
    if last_infusion is not None:
        days = calendar_days(last_infusion, now, tz)
        lines.append(f"Day {days} after the last infusion ({day_label(last_infusion, tz)}).")
    lines.append(f"Last scores: {scores_line(last_scores)}")
    return "\n".join(lines)


def _category(category: str) -> str:
    return category.replace("-", " ").replace("_", " ")


def crisis_alert(patient: Patient, words: str, category: str, *, follow_up: bool) -> str:
    """Return the staff's URGENT alert with the code and the words that triggered it."""
    headline = "another message, possible crisis" if follow_up else "possible crisis"
    closing = (
        "The first alert about this patient is still not acknowledged."
        if follow_up
        else "Please contact them now, then tap Acknowledge. This repeats every 15 minutes"
        " until someone does."
    )
    return (
        f"\U0001f6a8 URGENT \u00b7 {patient.code} \u00b7 {headline} ({_category(category)})\n"
        f"The patient wrote: \u201c{quote(words)}\u201d\n"
        "They were sent the crisis line and told the care team has been informed. "
        f"{closing}"
    )


def stranger_alert(reference: str, words: str, category: str, *, unreadable: bool) -> str:
    """Return the staff's URGENT message about crisis words from someone with no record."""
    who = "record unreadable" if unreadable else "not a patient"
    sender = (
        "Someone wrote to the bot, and their patient record could not be read (database"
        " error), so Afterglow cannot say whether they are a patient"
        if unreadable
        else "Someone with no patient record wrote to the bot"
    )
    return (
        f"\U0001f6a8 URGENT \u00b7 {who} ({reference}) \u00b7 possible crisis"
        f" ({_category(category)})\n"
        f"{sender}: \u201c{quote(words)}\u201d\n"
        "They were sent the crisis line and the emergency number and asked to contact the"
        " clinic. Afterglow has no name or number to give you. If someone contacts the"
        " clinic about this message, please treat it as urgent."
    )


def stranger_follow_up(reference: str, words: str) -> str:
    """Return the staff's message about another crisis message from the same person."""
    return (
        f"\U0001f6a8 URGENT \u00b7 ({reference}) \u00b7 another message, possible crisis\n"
        f"The same person wrote: \u201c{quote(words)}\u201d\n"
        "They were sent the crisis resources again."
    )


def stranger_digest(entries: Sequence[tuple[str, str]]) -> str:
    """Return one staff message for many crisis messages from people with no record."""
    lines = [
        f"\U0001f6a8 URGENT \u00b7 {len(entries)} more crisis message"
        f"{'s' if len(entries) != 1 else ''} from people with no patient record",
        "Each person was sent the crisis line and the emergency number and asked to contact"
        " the clinic. So many arrived at once that they are listed here together:",
    ]
    for reference, words in entries:
        lines.append(f"\u00b7 ({reference}) \u201c{quote(words)}\u201d")
    return _fit_text("\n".join(lines))


def _fit_text(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def review_note(patient: Patient, words: str, category: str | None, *, asked: bool) -> str:
    """Return the staff note about words that may be a signal."""
    what = f" ({_category(category)})" if category else ""
    then = (
        "They were asked directly whether they are having thoughts of ending their life or"
        " of harming themselves; their answer will follow here."
        if asked
        else "Nothing was said to them: this is for someone to read and judge."
    )
    return (
        f"\U0001f50e {patient.code} \u00b7 for review{what}\n"
        f"The patient wrote: \u201c{quote(words)}\u201d\n{then}"
    )


def low_score_note(patient: Patient, score: int) -> str:
    """Return the staff note that a very low mood score was answered with the question."""
    return (
        f"\U0001f50e {patient.code} \u00b7 rated their mood {score}/10\n"
        "They were asked directly whether they are having thoughts of ending their life or"
        " of harming themselves; their answer will follow here."
    )


def question_answered(patient: Patient, answer: QuestionAnswer) -> str:
    """Return the staff message with the answer to the direct question."""
    if answer is QuestionAnswer.YES:
        return (
            f"\U0001f6a8 URGENT \u00b7 {patient.code} \u00b7 answered YES: thoughts of ending"
            " their life or of harming themselves\n"
            "They were sent the crisis line and the emergency number. Please contact them now,"
            " then tap Acknowledge. This repeats every 15 minutes until someone does."
        )
    return (
        f"{patient.code} \u00b7 answered No to the direct question about thoughts of ending"
        " their life or of harming themselves."
    )


def question_unanswered(patient: Patient, asked_at: datetime, tz: ZoneInfo) -> str:
    """Return the staff alert that the direct question went unanswered."""
    return (
        f"\u26a0\ufe0f {patient.code} \u00b7 did not answer the direct safety question\n"
        f"Asked at {local(asked_at, tz)} whether they are having thoughts of ending their"
        " life or of harming themselves; no answer since. Please reach them, then tap"
        " Acknowledge. This repeats every hour until someone does."
    )


def not_stored(text: str) -> str:
    """Return a direct staff message marked as not stored."""
    return f"{text}\n\n(Could not be stored: no buttons or reminders. Please act on it now.)"


def contact_request(patient: Patient, episode_kind: EpisodeKind) -> str:
    """Return the staff alert that a patient asked to be contacted."""
    return (
        f"\U0001f4de {patient.code} \u00b7 asked to be contacted\n"
        f"The patient tapped \u201cI'd like the clinic to contact me\u201d after a "
        f"{episode_label(episode_kind)} message. Please get in touch."
    )


def overview_line(row: PatientOverview, tz: ZoneInfo) -> str:
    """Return one line of /patients."""
    score = "no answers yet"
    if row.last_score is not None:
        score = f"last {row.last_score}/10 at {local(row.last_score_at, tz)}"
    label = f" ({row.label})" if row.label else ""
    return (
        f"{row.code}{label} · {patient_status(row.status, row.deleted_at, tz)} · {score}"
        f" · infusion {local(row.last_infusion_at, tz)}"
    )


def patients_heading(count: int, tz: ZoneInfo) -> str:
    """Return the first line of /patients."""
    return f"Patients ({count}), newest first, times in {tz.key}:"


def patients_more(count: int) -> str:
    """Return the last line of a /patients list cut short."""
    return f"\n... and {count} more; see /patient <code> for one patient."


def handled_elsewhere(alert: Alert, verb: str, who: str) -> str:
    """Return the staff chat's word that an alert was handled from a private copy."""
    return f"{alert.patient_code}: alert {verb.lower()} by {who} (from their private chat)."


def resolved_episodes(code: str, count: int) -> str:
    """Return the answer to /resolve."""
    if not count:
        return f"{code} has no open episodes."
    return f"Resolved {count} open episode{'s' if count != 1 else ''} of {code}."


def chart_caption(code: str) -> str:
    """Return the caption of the chart /patient sends."""
    return f"{code}: mood chart"
