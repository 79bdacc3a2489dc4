"""The command table: the menus Telegram shows and the /help texts come from this one list."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from telegram import BotCommand


class Audience(Enum):
    """Who a command is for."""

    PATIENT = auto()
    STAFF = auto()


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its name, its line in the menu, and its line in /help."""

    name: str
    audience: Audience
    menu: str
    help: str
    usage: str = ""

    def help_line(self) -> str:
        """Return the command's line in /help."""
        usage = f" {self.usage}" if self.usage else ""
        return f"/{self.name}{usage} - {self.help}"


COMMANDS: tuple[Command, ...] = (
    Command("checkin", Audience.PATIENT, "Rate your mood now", "rate your mood now"),
    Command(
        "learn",
        Audience.PATIENT,
        "Why the effect can fade, and what helps",
        "why the effect of ketamine can fade, and what helps",
    ),
    Command(
        "time",
        Audience.PATIENT,
        "Change your check-in time",
        "change the time of your daily check-in",
    ),
    Command(
        "phq9",
        Audience.PATIENT,
        "PHQ-9 mood questionnaire",
        "the PHQ-9, nine questions about the last two weeks",
    ),
    Command(
        "gad7",
        Audience.PATIENT,
        "GAD-7 anxiety questionnaire",
        "the GAD-7, seven questions about worry and anxiety",
    ),
    Command(
        "history",
        Audience.PATIENT,
        "Your chart since you joined",
        "your mood and questionnaires since you joined, as a chart",
    ),
    Command(
        "mydata",
        Audience.PATIENT,
        "A copy of your data",
        "a file (CSV) with everything stored about you",
    ),
    Command("pause", Audience.PATIENT, "Pause check-ins", "pause check-ins"),
    Command("resume", Audience.PATIENT, "Resume check-ins", "start check-ins again"),
    Command("stop", Audience.PATIENT, "Stop all messages", "stop all messages from me"),
    Command(
        "deletemydata",
        Audience.PATIENT,
        "Delete your data",
        "delete what I keep about you and stop all messages (asks first)",
    ),
    Command("help", Audience.PATIENT, "Help and emergency contacts", "this message"),
    Command("alerts", Audience.STAFF, "Open alerts", "list the open alerts"),
    Command(
        "patient",
        Audience.STAFF,
        "Summary and chart of a patient: <code>",
        "summary, chart and recent notes of a patient",
        "<code>",
    ),
    Command(
        "resolve",
        Audience.STAFF,
        "End the open episodes of a patient: <code>",
        "end the open episodes of a patient",
        "<code>",
    ),
    Command(
        "invite",
        Audience.STAFF,
        "Invite a new patient",
        "create a patient and a one-time invitation link",
        "[label]",
    ),
    Command(
        "infusion",
        Audience.STAFF,
        "Record an infusion: <code> [YYYY-MM-DD [HH:MM]]",
        "record an infusion (clinic time)",
        "<code> [YYYY-MM-DD [HH:MM]]",
    ),
    Command(
        "patients",
        Audience.STAFF,
        "List patients",
        "list patients with status, last score and last infusion",
    ),
    Command(
        "stats",
        Audience.STAFF,
        "Last 30 days: alerts and response times",
        "the last 30 days: alerts by kind, time to acknowledge and resolve, answered share",
    ),
    Command("staff", Audience.STAFF, "Staff roster and who is on call", "the staff roster"),
    Command(
        "addstaff",
        Audience.STAFF,
        "Add a staff member (owners, in private): [name]",
        "owners: add a staff member with a one-time link (in private)",
        "[name]",
    ),
    Command(
        "oncall",
        Audience.STAFF,
        "Put a member on call (owners): <name>",
        "owners: put a member on call (urgent alerts not acknowledged in time go to them)",
        "<name>",
    ),
    Command(
        "offcall",
        Audience.STAFF,
        "Take a member off call (owners): <name>",
        "owners: take a member off call",
        "<name>",
    ),
    Command(
        "removestaff",
        Audience.STAFF,
        "Remove a staff member (owners): <name>",
        "owners: remove a member; their commands and buttons stop at once",
        "<name>",
    ),
    Command(
        "export",
        Audience.STAFF,
        "Export a patient's data: <code>",
        "a patient's data as CSV and as a FHIR R4 Bundle (private chat only, audited)",
        "<code>",
    ),
    Command("help", Audience.STAFF, "Help", "this message"),
    Command(
        "whoami",
        Audience.STAFF,
        "Your Telegram user id",
        "your Telegram user id, for AFTERGLOW_ADMIN_IDS (anyone may ask, in private)",
    ),
    Command(
        "chatid",
        Audience.STAFF,
        "This chat's id",
        "this group's id, for AFTERGLOW_STAFF_CHAT_ID",
    ),
)


def commands_for(audience: Audience) -> list[Command]:
    """Return an audience's commands in menu order."""
    return [command for command in COMMANDS if command.audience is audience]


def menu(audience: Audience) -> list[BotCommand]:
    """Return the command menu Telegram shows an audience."""
    return [BotCommand(command.name, command.menu) for command in commands_for(audience)]


STAFF_COMMAND_NAMES = frozenset(
    command.name for command in commands_for(Audience.STAFF) if command.name != "help"
)
"""The commands only staff may use (everyone has /help)."""
