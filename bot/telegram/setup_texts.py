"""What the bot says while a clinic sets it up: ids, the settings lines, what to do next."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SetupState:
    """What `afterglow setup` knows about the settings so far."""

    bot_username: str
    admins_configured: bool
    staff_chat_id: int | None = None
    staff_chat_reachable: bool = False


def whoami(user_id: int) -> str:
    """Return a user's id and where it goes."""
    return (
        f"Your Telegram user id is {user_id}.\n\n"
        "To use the staff commands, send it to the clinic's admin. It goes in the bot's"
        " settings (several ids are separated by commas):\n"
        f"AFTERGLOW_ADMIN_IDS={user_id}"
    )


def chat_id(chat: int) -> str:
    """Return a group's id and the settings line that makes it the staff chat."""
    return (
        f"This chat's id is {chat}.\n\n"
        "To make it the staff chat that receives the alerts, put this line in the bot's"
        " settings and restart the bot:\n"
        f"AFTERGLOW_STAFF_CHAT_ID={chat}"
    )


def added_to_group(chat: int) -> str:
    """Return the greeting when someone adds the bot to a group."""
    return f"Hello, I am Afterglow.\n\n{chat_id(chat)}"


def moved_to_supergroup(chat: int) -> str:
    """Return the note when a group became a supergroup (its id changed)."""
    return f"This group is now a supergroup and has a new id.\n\n{chat_id(chat)}"


def chatid_in_private(staff_chat: int | None) -> str:
    """Return the answer to /chatid in a private chat."""
    text = "Send /chatid in the group itself: I answer there with the group's id."
    if staff_chat is not None:
        text += f"\n\nThe staff chat now is {staff_chat}."
    return text


def running(version: str, patients: int, open_alerts: int) -> str:
    """Return the line posted in the staff chat at every start."""
    alerts = f"{open_alerts} open alert{'s' if open_alerts != 1 else ''}"
    return (
        f"Afterglow {version} is running: {patients} patient{'s' if patients != 1 else ''},"
        f" {alerts}."
    )


NOT_READY = (
    "This bot is being set up and is not in use yet. It cannot help in an emergency: if you"
    " are in danger or thinking about harming yourself, call your local emergency number now."
)


def next_steps(user_id: int, state: SetupState) -> str:
    """Return what the admin does next, from what the settings already have."""
    steps: list[str] = []
    if not state.admins_configured:
        steps.append(f"Put your user id in the settings: AFTERGLOW_ADMIN_IDS={user_id}")
    if state.staff_chat_id is None:
        steps.append(
            f"Create a group for the care team and add @{state.bot_username} to it: I answer"
            " there with the line for AFTERGLOW_STAFF_CHAT_ID (or send /chatid in the group)."
        )
    elif not state.staff_chat_reachable:
        steps.append(
            f"AFTERGLOW_STAFF_CHAT_ID is {state.staff_chat_id}, but I cannot reach that chat."
            f" Add @{state.bot_username} to the staff group, or send /chatid there to check"
            " the id."
        )
    steps += [
        "Stop `afterglow setup` and start the bot with `afterglow run`. It posts"
        ' "Afterglow is running" in the staff group.',
        "In the staff group send /invite to get a patient's one-time link, and /infusion"
        " <code> after their infusion.",
    ]
    numbered = "\n".join(f"{number}. {step}" for number, step in enumerate(steps, start=1))
    return (
        f"Afterglow is in setup mode. Your Telegram user id is {user_id}.\n\n"
        f"What to do next:\n{numbered}"
    )


def console_intro(state: SetupState) -> str:
    """Return what `afterglow setup` prints when it starts."""
    bot = f"@{state.bot_username}"
    return "\n".join(
        [
            f"Afterglow setup mode: {bot} answers in Telegram until you stop it (Ctrl-C).",
            f"  1. Open https://t.me/{state.bot_username} and send /whoami: it answers with"
            " your user id, the value of AFTERGLOW_ADMIN_IDS.",
            f"  2. Add {bot} to the care team's group: it answers there with the group's id,"
            " the value of AFTERGLOW_STAFF_CHAT_ID (or send /chatid in the group).",
            "  3. Put both in the settings (.env), stop this, and run `afterglow run`.",
        ]
    )
