"""When a patient is asked a questionnaire: at enrolment, a week after each infusion, and
every two weeks otherwise (measurement-based care; each recorded infusion resets the clock).

Everything here is pure: the dispatcher asks `next_due` with what is stored, and sends the
first item at the patient's own check-in time on or after the day it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.codes import QuestionnaireOrigin

_KEYS = {"planned", "after_infusion_days", "every_days", "expire_hours"}
_SAME_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class QuestionnairePlan:
    """The protocol's `[questionnaires]` table."""

    planned: tuple[str, ...] = ("phq9", "gad7")
    after_infusion: timedelta = timedelta(days=7)
    every: timedelta = timedelta(days=14)
    expire_after: timedelta = timedelta(hours=24)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> QuestionnairePlan:
        """Read the table; raise ValueError naming the key that is wrong."""
        unknown = set(table) - _KEYS
        if unknown:
            raise ValueError(f"[questionnaires] unknown key(s): {', '.join(sorted(unknown))}")
        planned = table.get("planned", ["phq9", "gad7"])
        if not isinstance(planned, list) or not all(
            isinstance(name, str) and name for name in planned
        ):
            raise ValueError("[questionnaires] 'planned' must be a list of questionnaire ids")
        if len(set(planned)) != len(planned):
            raise ValueError("[questionnaires] 'planned' names a questionnaire twice")
        return cls(
            planned=tuple(planned),
            after_infusion=timedelta(days=_whole(table, "after_infusion_days", 7, 1, 60)),
            every=timedelta(days=_whole(table, "every_days", 14, 1, 90)),
            expire_after=timedelta(hours=_whole(table, "expire_hours", 24, 1, 168)),
        )


def _whole(table: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"[questionnaires] '{key}' must be a whole number from {low} to {high}")
    return value


@dataclass(frozen=True, slots=True)
class Due:
    """A questionnaire that is due, why, and from when."""

    instrument: str
    origin: QuestionnaireOrigin
    at: datetime


def next_due(
    plan: QuestionnairePlan,
    instrument: str,
    *,
    enrolled_at: datetime,
    infusions: Sequence[datetime],
    last_started: datetime | None,
) -> Due:
    """Return when this instrument is next due for a patient.

    Never asked: due at enrolment (the baseline). Otherwise due `every` after the last time
    it was started, or `after_infusion` after the latest infusion when that comes first and
    it was not started since (an infusion resets the clock). It is sent on the due calendar
    day, possibly some hours before the exact moment, so one started within a day before
    that moment counts as the one after the infusion.
    """
    if last_started is None:
        return Due(instrument, QuestionnaireOrigin.BASELINE, enrolled_at)
    due = Due(instrument, QuestionnaireOrigin.INTERVAL, last_started + plan.every)
    if infusions:
        after = max(infusions) + plan.after_infusion
        if last_started < after - _SAME_DAY and after < due.at:
            due = Due(instrument, QuestionnaireOrigin.AFTER_INFUSION, after)
    return due


def send_moment(
    due: datetime, *, checkin_time: time, tz: ZoneInfo, strict: bool = False
) -> datetime:
    """Return the patient's check-in time on the due (local, calendar) day.

    `strict`: never before `due` (the baseline, which must not come before enrolment): when
    the time has passed that day, the next day.
    """
    local = due.astimezone(tz)
    moment = _at(local.date(), checkin_time, tz)
    if strict and moment < due:
        moment = _at(local.date() + timedelta(days=1), checkin_time, tz)
    return moment


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)
