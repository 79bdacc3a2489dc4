"""The root of every error Afterglow raises on purpose, and the ones people can correct."""

from __future__ import annotations

from enum import StrEnum


class AfterglowError(Exception):
    """Base of Afterglow's own errors; anything else escaping is a bug."""


class InputProblem(StrEnum):
    """What is wrong with something a person typed; `bot.telegram` words the reply."""

    NOT_A_CODE = "not_a_code"
    NO_SUCH_PATIENT = "no_such_patient"
    LABEL_TOO_LONG = "label_too_long"
    INFUSION_USAGE = "infusion_usage"
    NOT_A_DATE = "not_a_date"
    NOT_A_REAL_DATE = "not_a_real_date"
    TOO_LONG_AGO = "too_long_ago"
    IN_THE_FUTURE = "in_the_future"
    NOT_A_TIME = "not_a_time"
    STAFF_NAME_BAD = "staff_name_bad"
    STAFF_NAME_TAKEN = "staff_name_taken"
    NO_SUCH_STAFF = "no_such_staff"
    PATIENT_DELETED = "patient_deleted"


class InputError(AfterglowError):
    """The request cannot be carried out as given.

    `value` is the offending part of the input (cut short), for the reply to quote.
    """

    def __init__(self, problem: InputProblem, value: str = "") -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.value = value


class ContentError(AfterglowError):
    """A content file (protocol, explainers, crisis patterns) is missing or invalid.

    The message names the file and the problem, in one line.
    """
