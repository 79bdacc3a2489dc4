"""What patients and staff read about questionnaires (PHQ-9, GAD-7), and their buttons."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.codes import QuestionnaireOrigin
from bot.domain.entities import Patient, QuestionnaireResponse
from bot.domain.questionnaire_outcomes import (
    QuestionnaireFinding,
    QuestionnaireFindingKind,
    response_and_remission,
)
from bot.domain.questionnaires import Progress, Questionnaire
from bot.telegram.staff_texts import calendar_days, day_label

BACK = "\u2190 Back"
SKIP = "Skip this one"
_ANSWER = re.compile(r"qa:([1-9][0-9]{0,17}):([0-9]{1,2}):([0-9]{1,2})")
_MOVE = re.compile(r"q(b|s):([1-9][0-9]{0,17}):([0-9]{1,2})")

_INTRO = {
    QuestionnaireOrigin.REQUESTED: "Here is the {title}.",
    QuestionnaireOrigin.BASELINE: (
        "To see how you are doing over time, the care team asks a short questionnaire now"
        " and then. This is the {title}, your starting point."
    ),
    QuestionnaireOrigin.AFTER_INFUSION: (
        "It has been about a week since your infusion. Time for the {title}, so you and the"
        " care team can see how it helped."
    ),
    QuestionnaireOrigin.INTERVAL: "Time for your regular {title}.",
}

_BAND_WORDS = {
    "minimal": "minimal or no symptoms",
    "mild": "mild symptoms",
    "moderate": "moderate symptoms",
    "moderately severe": "moderately severe symptoms",
    "severe": "severe symptoms",
}


@dataclass(frozen=True, slots=True)
class QuestionnairePress:
    """A press on a questionnaire button: which administration, which item, what."""

    response_id: int
    index: int
    action: str
    """"answer", "back" or "skip"."""
    value: int = 0


def parse_press(data: str) -> QuestionnairePress | None:
    """Return the press a button's callback data stands for, or None."""
    answer = _ANSWER.fullmatch(data)
    if answer is not None:
        return QuestionnairePress(
            int(answer.group(1)), int(answer.group(2)), "answer", int(answer.group(3))
        )
    move = _MOVE.fullmatch(data)
    if move is not None:
        action = "back" if move.group(1) == "b" else "skip"
        return QuestionnairePress(int(move.group(2)), int(move.group(3)), action)
    return None


def is_safety_answer(press: QuestionnairePress | None) -> bool:
    """Tell whether a press answers PHQ-9 item 9 above "Not at all", from its data alone.

    Item index 8 exists only in the PHQ-9 (the GAD-7 has seven items): its safety item. For
    when nothing else can be read (no record, or the database failing).
    """
    return press is not None and press.action == "answer" and press.index == 8 and press.value > 0


def item_keyboard(
    response: QuestionnaireResponse, questionnaire: Questionnaire
) -> InlineKeyboardMarkup:
    """Return one button per standard option (label exactly as published), then Back/Skip."""
    progress = Progress(questionnaire, response.answers)
    item = progress.next_item
    if item is None:
        return InlineKeyboardMarkup([])
    index = progress.index
    rows = [
        [
            InlineKeyboardButton(
                option.label, callback_data=f"qa:{response.id}:{index}:{option.score}"
            )
        ]
        for option in item.options
    ]
    extra: list[InlineKeyboardButton] = []
    if index > 0:
        extra.append(InlineKeyboardButton(BACK, callback_data=f"qb:{response.id}:{index}"))
    if item.optional:
        extra.append(InlineKeyboardButton(SKIP, callback_data=f"qs:{response.id}:{index}"))
    if extra:
        rows.append(extra)
    return InlineKeyboardMarkup(rows)


def item_text(
    response: QuestionnaireResponse, questionnaire: Questionnaire, *, intro: str | None = None
) -> str:
    """Return the text of the current item: where it is, the stem and the question."""
    progress = Progress(questionnaire, response.answers)
    item = progress.next_item
    if item is None:
        return completed(response, questionnaire)
    # The optional question (the PHQ-9's functional one) is not counted: it may not be asked.
    count = sum(1 for entry in questionnaire.items if not entry.optional)
    parts = [intro] if intro else []
    if item.optional:
        parts += [f"{questionnaire.title} \u00b7 one more question", item.text]
    else:
        head = f"{questionnaire.title} \u00b7 question {progress.index + 1} of {count}"
        parts += [head, questionnaire.stem, f"\u2022 {item.text}"]
    return "\n\n".join(parts)


def intro(origin: QuestionnaireOrigin, questionnaire: Questionnaire, *, resumed: bool) -> str:
    """Return the words before the first item (and the required attribution notice)."""
    if resumed:
        return f"Let\u2019s continue your {questionnaire.title} where you left off."
    opening = _INTRO[origin].format(title=questionnaire.title)
    return (
        f"{opening} Tap the answer that fits best; you can go back, and you can finish it"
        f" later within a day.\n\n{questionnaire.notice}"
    )


def completed(response: QuestionnaireResponse, questionnaire: Questionnaire) -> str:
    """Return the patient's result in plain words: the total, its band, what happens next."""
    total = response.total if response.total is not None else 0
    band = response.band or questionnaire.band(total).label
    return (
        f"Thank you. Your {questionnaire.title} total is {total} of {questionnaire.max_total}:"
        f" {_BAND_WORDS.get(band, band)}. Your care team sees this with your check-ins. It is"
        " a snapshot, not a diagnosis; if anything worries you, tell the clinic."
    )


ALREADY_DONE = "You have already finished this questionnaire. Thank you."
EXPIRED = (
    "This questionnaire was left unfinished for more than a day and is closed. You can start"
    " a new one with /phq9 or /gad7."
)
NOT_ENROLLED = "Questionnaires are for patients in follow-up with the clinic."
UNKNOWN = "This button no longer works. You can start a questionnaire with /phq9 or /gad7."
SAFETY_PRESS_UNREADABLE = (
    "answered PHQ-9 item 9 (thoughts of being better off dead or of self-harm) above \u201cNot"
    " at all\u201d while the questionnaire could not be stored"
)
OTHER_OPEN = "You have a questionnaire in progress; let\u2019s finish that one first."


def safety_alert(patient: Patient, questionnaire: Questionnaire, index: int, value: int) -> str:
    """Return the staff's URGENT alert for a safety item answered above zero."""
    item = questionnaire.items[index]
    label = item.label_of(value) or str(value)
    return (
        f"\U0001f6a8 URGENT \u00b7 {patient.code} \u00b7 {questionnaire.title} item"
        f" {index + 1} answered \u201c{label}\u201d\n"
        f"\u201c{item.text}\u201d\n"
        "They were sent the crisis line and told the care team has been informed. Please"
        " contact them now, then tap Acknowledge. This repeats every 15 minutes until"
        " someone does."
    )


def safety_worse(patient: Patient, questionnaire: Questionnaire, index: int, value: int) -> str:
    """Return the staff's follow-up when the safety item is answered worse than first told."""
    item = questionnaire.items[index]
    label = item.label_of(value) or str(value)
    return (
        f"\U0001f6a8 {patient.code} \u00b7 {questionnaire.title} item {index + 1} now answered"
        f" \u201c{label}\u201d, worse than first told. The alert already sent about it"
        " stands: please act on that one."
    )


def finding_explanation(finding: QuestionnaireFinding, tz: ZoneInfo) -> str:
    """Return the one-line account of a PHQ-9 finding, kept with its episode."""
    since = day_label(finding.since, tz)
    if finding.kind is QuestionnaireFindingKind.RISE:
        return (
            f"PHQ-9 up {finding.latest - finding.best} points, from {finding.best} on {since}"
            f" to {finding.latest} (a rise of 5 or more is clinically important)."
        )
    return f"PHQ-9 reached {finding.latest} (moderate or worse), up from below 10 on {since}."


def finding_alert(
    patient: Patient,
    *,
    explanation: str,
    last_infusion: datetime | None,
    now: datetime,
    tz: ZoneInfo,
) -> str:
    """Return the staff alert for a decline seen in PHQ-9 totals."""
    lines = [f"\u26a0\ufe0f {patient.code} \u00b7 decline (PHQ-9)", explanation]
    if last_infusion is not None:
        days = calendar_days(last_infusion, now, tz)
        lines.append(f"Day {days} after the last infusion ({day_label(last_infusion, tz)}).")
    return "\n".join(lines)


TITLES = {"phq9": "PHQ-9", "gad7": "GAD-7"}


def summaries(responses: Sequence[QuestionnaireResponse], tz: ZoneInfo) -> list[str]:
    """Return /patient's lines: per questionnaire, the latest total against the baseline."""
    by_instrument: dict[str, list[QuestionnaireResponse]] = {}
    for response in responses:
        by_instrument.setdefault(response.instrument, []).append(response)
    lines = []
    for instrument, done in sorted(by_instrument.items()):
        line = summary(TITLES.get(instrument, instrument.upper()), done, tz)
        if line is not None:
            lines.append(line)
    return lines


def summary(
    title: str, completed_responses: Sequence[QuestionnaireResponse], tz: ZoneInfo
) -> str | None:
    """Return the staff's line for one instrument: latest total and band, against baseline.

    Response is a drop of half or more from the first total, remission a total below 5.
    """
    scored = [
        (r.completed_at, r.total, r.band)
        for r in completed_responses
        if r.total is not None and r.completed_at is not None
    ]
    if not scored:
        return None
    baseline = scored[0][1]
    at, total, band = scored[-1]
    line = f"{title}: {total} ({band}) on {day_label(at, tz)}"
    if len(scored) > 1:
        outcome = response_and_remission(baseline, total)
        marks = [
            word
            for word, on in (("response", outcome.response), ("remission", outcome.remission))
            if on
        ]
        line += f"; baseline {baseline}" + (f", {' and '.join(marks)}" if marks else "")
    return line
