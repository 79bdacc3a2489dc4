"""What patients and staff read around their data files (/mydata, /export)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain.history import History
from bot.telegram.questionnaire_texts import TITLES
from bot.telegram.staff_texts import day_label

MYDATA_CAPTION = (
    "Everything Afterglow stores about you: check-ins, answers, notes, questionnaires, safety"
    " questions and the explainers you were sent. It opens in a spreadsheet. Keep it safe;"
    " it contains your health information."
)
MYDATA_NONE = "There is no follow-up data stored for you."
EXPORT_PRIVATE_ONLY = (
    "For privacy, /export works only in a private chat with me: the files hold the"
    " patient's notes and answers."
)


def export_caption(code: str, kind: str) -> str:
    """Return the caption of one export file."""
    return f"{code} \u00b7 {kind}. The export is recorded in the audit log."


HISTORY_NONE = "There is no follow-up history stored for you."
HISTORY_CAPTION = "Your mood since you joined, with your infusions marked."
HISTORY_EMPTY = (
    "Nothing to draw yet: your chart starts with your first check-in answer or questionnaire."
)
_NOTE_SHORT = 200


def history_text(history: History, tz: ZoneInfo) -> str:
    """Return the words under the chart: counts and the latest entries, in plain words."""
    lines = [
        f"Since {day_label(history.start, tz)}: {len(history.points)} mood answers,"
        f" {len(history.totals)} questionnaires, {len(history.infusions)} infusions."
    ]
    if history.latest:
        lines.append("Your latest entries:")
    for entry in history.latest:
        when = day_label(entry.at, tz)
        if entry.instrument is not None:
            title = TITLES.get(entry.instrument, entry.instrument.upper())
            lines.append(f"\u2022 {when}: {title} total {entry.score}")
        elif entry.note is not None:
            note = entry.note if len(entry.note) <= _NOTE_SHORT else entry.note[:197] + "..."
            lines.append(f"\u2022 {when}: your note \u201c{note}\u201d")
        else:
            lines.append(f"\u2022 {when}: mood {entry.score} of 10")
    lines.append("Questionnaires: /phq9 and /gad7. A copy of all your data: /mydata.")
    return "\n".join(lines)
