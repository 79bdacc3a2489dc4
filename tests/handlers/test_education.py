"""handlers/patient.py, the explainer buttons: /learn, its pages, and "contact me"."""

from __future__ import annotations

from bot.domain.codes import AlertKind, PushKind
from bot.telegram import keyboards, texts
from tests.handlers.conftest import InProcessBot, due_prompt, patient_of
from tests.handlers.offline import Sent
from tests.handlers.updates import TgUser


async def low_mood(bot: InProcessBot, user: TgUser) -> Sent:
    """Answer two planned check-ins with 2; return the gentle message with its button."""
    await bot.enrol_and_infuse(user)
    gentle: list[Sent] = []
    for index in (0, 1):
        prompt, _ = await due_prompt(bot, user, index)
        pressed = await bot.press(user, prompt, prompt.button("2"))
        gentle += [m for m in pressed.replies if texts.GENTLE in m.text]
    assert len(gentle) == 1
    return gentle[0]


async def test_learn_menu_pages_and_back(bot: InProcessBot) -> None:
    ida = bot.user("Ida")
    await bot.enrol(ida)
    menu = (await bot.send(ida, "/learn")).reply
    topics = [(e.title, f"lx:{e.id}") for e in bot.svc.education.menu()]
    assert menu.text == texts.LEARN_INTRO
    assert menu.buttons() == topics
    assert len(topics) >= 12

    first_title, first_data = topics[0]
    opened = await bot.press(ida, menu, first_data)
    assert opened.replies == []  # opened in place
    assert menu.text.startswith(first_title)
    assert "not medical advice" in menu.text
    assert [label for label, _ in menu.buttons()] == ["\u00ab Back", "Next \u00bb"]
    await bot.press(ida, menu, menu.button("Next"))
    assert menu.text.startswith(topics[1][0])
    await bot.press(ida, menu, keyboards.LEARN_MENU)
    assert menu.buttons() == topics

    patient = await patient_of(bot, ida)
    history = await bot.svc.storage.explainers.history(patient.id)
    assert history == [
        (first_data[3:], PushKind.REQUESTED),
        (topics[1][1][3:], PushKind.REQUESTED),
    ]


async def test_the_last_page_has_no_next(bot: InProcessBot) -> None:
    jan = bot.user("Jan")
    await bot.enrol(jan)
    menu = (await bot.send(jan, "/learn")).reply
    _, last = menu.buttons()[-1]
    await bot.press(jan, menu, last)
    assert [label for label, _ in menu.buttons()] == ["\u00ab Back"]


async def test_forged_learn_buttons_and_strangers(bot: InProcessBot) -> None:
    kai, stranger = bot.user("Kai"), bot.user("Stranger")
    await bot.enrol(kai)
    menu = (await bot.send(kai, "/learn")).reply
    before = menu.text
    for forged in (
        "lx:no-such-topic",
        "lx:",
        "lx:Why-It-Fades",
        "lx:why--it-fades",
        "lx:why-it-fades-",
        "lx:../why-it-fades",
        "lx:" + "a" * 61,
        "lx:" + "a" * 70,
    ):
        pressed = await bot.press(kai, menu, forged)
        assert pressed.answer == texts.BUTTON_INVALID, forged
        assert pressed.edits == []
    _, real = menu.buttons()[0]
    assert (await bot.press(stranger, menu, real)).answer == texts.BUTTON_INVALID
    assert menu.text == before
    learn = (await bot.send(stranger, "/learn")).reply
    assert learn.text == texts.NOT_INVITED
    assert learn.buttons() == []
    patient = await patient_of(bot, kai)
    assert await bot.svc.storage.explainers.history(patient.id) == []


async def test_a_page_that_cannot_be_edited_arrives_as_a_new_message(bot: InProcessBot) -> None:
    lea = bot.user("Lea")
    await bot.enrol(lea)
    menu = (await bot.send(lea, "/learn")).reply
    title, data = menu.buttons()[0]
    old = bot.updates.inaccessible(lea, 999)  # a message Telegram no longer shows the bot

    pressed = await bot.press(lea, old, data)

    assert pressed.reply.text.startswith(title)
    assert pressed.reply.buttons()


async def test_contact_me_raises_one_alert(bot: InProcessBot) -> None:
    lia, mal = bot.user("Lia"), bot.user("Mallory")
    gentle = await low_mood(bot, lia)
    assert texts.CONTACT_OFFER in gentle.text
    data = gentle.button(keyboards.CONTACT_BUTTON)
    patient = await patient_of(bot, lia)

    pressed = await bot.press(lia, gentle, data)

    assert pressed.answer == texts.CONTACT_SENT
    assert pressed.reply.text == texts.contact_confirmation(bot.svc.clinic.contacts)
    staff = [m.text for m in pressed.to(bot.staff_group.id)]
    assert any("asked to be contacted" in text and patient.code in text for text in staff)
    kinds = [a.kind for a in await bot.svc.storage.alerts.for_patient(patient.id)]
    assert kinds.count(AlertKind.CONTACT_REQUEST) == 1

    again = await bot.press(lia, gentle, data)
    assert again.answer == texts.CONTACT_ALREADY
    assert again.replies == []
    assert (await bot.press(mal, gentle, data)).answer == texts.BUTTON_INVALID
    kinds = [a.kind for a in await bot.svc.storage.alerts.for_patient(patient.id)]
    assert kinds.count(AlertKind.CONTACT_REQUEST) == 1


async def test_forged_contact_buttons_raise_nothing(bot: InProcessBot) -> None:
    noa, oli = bot.user("Noa"), bot.user("Oli")
    gentle = await low_mood(bot, noa)
    episode = keyboards.parse_contact(gentle.button(keyboards.CONTACT_BUTTON))
    assert episode is not None
    await bot.enrol(oli)
    # Another patient forges a press for Noa's episode; garbage and unknown episodes too.
    assert (await bot.press(oli, gentle, f"cc:{episode}")).answer == texts.BUTTON_INVALID
    for forged in ("cc:0", "cc:abc", "cc:99999", f"cc:{episode}0", "cc:", "cc:-1"):
        pressed = await bot.press(noa, gentle, forged)
        assert pressed.answer == texts.BUTTON_INVALID, forged
        assert pressed.replies == []
    for user in (noa, oli):
        alerts = await bot.svc.storage.alerts.for_patient((await patient_of(bot, user)).id)
        assert AlertKind.CONTACT_REQUEST not in [a.kind for a in alerts]
