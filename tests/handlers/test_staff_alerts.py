"""handlers/staff.py, alerts: the Acknowledge and Resolve buttons, /alerts, /resolve, migration."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.codes import AuditAction, EpisodeKind
from bot.domain.entities import Alert
from bot.telegram import alert_list, escalation_texts, staff_texts, texts
from tests.handlers.conftest import LINK, InProcessBot, patient_of
from tests.handlers.offline import Sent, bad_request
from tests.handlers.updates import TgUser

EXPLANATION = "Mood fell from a post-infusion level of 7.7 to 4.0."


async def raise_decline(bot: InProcessBot, user: TgUser) -> tuple[Alert, Sent]:
    """Enrol a patient, open a decline episode and deliver its alert (a chart with buttons)."""
    await bot.enrol(user)
    patient = await patient_of(bot, user)
    alert = await bot.svc.alerts.open_episode(
        patient,
        kind=EpisodeKind.DECLINE,
        since=bot.clock.now() - timedelta(days=2),
        explanation=EXPLANATION,
        text=f"\u26a0\ufe0f {patient.code} \u00b7 mood decline\n{EXPLANATION}",
    )
    assert alert is not None
    delivered = (await bot.tick()).to(bot.staff_group.id)
    assert len(delivered) == 1
    return alert, delivered[0]


async def stored(bot: InProcessBot, alert: Alert) -> Alert:
    found = await bot.svc.alerts.get(alert.id)
    assert found is not None
    return found


async def test_acknowledge_then_resolve_an_alert_with_a_chart(bot: InProcessBot) -> None:
    alert, message = await raise_decline(bot, bot.user("Eve"))
    assert message.method == "sendPhoto"
    assert message.buttons() == [
        ("Acknowledge", f"al:ack:{alert.id}"),
        ("Resolve", f"al:res:{alert.id}"),
    ]

    acked = await bot.press(bot.staff, message, message.button("Acknowledge"))
    assert acked.answer == staff_texts.ACKNOWLEDGED
    assert [call.method for call in acked.edits] == ["editMessageCaption"]
    assert message.text.endswith("Acknowledged by Nurse at 2026-03-02 08:00")
    assert [label for label, _ in message.buttons()] == ["Resolve"]
    again = await bot.press(bot.staff, message, f"al:ack:{alert.id}")
    assert again.answer == staff_texts.ALREADY_ACKNOWLEDGED
    assert again.edits == []

    resolved = await bot.press(bot.staff, message, message.button("Resolve"))
    assert resolved.answer == staff_texts.RESOLVED
    assert "Resolved by Nurse" in message.text
    assert message.buttons() == []
    assert (await bot.press(bot.staff, message, f"al:res:{alert.id}")).answer == (
        staff_texts.ALREADY_RESOLVED
    )
    final = await stored(bot, alert)
    assert final.acknowledged_by == bot.staff.id
    assert final.resolved_at is not None
    actions = [entry.action for entry in await bot.svc.storage.clinic.audit_log()]
    assert actions.count(AuditAction.ACKNOWLEDGE_ALERT) == 1
    assert actions.count(AuditAction.RESOLVE_ALERT) == 1


async def test_a_text_alert_is_edited_as_text(bot: InProcessBot) -> None:
    ola = bot.user("Ola")
    await bot.enrol(ola)
    crisis = await bot.send(ola, "i want to kill myself")
    alert_message = crisis.to(bot.staff_group.id)[0]
    assert alert_message.method == "sendMessage"

    acked = await bot.press(bot.staff, alert_message, alert_message.button("Acknowledge"))

    assert acked.answer == staff_texts.ACKNOWLEDGED
    assert [call.method for call in acked.edits] == ["editMessageText"]
    assert "Acknowledged by Nurse" in alert_message.text


async def test_alert_buttons_from_non_staff_change_nothing(bot: InProcessBot) -> None:
    eve, mallory = bot.user("Eve"), bot.user("Mallory")
    alert, message = await raise_decline(bot, eve)
    # A stranger, and the patient herself, pressing the real buttons or forged ones.
    for presser in (mallory, eve):
        for data in (message.button("Acknowledge"), message.button("Resolve"), "al:ack:99999"):
            pressed = await bot.press(presser, message, data)
            assert pressed.answer == staff_texts.NOT_AUTHORISED
            assert "not authorised" in pressed.answer
            assert pressed.edits == []
    untouched = await stored(bot, alert)
    assert untouched.acknowledged_at is None
    assert untouched.resolved_at is None
    assert [e.action for e in await bot.svc.storage.clinic.audit_log()] == [AuditAction.INVITE]


async def test_forged_alert_buttons_are_no_longer_valid(bot: InProcessBot) -> None:
    alert, message = await raise_decline(bot, bot.user("Eve"))
    for forged in (
        "al:ack:99999",
        "al:res:99999",
        "al:ack:0",
        "al:ack:-1",
        "al:xyz:1",
        "al:ack:",
        f"al:ack:{alert.id} ",
        f"al:ACK:{alert.id}",
        f"al:ack:0{alert.id}",
        "al:ack:" + "9" * 19,
        "al:ack:" + "1" * 60,
        "al:",
    ):
        pressed = await bot.press(bot.staff, message, forged)
        assert pressed.answer == texts.BUTTON_INVALID, forged
        assert pressed.edits == []
    assert (await stored(bot, alert)).acknowledged_at is None
    assert len(message.buttons()) == 2


async def test_a_press_on_an_alert_whose_message_is_gone_still_acknowledges(
    bot: InProcessBot,
) -> None:
    alert, message = await raise_decline(bot, bot.user("Eve"))
    bot.world.fail("editMessageCaption", bad_request("Bad Request: message to edit not found"))

    pressed = await bot.press(bot.staff, message, message.button("Acknowledge"))

    assert pressed.answer == staff_texts.ACKNOWLEDGED
    assert pressed.replies == []  # no apology in the staff group
    assert (await stored(bot, alert)).acknowledged_by == bot.staff.id


async def test_alerts_list_and_resolve_command(bot: InProcessBot) -> None:
    assert (await bot.send(bot.staff, "/alerts")).reply.text == staff_texts.NO_OPEN_ALERTS
    eve = bot.user("Eve", "eve_private")
    alert, _ = await raise_decline(bot, eve)
    patient = await patient_of(bot, eve)

    listing = (await bot.send(bot.staff, "/alerts", chat=bot.staff_group)).reply.text
    assert listing.startswith(alert_list.heading(1))
    assert patient.code in listing
    assert "NOT acknowledged" in listing
    assert "Eve" not in listing
    assert "eve_private" not in listing

    resolved = (await bot.send(bot.staff, f"/resolve {patient.code}")).reply.text
    assert resolved == staff_texts.resolved_episodes(patient.code, 1)
    again = (await bot.send(bot.staff, f"/resolve {patient.code}")).reply.text
    assert again == staff_texts.resolved_episodes(patient.code, 0)
    assert "no open episodes" in again
    episodes = await bot.svc.storage.episodes.since(
        patient.id, bot.clock.now() - timedelta(days=9)
    )
    assert all(episode.ended_at is not None for episode in episodes)
    assert (await bot.send(bot.staff, "/alerts")).reply.text == staff_texts.NO_OPEN_ALERTS
    assert (await stored(bot, alert)).resolved_at is not None


async def test_the_staff_group_becoming_a_supergroup_is_followed(bot: InProcessBot) -> None:
    supergroup = bot.updates.group("Clinic staff", supergroup=True)
    old = bot.staff_group
    moved = bot.updates.service(None, old, {"migrate_to_chat_id": supergroup.id})
    assert (await bot.process(moved)).silent
    assert await bot.svc.alerts.staff_chat_id() == supergroup.id

    reply = await bot.send(bot.staff, "/alerts", chat=supergroup)

    assert reply.reply.text == staff_texts.NO_OPEN_ALERTS


async def test_another_group_migrating_does_not_move_the_staff_chat(bot: InProcessBot) -> None:
    family = bot.updates.group("Family chat")
    elsewhere = bot.updates.group("Family chat", supergroup=True)
    for content in ({"migrate_to_chat_id": elsewhere.id}, {"migrate_from_chat_id": family.id}):
        chat = family if "migrate_to_chat_id" in content else elsewhere
        assert (await bot.process(bot.updates.service(None, chat, content))).silent
    assert await bot.svc.alerts.staff_chat_id() == bot.staff_group.id
    assert (await bot.send(bot.staff, "/alerts", chat=elsewhere)).silent


async def test_an_alert_button_copied_onto_another_message_does_nothing(
    bot: InProcessBot,
) -> None:
    """A modified client could put one alert's button data on another alert's message."""
    first, first_message = await raise_decline(bot, bot.user("Fay"))
    second, second_message = await raise_decline(bot, bot.user("Gil"))

    forged = await bot.press(bot.staff, second_message, f"al:ack:{first.id}")
    forged_resolve = await bot.press(bot.staff, second_message, f"al:res:{first.id}")

    assert forged.answer == texts.BUTTON_INVALID
    assert forged_resolve.answer == texts.BUTTON_INVALID
    assert forged.edits == []
    assert forged_resolve.edits == []
    assert (await stored(bot, first)).acknowledged_at is None
    assert (await stored(bot, first)).resolved_at is None
    assert "Acknowledged" not in second_message.text
    # On its own message the same button works.
    own = await bot.press(bot.staff, first_message, f"al:ack:{first.id}")
    assert own.answer == staff_texts.ACKNOWLEDGED
    assert (await stored(bot, second)).acknowledged_at is None


async def test_a_reminder_carries_working_buttons(bot: InProcessBot) -> None:
    alert, _message = await raise_decline(bot, bot.user("Hal"))
    bot.clock.advance(timedelta(hours=4, minutes=1))
    [reminder] = (await bot.tick()).to(bot.staff_group.id)
    assert reminder.text.startswith("Reminder, not yet acknowledged")

    pressed = await bot.press(bot.staff, reminder, reminder.button("Acknowledge"))

    assert pressed.answer == staff_texts.ACKNOWLEDGED
    assert (await stored(bot, alert)).acknowledged_at is not None


async def test_alerts_has_an_open_button_that_shows_the_alert_with_its_buttons(
    bot: InProcessBot,
) -> None:
    alert, _ = await raise_decline(bot, bot.user("Eve"))
    listing = (await bot.send(bot.staff, "/alerts")).reply
    assert listing.buttons() == [("Open 1", f"ao:{alert.id}")]

    opened = await bot.press(bot.staff, listing, f"ao:{alert.id}")
    (copy,) = opened.to(bot.staff.id)
    assert copy.text == alert.text
    assert [label for label, _ in copy.buttons()] == ["Acknowledge", "Resolve"]

    acked = await bot.press(bot.staff, copy, copy.button("Acknowledge"))
    assert acked.answer == staff_texts.ACKNOWLEDGED
    assert (await stored(bot, alert)).acknowledged_by == bot.staff.id
    told = acked.to(bot.staff_group.id)
    assert [sent.text for sent in told] == [
        staff_texts.handled_elsewhere(await stored(bot, alert), staff_texts.ACKNOWLEDGED, "Nurse")
    ]


async def test_open_is_for_staff_and_only_where_alerts_may_be_shown(bot: InProcessBot) -> None:
    alert, _ = await raise_decline(bot, bot.user("Eve"))
    listing = (await bot.send(bot.staff, "/alerts")).reply
    stranger = bot.user("Mallory")
    refused = await bot.press(stranger, listing, f"ao:{alert.id}")
    assert refused.answer == staff_texts.NOT_AUTHORISED
    assert refused.to(stranger.id) == []
    # The same button data pressed on a message in some other group shows nothing there.
    family = bot.updates.group("Family chat")
    elsewhere = {**listing.raw, "chat": family.to_dict()}
    moved = await bot.press(bot.staff, elsewhere, f"ao:{alert.id}")
    assert moved.answer == texts.BUTTON_INVALID
    assert moved.to(family.id) == []
    assert (await bot.press(bot.staff, listing, "ao:999999")).answer == texts.BUTTON_INVALID


async def test_a_patients_crisis_messages_fold_into_one_line_in_alerts(bot: InProcessBot) -> None:
    ola = bot.user("Ola")
    code = await bot.enrol(ola)
    for words in ("i want to kill myself", "i want to die", "i am going to end my life"):
        await bot.send(ola, words)
    listing = (await bot.send(bot.staff, "/alerts")).reply
    lines = [line for line in listing.text.splitlines() if code in line]
    assert len(lines) == 1, listing.text
    assert "+2 more crisis messages" in lines[0]
    assert "another message" not in lines[0]
    assert "URGENT \U0001f6a8 URGENT" not in lines[0]
    assert len(listing.buttons()) == 1


async def test_stats_shows_the_last_30_days(bot: InProcessBot) -> None:
    alert, message = await raise_decline(bot, bot.user("Eve"))
    bot.clock.advance(timedelta(minutes=12))
    await bot.press(bot.staff, message, message.button("Acknowledge"))
    text = (await bot.send(bot.staff, "/stats")).reply.text
    assert text.startswith("Last 30 days")
    assert "mood decline: 1" in text
    assert "to acknowledge: median 12 min, 90% within 12 min (1 alert)" in text
    assert alert.patient_code not in text


async def test_an_urgent_alert_nobody_acknowledges_reaches_the_on_call_member(
    bot: InProcessBot,
) -> None:
    rivera = bot.user("Rivera")
    reply = (await bot.send(bot.staff, "/addstaff Rivera")).reply.text
    link = LINK.search(reply)
    assert link is not None
    await bot.send(rivera, f"/start {link.group(1)}")
    await bot.send(bot.staff, "/oncall Rivera")
    ola = bot.user("Ola")
    await bot.enrol(ola)
    await bot.send(ola, "i want to kill myself")

    bot.clock.advance(timedelta(minutes=14))
    assert await bot.svc.escalation.escalate_due() == 0
    bot.clock.advance(timedelta(minutes=1))
    mark = bot._mark()
    assert await bot.svc.escalation.escalate_due() == 1
    await bot.svc.urgent.deliver_due()
    after = bot._since(mark, None)
    (private,) = after.to(rivera.id)
    assert private.text.startswith("\U0001f6a8 URGENT, not acknowledged for 15 minutes")
    note = after.to(bot.staff_group.id)
    assert len(note) == 1
    assert "sent privately to the on-call staff: Rivera" in note[0].text

    acked = await bot.press(rivera, private, private.button("Acknowledge"))
    assert acked.answer == staff_texts.ACKNOWLEDGED
    bot.clock.advance(timedelta(minutes=30))
    assert await bot.svc.escalation.escalate_due() == 0
    assert escalation_texts.minutes(timedelta(minutes=15)) == "15 minutes"
