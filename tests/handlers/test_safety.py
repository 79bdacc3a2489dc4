"""handlers/safety.py, the crisis gate: crisis words anywhere in a private chat, checked first."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest

from bot.domain.codes import AlertKind, PatientStatus
from bot.services.safety import STRANGER_FOLLOW_UPS
from bot.telegram import senders, staff_texts, texts
from bot.telegram.senders import URGENT_WAIT_LIMIT
from tests.handlers.conftest import Exchange, InProcessBot, due_prompt, patient_of
from tests.handlers.offline import JSON, retry_after, server_error
from tests.handlers.updates import TgUser

CRISIS = "honestly i just want to kill myself tonight"


def crisis_reply(bot: InProcessBot, *, told: bool) -> str:
    return texts.crisis_reply(bot.svc.clinic.contacts, care_team_told=told)


def urgent(exchange: Exchange, bot: InProcessBot) -> list[str]:
    return [m.text for m in exchange.to(bot.staff_group.id) if "URGENT" in m.text]


async def crisis_alerts(bot: InProcessBot, user: TgUser) -> int:
    alerts = await bot.svc.storage.alerts.for_patient((await patient_of(bot, user)).id)
    return sum(1 for alert in alerts if alert.kind is AlertKind.CRISIS)


async def test_crisis_words_in_a_note_reach_the_patient_and_the_staff_at_once(
    bot: InProcessBot,
) -> None:
    max_ = bot.user("Max", "max_private")
    code = await bot.enrol_and_infuse(max_)
    prompt, _ = await due_prompt(bot, max_)
    await bot.press(max_, prompt, prompt.button("3"))

    said = await bot.send(max_, CRISIS)

    # One reply, the caring one, through the urgent client; not "your note is saved".
    assert said.texts == [crisis_reply(bot, told=True)]
    assert said.reply.via == "urgent"
    assert "988" in said.reply.text
    assert "911" in said.reply.text
    [alert] = urgent(said, bot)
    assert code in alert
    assert CRISIS in alert
    assert "Max" not in alert
    assert "max_private" not in alert
    assert said.to(bot.staff_group.id)[0].buttons()  # Acknowledge, without a dispatcher tick
    patient = await patient_of(bot, max_)
    notes = await bot.svc.storage.answers.notes_for_patient(patient.id)
    assert [text for _, text in notes] == [CRISIS]
    assert await crisis_alerts(bot, max_) == 1


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda bot, user: bot.updates.photo(user, caption=CRISIS), id="caption"),
        pytest.param(lambda bot, user: bot.updates.text(user, f"/start {CRISIS}"), id="start"),
        pytest.param(lambda bot, user: bot.updates.text(user, f"/stop {CRISIS}"), id="command"),
        pytest.param(
            lambda bot, user: bot.updates.edited(bot.updates.text(user, "ok"), CRISIS),
            id="edited",
        ),
        pytest.param(
            lambda bot, user: bot.updates.text(user, "x" * 5000 + " " + CRISIS), id="very-long"
        ),
    ],
)
async def test_crisis_words_are_caught_wherever_they_are(
    bot: InProcessBot, make: Callable[[InProcessBot, TgUser], JSON]
) -> None:
    quin = bot.user("Quin")
    code = await bot.enrol(quin)

    said = await bot.process(make(bot, quin))

    assert said.texts == [crisis_reply(bot, told=True)]
    [alert] = urgent(said, bot)
    assert code in alert
    assert len(alert) < 1000  # the words are quoted, cut short
    # Nothing else handled the message: not stopped, nothing as a command or a photo.
    assert (await patient_of(bot, quin)).status is PatientStatus.ACTIVE


async def test_a_stranger_gets_the_resources_and_the_staff_a_reference(bot: InProcessBot) -> None:
    pat = bot.user("Pat", "pat_in_crisis")
    for opening in ("i want to die", "/start i want to die", "/invite i want to kill myself"):
        said = await bot.send(pat, opening)
        assert said.texts == [crisis_reply(bot, told=False)], opening
        assert "contact your clinic" in said.reply.text
    first, *follow_ups = [m.text for m in bot.world.messages(bot.staff_group.id)]
    assert "URGENT" in first
    assert "\u201ci want to die\u201d" in first
    for identity in ("Pat", "pat_in_crisis", str(pat.id)):
        assert identity not in first.replace("patient", "")
    reference = bot.svc.safety.stranger_reference(pat.id)
    assert reference in first
    assert [reference in text for text in follow_ups] == [True, True]
    assert await bot.svc.storage.patients.by_user(pat.id) is None
    assert await bot.svc.care.overview() == []


async def test_stranger_follow_ups_are_capped_but_resources_never(bot: InProcessBot) -> None:
    sol = bot.user("Sol")
    messages = 1 + STRANGER_FOLLOW_UPS + 2
    for n in range(messages):
        said = await bot.send(sol, f"i want to die {n}")
        assert said.texts == [crisis_reply(bot, told=False)]
    staff = bot.world.messages(bot.staff_group.id)
    assert len(staff) == 1 + STRANGER_FOLLOW_UPS


@pytest.mark.parametrize("status", ["consent_pending", "paused", "stopped"])
async def test_crisis_words_from_a_patient_in_any_state_reach_the_staff(
    bot: InProcessBot, status: str
) -> None:
    uli = bot.user("Uli")
    if status == "consent_pending":
        _, token = await bot.invite()
        await bot.send(uli, f"/start {token}")
    else:
        await bot.enrol(uli)
        if status == "paused":
            await bot.send(uli, "/pause")
        else:
            await bot.stop_messages(uli)
    code = (await patient_of(bot, uli)).code

    said = await bot.send(uli, "i have been thinking about ending my life")

    assert said.texts == [crisis_reply(bot, told=True)]
    assert any(code in text for text in urgent(said, bot))
    assert (await patient_of(bot, uli)).status.value == status


async def test_a_redelivered_crisis_message_alerts_once_but_answers_again(
    bot: InProcessBot,
) -> None:
    rae = bot.user("Rae")
    await bot.enrol(rae)
    update = bot.updates.text(rae, "i keep thinking about suicide")
    first = await bot.process(update)
    assert len(urgent(first, bot)) == 1

    again = await bot.process(update)

    assert again.texts == [crisis_reply(bot, told=True)]
    assert urgent(again, bot) == []
    assert await crisis_alerts(bot, rae) == 1


async def test_idioms_and_negations_are_handled_as_usual(bot: InProcessBot) -> None:
    oli = bot.user("Oli")
    await bot.enrol(oli)
    for text in ("this commute is killing me", "dead tired after work", "i'm not suicidal"):
        said = await bot.send(oli, text)
        assert said.texts == [texts.UNRECOGNISED], text
        assert "988" not in said.reply.text
    assert bot.world.messages(bot.staff_group.id) == []
    assert await crisis_alerts(bot, oli) == 0


async def test_staff_commands_about_self_harm_are_not_a_crisis(bot: InProcessBot) -> None:
    ida = bot.user("Ida")
    code = await bot.enrol(ida)
    for command in (
        "/invite history of self-harm, wants to die",
        "/invite@afterglow_test_bot suicidal thoughts last year",
        f"/patient {code} kill myself",
        "/infusion P-ZZZZ suicide",
    ):
        said = await bot.send(bot.staff, command)
        assert crisis_reply(bot, told=False) not in said.texts, command
        assert said.to(bot.staff_group.id) == [], command
    assert "t.me/" in (await bot.send(bot.staff, "/invite self-harm")).reply.text


async def test_a_staff_member_who_writes_crisis_words_is_still_heard(bot: InProcessBot) -> None:
    said = await bot.send(bot.staff, "i want to kill myself")
    assert said.texts == [crisis_reply(bot, told=False)]
    assert urgent(said, bot)
    # A staff command with the words is not exempt when it is not a staff command.
    stopped = await bot.send(bot.staff, "/stop i am going to kill myself")
    assert stopped.texts == [crisis_reply(bot, told=False)]


@pytest.mark.parametrize(("retry", "waited"), [(3, 3.0), (120, URGENT_WAIT_LIMIT)])
async def test_a_crisis_reply_that_meets_a_429_is_sent_once_the_wait_is_over(
    bot: InProcessBot, monkeypatch: pytest.MonkeyPatch, retry: int, waited: float
) -> None:
    tam = bot.user("Tam")
    await bot.enrol(tam)
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(senders, "asyncio", SimpleNamespace(sleep=wait))
    bot.world.fail("sendMessage", retry_after(retry), chat_id=tam.id, via="urgent")

    said = await bot.send(tam, "i want to end my life")

    assert said.texts == [crisis_reply(bot, told=True)]
    attempts = [
        c for c in said.calls if c.method == "sendMessage" and c.params["chat_id"] == tam.id
    ]
    assert [c.ok for c in attempts] == [False, True]
    assert waits == [waited]


async def test_an_urgent_alert_the_staff_chat_refuses_is_kept_and_retried(
    bot: InProcessBot,
) -> None:
    ned = bot.user("Ned")
    code = await bot.enrol(ned)
    bot.world.fail("sendMessage", server_error(), chat_id=bot.staff_group.id)

    said = await bot.send(ned, "i have been thinking about ending my life")

    assert said.texts == [crisis_reply(bot, told=True)]
    assert said.to(bot.staff_group.id) == []
    [alert] = await bot.svc.storage.alerts.for_patient((await patient_of(bot, ned)).id)
    assert not alert.sent
    retry_at = await bot.svc.storage.alerts.next_attempt()
    assert retry_at is not None
    assert retry_at > bot.clock.now()
    bot.clock.set(retry_at)
    retried = await bot.tick()
    assert [code in text for text in urgent(retried, bot)] == [True]
    assert (await bot.svc.storage.alerts.for_patient(alert.patient_id))[0].sent


async def test_when_the_alert_cannot_be_stored_the_staff_are_told_directly(
    bot: InProcessBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    vic = bot.user("Vic")
    code = await bot.enrol(vic)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(bot.svc.alerts, "store_crisis", broken)

    said = await bot.send(vic, "i want to kill myself")

    assert said.texts == [crisis_reply(bot, told=True)]
    [direct] = said.to(bot.staff_group.id)
    assert code in direct.text
    assert direct.text.endswith(staff_texts.not_stored("").strip())
    assert direct.buttons() == []
