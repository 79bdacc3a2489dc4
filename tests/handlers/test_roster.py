"""handlers/staff_roster.py: owners add, list, put on call and remove staff; no restart."""

from __future__ import annotations

from bot.telegram import roster_texts, staff_texts
from tests.handlers.conftest import LINK, InProcessBot
from tests.handlers.updates import TgUser


async def add_member(bot: InProcessBot, name: str, user: TgUser) -> None:
    """Add a member as the owner in private and open their link as `user`."""
    reply = (await bot.send(bot.staff, f"/addstaff {name}")).reply.text
    link = LINK.search(reply)
    assert link is not None, reply
    joined = await bot.send(user, f"/start {link.group(1)}")
    assert joined.reply.text.startswith(f"Welcome, {name}")


async def test_a_member_joins_works_and_is_removed_without_a_restart(bot: InProcessBot) -> None:
    rivera = bot.user("Rivera")
    assert (await bot.send(rivera, "/patients")).reply.text == staff_texts.NOT_AUTHORISED

    added = await bot.send(bot.staff, "/addstaff Dr Rivera")
    assert "Dr Rivera is added" in added.reply.text
    link = LINK.search(added.reply.text)
    assert link is not None
    opened = await bot.send(rivera, f"/start {link.group(1)}")
    assert opened.reply.text.startswith("Welcome, Dr Rivera")
    notice = opened.to(bot.staff_group.id)
    assert [sent.text for sent in notice] == [
        roster_texts.joined_notice((await bot.svc.roster.members())[0])
    ]

    assert (await bot.send(rivera, "/patients")).reply.text == staff_texts.NO_PATIENTS
    listing = (await bot.send(rivera, "/staff")).reply.text
    assert "Dr Rivera: joined" in listing
    assert "Nobody is on call" in listing

    on_call = (await bot.send(bot.staff, "/oncall dr rivera")).reply.text
    assert on_call.startswith("Dr Rivera is on call")
    assert "Dr Rivera: on call" in (await bot.send(bot.staff, "/staff")).reply.text
    off = (await bot.send(bot.staff, "/offcall Dr Rivera")).reply.text
    assert off == "Dr Rivera is off call."

    removed = (await bot.send(bot.staff, "/removestaff Dr Rivera")).reply.text
    assert removed.startswith("Dr Rivera is removed")
    assert (await bot.send(rivera, "/patients")).reply.text == staff_texts.NOT_AUTHORISED
    # The link does not let them back in.
    again = await bot.send(rivera, f"/start {link.group(1)}")
    assert again.reply.text == roster_texts.LINK_NOT_VALID


async def test_a_removed_member_cannot_press_alert_buttons(bot: InProcessBot) -> None:
    rivera = bot.user("Rivera")
    await add_member(bot, "Rivera", rivera)
    ola = bot.user("Ola")
    await bot.enrol(ola)
    alert_message = (await bot.send(ola, "i want to kill myself")).to(bot.staff_group.id)[0]
    await bot.send(bot.staff, "/removestaff Rivera")

    pressed = await bot.press(rivera, alert_message, alert_message.button("Acknowledge"))

    assert pressed.answer == staff_texts.NOT_AUTHORISED
    assert pressed.edits == []


async def test_only_owners_change_the_roster(bot: InProcessBot) -> None:
    rivera = bot.user("Rivera")
    await add_member(bot, "Rivera", rivera)
    for command in (
        "/addstaff Okafor",
        "/oncall Rivera",
        "/offcall Rivera",
        "/removestaff Rivera",
    ):
        assert (await bot.send(rivera, command)).reply.text == roster_texts.OWNERS_ONLY
    stranger = bot.user("Mallory")
    for command in ("/addstaff Mallory", "/staff", "/oncall Rivera", "/stats"):
        assert (await bot.send(stranger, command)).reply.text == staff_texts.NOT_AUTHORISED
    assert [m.name for m in await bot.svc.roster.members()] == ["Rivera"]


async def test_a_staff_link_is_made_in_private_only(bot: InProcessBot) -> None:
    reply = await bot.send(bot.staff, "/addstaff Okafor", chat=bot.staff_group)
    assert reply.reply.text == roster_texts.ADD_IN_PRIVATE
    assert LINK.search(reply.reply.text) is None
    assert await bot.svc.roster.members() == []


async def test_bad_roster_input_gets_a_short_reply(bot: InProcessBot) -> None:
    long_name = "x" * 41
    assert "1 to 40 characters" in (await bot.send(bot.staff, f"/addstaff {long_name}")).reply.text
    await bot.send(bot.staff, "/addstaff Rivera")
    taken = (await bot.send(bot.staff, "/addstaff rivera")).reply.text
    assert "already a member called rivera" in taken
    assert (await bot.send(bot.staff, "/oncall")).reply.text.startswith("Usage: /oncall <name>")
    assert (await bot.send(bot.staff, "/removestaff")).reply.text.startswith("Usage:")
    unknown = (await bot.send(bot.staff, "/oncall Nobody")).reply.text
    assert unknown == "There is no member called 'Nobody'. /staff lists them."
    assert len(await bot.svc.roster.members()) == 1


async def test_addstaff_without_a_name_numbers_the_member(bot: InProcessBot) -> None:
    reply = (await bot.send(bot.staff, "/addstaff")).reply.text
    assert reply.startswith("Staff 1 is added")


async def test_a_patient_cannot_become_staff(bot: InProcessBot) -> None:
    ola = bot.user("Ola")
    await bot.enrol(ola)
    reply = (await bot.send(bot.staff, "/addstaff Helper")).reply.text
    link = LINK.search(reply)
    assert link is not None
    opened = await bot.send(ola, f"/start {link.group(1)}")
    assert opened.reply.text == roster_texts.PATIENT_CANNOT_JOIN
    assert (await bot.send(ola, "/patients")).reply.text == staff_texts.NOT_AUTHORISED


async def test_the_roster_survives_a_restart(bot: InProcessBot) -> None:
    rivera = bot.user("Rivera")
    await add_member(bot, "Rivera", rivera)
    await bot.stop()
    await bot.start()
    assert (await bot.send(rivera, "/patients")).reply.text == staff_texts.NO_PATIENTS
