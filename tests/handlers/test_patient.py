"""handlers/patient.py, set-up and commands: /start, consent, /time, /help, /pause, /resume, /stop.

Check-ins, answers, notes and the explainer buttons are in test_checkins.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.codes import PatientStatus
from bot.telegram import keyboards, staff_texts, texts
from bot.telegram.commands import Audience, commands_for
from tests.handlers.conftest import InProcessBot, patient_of
from tests.handlers.offline import forbidden

# -- /start and invitations


async def test_start_without_or_with_wrong_token(bot: InProcessBot) -> None:
    stranger = bot.user("Stranger")
    for text in (
        "/start",
        "/start nonsense",
        "/start " + "A" * 43,
        "/start " + "x" * 200,
        "/start " + "y" * 5000,
        "/start a b",
        "/start ../../etc",
        "/start \U0001f600",
        "/start@" + "afterglow_test_bot",
    ):
        reply = (await bot.send(stranger, text)).reply.text
        assert reply == texts.NOT_INVITED, text
        assert "ask your clinic for an invitation link" in reply.lower()
    assert await bot.svc.storage.patients.by_user(stranger.id) is None
    assert await bot.svc.care.overview() == []


async def test_reused_and_expired_links_bind_nothing(bot: InProcessBot) -> None:
    first, second = bot.user("First"), bot.user("Second")
    _, token = await bot.invite()
    await bot.send(first, f"/start {token}")
    reused = (await bot.send(second, f"/start {token}")).reply
    assert reused.text == texts.INVITE_USED
    assert "already been used" in reused.text
    assert not reused.buttons()
    assert await bot.svc.storage.patients.by_user(second.id) is None

    _, old_token = await bot.invite()
    bot.clock.advance(timedelta(days=7, seconds=1))
    expired = (await bot.send(second, f"/start {old_token}")).reply.text
    assert expired == texts.INVITE_EXPIRED
    assert "expired" in expired
    assert await bot.svc.storage.patients.by_user(second.id) is None


async def test_a_link_works_until_the_moment_it_expires(bot: InProcessBot) -> None:
    late, later = bot.user("Late"), bot.user("Later")
    _, token = await bot.invite()
    _, other = await bot.invite()
    bot.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert (await bot.send(late, f"/start {token}")).reply.buttons()
    bot.clock.advance(timedelta(seconds=1))
    assert (await bot.send(later, f"/start {other}")).reply.text == texts.INVITE_EXPIRED


async def test_enrolled_user_cannot_take_another_invitation(bot: InProcessBot) -> None:
    pat = bot.user("Pat")
    code = await bot.enrol(pat)
    other_code, other_token = await bot.invite()
    reply = (await bot.send(pat, f"/start {other_token}")).reply.text
    assert reply == texts.ENROLLED_ELSEWHERE
    assert "not used" in reply
    other = await bot.svc.storage.patients.by_code(other_code)
    assert other is not None
    assert other.status is PatientStatus.INVITED
    assert (await patient_of(bot, pat)).code == code
    again = (await bot.send(pat, "/start")).reply.text
    assert again == texts.ALREADY_ENROLLED
    assert "already set up" in again


async def test_a_patient_reopening_their_own_link_is_told_they_are_set_up(
    bot: InProcessBot,
) -> None:
    yan = bot.user("Yan")
    _code, token = await bot.invite()
    consent = (await bot.send(yan, f"/start {token}")).reply
    agreed = await bot.press(yan, consent, consent.button(texts.CONSENT_BUTTON))
    assert texts.CONSENT_RECORDED in agreed.reply.text
    assert "consent is recorded" in agreed.reply.text

    again = (await bot.send(yan, f"/start {token}")).reply.text

    assert again == texts.ALREADY_ENROLLED
    assert "already set up" in again


async def test_a_stopped_patient_can_start_again_with_a_new_invitation(bot: InProcessBot) -> None:
    val = bot.user("Val")
    old_code = await bot.enrol(val)
    await bot.stop_messages(val)
    refused = (await bot.send(val, "/start")).reply.text
    assert refused == texts.ALREADY_STOPPED
    assert "new invitation" in refused
    new_code, token = await bot.invite()
    consent = (await bot.send(val, f"/start {token}")).reply
    assert texts.CONSENT_BUTTON in consent.buttons()[0][0]
    assert (await patient_of(bot, val)).code == new_code
    old = await bot.svc.storage.patients.by_code(old_code)
    assert old is not None
    assert old.status is PatientStatus.STOPPED
    assert old.telegram_user_id is None


async def test_staff_start_without_a_link_shows_the_staff_commands(bot: InProcessBot) -> None:
    reply = (await bot.send(bot.staff, "/start")).reply.text
    assert reply == staff_texts.staff_help()
    assert await bot.svc.storage.patients.by_user(bot.staff.id) is None


async def test_start_in_a_group_is_ignored(bot: InProcessBot) -> None:
    group = bot.updates.group("Family")
    pat = bot.user("Pat")
    _, token = await bot.invite()
    assert (await bot.send(pat, f"/start {token}", chat=group)).silent
    # The token was not used up by the group message.
    assert (await bot.send(pat, f"/start {token}")).reply.buttons()


# -- consent


async def test_consent_is_required_before_anything_else(bot: InProcessBot) -> None:
    quinn = bot.user("Quinn")
    _, token = await bot.invite()
    consent = (await bot.send(quinn, f"/start {token}")).reply
    text = consent.text
    assert "not monitored around the clock" in text
    assert "988" in text
    assert "not an encrypted medical channel" in text
    assert consent.buttons() == [(texts.CONSENT_BUTTON, keyboards.CONSENT_DATA)]
    for command in ("/checkin", "/time", "/time 08:00", "/pause", "/resume"):
        reply = (await bot.send(quinn, command)).reply.text
        assert reply == texts.NOT_ACTIVE_YET, command
        assert "I agree" in reply
    reply = (await bot.send(quinn, "7")).reply.text
    assert reply == texts.CONSENT_FIRST
    assert "I agree" in reply
    patient = await patient_of(bot, quinn)
    assert patient.consent_at is None
    assert patient.status is PatientStatus.CONSENT_PENDING
    assert await bot.svc.storage.checkins.for_patient(patient.id) == []
    # Reopening the link shows the consent request again rather than failing.
    again = (await bot.send(quinn, f"/start {token}")).reply
    assert again.buttons()


async def test_consent_records_once_and_offers_the_times(bot: InProcessBot) -> None:
    ria = bot.user("Ria")
    _, token = await bot.invite()
    consent = (await bot.send(ria, f"/start {token}")).reply
    agreed = await bot.press(ria, consent, keyboards.CONSENT_DATA)
    assert agreed.answer == texts.CONSENT_RECORDED
    assert consent.buttons() == []  # the button is gone from the consent message
    times = agreed.reply
    assert texts.CHOOSE_TIME in times.text
    offered = [label for label, _ in times.buttons()]
    assert offered == [t.strftime("%H:%M") for t in bot.svc.care.time_choices()]
    patient = await patient_of(bot, ria)
    assert patient.status is PatientStatus.ACTIVE
    assert patient.consent_at == bot.clock.now()

    twice = await bot.press(ria, consent, keyboards.CONSENT_DATA)
    assert twice.answer == texts.CONSENT_ALREADY
    assert twice.replies == []
    assert (await patient_of(bot, ria)).consent_at == patient.consent_at


async def test_a_consent_button_from_someone_without_a_record_binds_nothing(
    bot: InProcessBot,
) -> None:
    pat, eve = bot.user("Pat"), bot.user("Eve")
    _, token = await bot.invite()
    consent = (await bot.send(pat, f"/start {token}")).reply
    pressed = await bot.press(eve, consent, keyboards.CONSENT_DATA)
    assert pressed.answer == texts.BUTTON_INVALID
    assert pressed.replies == []
    assert await bot.svc.storage.patients.by_user(eve.id) is None
    assert (await patient_of(bot, pat)).consent_at is None


async def test_stopping_before_consent_then_agreeing_says_stopped(bot: InProcessBot) -> None:
    wes = bot.user("Wes")
    _code, token = await bot.invite()
    consent = (await bot.send(wes, f"/start {token}")).reply
    await bot.stop_messages(wes)

    answer = (await bot.press(wes, consent, consent.button(texts.CONSENT_BUTTON))).answer

    assert answer == texts.ALREADY_STOPPED
    assert "stopped" in answer
    assert "already recorded" not in answer
    assert (await patient_of(bot, wes)).consent_at is None


# -- /time and the time buttons


async def test_time_shows_the_choices_and_sets_a_typed_time(bot: InProcessBot) -> None:
    tom = bot.user("Tom")
    await bot.enrol(tom, "09:00")
    menu = (await bot.send(tom, "/time")).reply
    assert menu.text == texts.your_time("09:00", "Europe/Berlin")
    assert ("20:00", "t:2000") in menu.buttons()
    typed = (await bot.send(tom, "/time 07:45")).reply.text
    assert typed == texts.time_set("07:45", "Europe/Berlin", 0)
    assert (await patient_of(bot, tom)).checkin_time == "07:45"


@pytest.mark.parametrize(
    "typed",
    [
        "7.45pm",
        "24:00",
        "7:5",
        "0930",
        "25:61",
        "-1:00",
        "09:60",
        "9:00am",
        "\uff10\uff19:\uff10\uff10",  # full-width digits
        "09:00 10:00",
        "x" * 5000,
        "\U0001f552",
    ],
)
async def test_time_refuses_what_is_not_a_time(bot: InProcessBot, typed: str) -> None:
    una = bot.user("Una")
    await bot.enrol(una, "09:00")
    reply = (await bot.send(una, f"/time {typed}")).reply.text
    assert reply == texts.TIME_BAD
    assert "HH:MM" in reply
    assert (await patient_of(bot, una)).checkin_time == "09:00"


async def test_time_buttons_are_checked(bot: InProcessBot) -> None:
    viv, eve = bot.user("Viv"), bot.user("Eve")
    await bot.enrol(viv, "09:00")
    menu = (await bot.send(viv, "/time")).reply
    for forged in ("t:2400", "t:0960", "t:", "t:9", "t:12:00", "t:0900x", "t:" + "1" * 70):
        pressed = await bot.press(viv, menu, forged)
        assert pressed.answer == texts.BUTTON_INVALID, forged
        assert pressed.replies == []
    # Someone with no record pressing a real time button changes nothing.
    assert (await bot.press(eve, menu, "t:2000")).answer == texts.BUTTON_INVALID
    assert (await patient_of(bot, viv)).checkin_time == "09:00"

    chosen = await bot.press(viv, menu, "t:2000")
    assert chosen.answer == texts.time_saved("20:00")
    assert chosen.reply.text == texts.time_set("20:00", "Europe/Berlin", 0)
    assert menu.buttons() == []  # the choice is not offered twice
    assert (await patient_of(bot, viv)).checkin_time == "20:00"


async def test_time_buttons_refuse_patients_who_are_not_receiving(bot: InProcessBot) -> None:
    wyn, xan = bot.user("Wyn"), bot.user("Xan")
    await bot.enrol(wyn, "09:00")
    menu = (await bot.send(wyn, "/time")).reply
    await bot.stop_messages(wyn)
    assert (await bot.press(wyn, menu, "t:2000")).answer == texts.BUTTON_INVALID
    assert (await patient_of(bot, wyn)).checkin_time == "09:00"
    # Before consent: the time buttons of someone else's message do nothing either.
    _, token = await bot.invite()
    await bot.send(xan, f"/start {token}")
    assert (await bot.press(xan, menu, "t:2000")).answer == texts.BUTTON_INVALID
    assert (await patient_of(bot, xan)).status is PatientStatus.CONSENT_PENDING


async def test_time_for_strangers_and_stopped_patients(bot: InProcessBot) -> None:
    stranger, yve = bot.user("Stranger"), bot.user("Yve")
    assert (await bot.send(stranger, "/time 08:00")).reply.text == texts.NOT_INVITED
    await bot.enrol(yve, "09:00")
    await bot.stop_messages(yve)
    assert (await bot.send(yve, "/time 08:00")).reply.text == texts.ALREADY_STOPPED
    assert (await patient_of(bot, yve)).checkin_time == "09:00"


# -- /help and the command menus


async def test_help_shows_the_emergency_notice(bot: InProcessBot) -> None:
    contacts = bot.svc.clinic.contacts
    stranger = bot.user("Tia")
    text = (await bot.send(stranger, "/help")).reply.text
    assert text == texts.help_text(contacts, enrolled=False)
    assert "not for emergencies" in text
    assert "988" in text
    assert "911" in text
    staff_help = (await bot.send(bot.staff, "/help")).reply.text
    assert "/invite" in staff_help
    assert "988" in staff_help  # staff who write in private see the notice too


async def test_help_for_a_patient_lists_patient_commands_only(bot: InProcessBot) -> None:
    zed = bot.user("Zed")
    await bot.enrol(zed)
    text = (await bot.send(zed, "/help")).reply.text
    assert text == texts.help_text(bot.svc.clinic.contacts, enrolled=True)
    for command in commands_for(Audience.PATIENT):
        assert f"/{command.name}" in text
    assert "/invite" not in text
    assert "/patients" not in text


async def test_commands_are_registered(bot: InProcessBot) -> None:
    calls = bot.world.calls_to("setMyCommands")
    registered = {
        str(call.params.get("scope")): str(call.params.get("commands")) for call in calls
    }
    assert any("all_private_chats" in scope for scope in registered)
    joined = " ".join(registered.values())
    for command in ("checkin", "time", "pause", "resume", "stop", "help", "invite", "infusion"):
        assert command in joined
    by_scope = {call.params["scope"]["type"]: call.params["commands"] for call in calls}
    patient_menu = [entry["command"] for entry in by_scope["all_private_chats"]]
    assert patient_menu == [c.name for c in commands_for(Audience.PATIENT)]
    staff_scopes = [call.params["scope"].get("chat_id") for call in calls]
    assert bot.staff_group.id in staff_scopes
    assert bot.staff.id in staff_scopes


# -- /pause, /resume, /stop


async def test_pause_resume_stop_for_someone_without_a_record(bot: InProcessBot) -> None:
    stranger = bot.user("Stranger")
    for command in ("/pause", "/resume", "/stop", "/checkin", "/learn"):
        assert (await bot.send(stranger, command)).reply.text == texts.NOT_INVITED, command
    assert await bot.svc.storage.patients.by_user(stranger.id) is None


async def test_stop_is_final_and_said_once(bot: InProcessBot) -> None:
    ada = bot.user("Ada")
    await bot.enrol(ada)
    first = (await bot.stop_messages(ada)).replies[0].text
    assert first == texts.STOPPED
    assert "will not message you again" in first
    for command in ("/stop", "/pause", "/resume", "/checkin"):
        assert (await bot.send(ada, command)).reply.text == texts.ALREADY_STOPPED, command
    assert (await patient_of(bot, ada)).status is PatientStatus.STOPPED


async def test_an_unreachable_patient_who_writes_again_is_welcomed_back_once(
    bot: InProcessBot,
) -> None:
    bea = bot.user("Bea")
    await bot.enrol_and_infuse(bea)
    patient = await patient_of(bot, bea)
    rows = await bot.svc.storage.checkins.for_patient(patient.id)
    bot.clock.set(rows[0].due_at)
    bot.world.fail("sendMessage", forbidden(), chat_id=bea.id)  # she blocked the bot
    await bot.tick()
    assert (await patient_of(bot, bea)).status is PatientStatus.UNREACHABLE

    back = await bot.send(bea, "/resume")

    assert back.texts == [texts.WELCOME_BACK]
    assert (await patient_of(bot, bea)).status is PatientStatus.ACTIVE
    assert (await bot.send(bea, "/resume")).reply.text == texts.NOT_PAUSED


async def test_patient_commands_in_a_group_are_ignored(bot: InProcessBot) -> None:
    group = bot.updates.group("Support circle")
    cai = bot.user("Cai")
    await bot.enrol(cai)
    for text in ("/stop", "/pause", "/checkin", "/help", "/time 08:00", "7", "/frobnicate"):
        assert (await bot.send(cai, text, chat=group)).silent, text
    patient = await patient_of(bot, cai)
    assert patient.status is PatientStatus.ACTIVE
    assert patient.checkin_time == "09:00"
    assert await bot.svc.storage.checkins.for_patient(patient.id) == []


# -- what the bot cannot read


async def test_non_text_messages_and_unknown_commands(bot: InProcessBot) -> None:
    sam = bot.user("Sam")
    code = await bot.enrol(sam)
    only_text = texts.text_only(bot.svc.clinic.contacts)
    for update in (
        bot.updates.sticker(sam),
        bot.updates.voice(sam),
        bot.updates.location(sam),
        bot.updates.contact(sam),
        bot.updates.photo(sam),
    ):
        reply = (await bot.process(update)).reply.text
        assert reply == only_text
        assert "only read text" in reply
        assert "988" in reply
    unknown = (await bot.send(sam, "/frobnicate")).reply.text
    assert unknown == texts.UNRECOGNISED
    assert "did not understand" in unknown
    patient = await bot.svc.storage.patients.by_code(code)
    assert patient is not None
    assert await bot.svc.storage.checkins.for_patient(patient.id) == []
    assert await bot.svc.storage.answers.notes_for_patient(patient.id) == []


async def test_a_command_addressed_to_this_bot_by_name_works(bot: InProcessBot) -> None:
    dov = bot.user("Dov")
    await bot.enrol(dov)
    reply = (await bot.send(dov, "/pause@afterglow_test_bot")).reply.text
    assert reply == texts.PAUSED
    assert (await patient_of(bot, dov)).status is PatientStatus.PAUSED
