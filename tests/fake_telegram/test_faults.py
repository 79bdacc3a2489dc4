"""Injected faults and flood limits, as PTB sees them and as raw HTTP answers."""

from __future__ import annotations

import asyncio
import datetime as dtm

import pytest
from telegram import Bot
from telegram.error import ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.fake_telegram import FakeTelegramServer, FakeUser, Fault
from tests.fake_telegram.helpers import TOKEN, api, make_bot, raw_post


async def test_fault_429_raises_retry_after(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    server.inject_fault(Fault(method="sendMessage", status=429, retry_after=3))
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "x")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(alice.id, "fault consumed")
    assert [m.text for m in server.sent] == ["fault consumed"]
    assert server.faults == []


async def test_fault_403_for_one_chat_until_cleared(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    bob = server.add_user(first_name="Bob")
    server.inject_fault(
        Fault(
            method="sendMessage",
            status=403,
            description="Forbidden: bot was blocked by the user",
            chat_id=alice.id,
            times=None,
        )
    )
    for _ in range(3):
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(alice.id, "x")
    await bot.send_message(bob.id, "unaffected")
    server.clear_faults()
    await bot.send_message(alice.id, "back")
    assert [m.text for m in server.sent] == ["unaffected", "back"]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_fault_5xx_raises_network_error(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser, status: int
) -> None:
    server.inject_fault(Fault(method="sendMessage", status=status, times=2))
    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(alice.id, "x")
        assert caught.type is NetworkError
    await bot.send_message(alice.id, "ok")


async def test_fault_migrated_group(server: FakeTelegramServer, bot: Bot) -> None:
    group = server.add_group(title="Clinic staff")
    server.inject_fault(Fault(method="sendMessage", status=400, migrate_to_chat_id=-100123))
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "x")
    assert caught.value.new_chat_id == -100123
    moved = await bot.send_message(-100123, "moved")
    assert moved.chat.type == "supergroup"
    assert moved.chat.title == "Clinic staff"


async def test_error_bodies_follow_the_bot_api(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    server.inject_fault(Fault(method="sendMessage", status=429, retry_after=1))
    server.inject_fault(Fault(method="sendMessage", migrate_to_chat_id=-100999))
    server.inject_fault(Fault(method="sendMessage", status=502))
    expected = [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        ),
        (
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -100999},
            },
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
    ]
    for status, body in expected:
        response = await raw_post(
            server, f"/bot{TOKEN}/sendMessage", data={"chat_id": alice.id, "text": "x"}
        )
        assert (response.status_code, response.json()) == (status, body)


async def test_slow_delivered_response_times_out(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    server.inject_fault(Fault(method="sendMessage", delay=3.0, deliver=True))
    async with make_bot(server, read_timeout=0.3) as slow_bot:
        with pytest.raises(TimedOut):
            await slow_bot.send_message(alice.id, "did it arrive?")
    assert [m.text for m in server.sent] == ["did it arrive?"]


async def test_slow_undelivered_response_is_dropped(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    server.inject_fault(Fault(method="sendMessage", delay=0.3, deliver=False))
    async with make_bot(server, read_timeout=0.1) as slow_bot:
        with pytest.raises(TimedOut):
            await slow_bot.send_message(alice.id, "lost")
    await asyncio.sleep(0.4)
    assert server.sent == []


async def test_slow_but_patient_client_gets_the_message(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    server.inject_fault(Fault(method="sendMessage", delay=0.1))
    message = await bot.send_message(alice.id, "eventually")
    assert message.text == "eventually"
    assert [m.text for m in server.sent] == ["eventually"]


async def test_flood_limits(alice: FakeUser) -> None:
    del alice
    async with FakeTelegramServer(
        token=TOKEN, enforce_limits=True, overall_per_second=2, per_chat_per_second=1
    ) as limited:
        users = [limited.add_user(first_name=f"U{i}") for i in range(3)]
        async with make_bot(limited) as ptb_bot:
            await ptb_bot.send_message(users[0].id, "1")
            with pytest.raises(RetryAfter):
                await ptb_bot.send_message(users[0].id, "2")
            await ptb_bot.send_message(users[1].id, "3")
            with pytest.raises(RetryAfter):
                await ptb_bot.send_message(users[2].id, "4")
            assert limited.flood_429_count == 2
            assert [m.text for m in limited.sent] == ["1", "3"]
            await ptb_bot.edit_message_text("1!", chat_id=users[0].id, message_id=1)


def test_faults_that_could_never_fire_are_refused() -> None:
    with pytest.raises(ValueError, match="times"):
        Fault(times=0)
    with pytest.raises(ValueError, match="delay"):
        Fault(delay=-1)


@pytest.mark.parametrize(
    ("fault", "body"),
    [
        (
            Fault(status=403),
            {"error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        ),
        (Fault(status=418), {"error_code": 418, "description": "I'm a Teapot"}),
        (Fault(status=599), {"error_code": 599, "description": "Error 599"}),
        (
            Fault(retry_after=7),
            {
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        ),
        (
            Fault(status=429),
            {
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        ),
        (
            Fault(status=400, description="Bad Request: custom"),
            {"error_code": 400, "description": "Bad Request: custom"},
        ),
    ],
)
def test_fault_error_bodies(fault: Fault, body: dict[str, object]) -> None:
    assert fault.error_body() == {"ok": False, **body}


def test_a_fault_without_status_only_delays() -> None:
    assert Fault(delay=1.0).effective_status is None


async def test_faults_match_method_case_insensitively_and_count_down(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    fault = server.inject_fault(Fault(method="sendmessage", status=500, times=2))
    other = server.inject_fault(Fault(method="editMessageText", status=500))
    with pytest.raises(NetworkError):
        await bot.send_message(alice.id, "x")
    assert server.faults == [fault, other]
    assert fault.times == 1
    with pytest.raises(NetworkError):
        await bot.send_message(alice.id, "x")
    assert server.faults == [other]
    assert [call.method for call in server.calls] == ["getMe", "sendMessage", "sendMessage"]


async def test_group_flood_limit_per_minute() -> None:
    async with FakeTelegramServer(
        token=TOKEN, enforce_limits=True, per_chat_per_second=100, per_group_per_minute=2
    ) as limited:
        group = limited.add_group(title="Clinic staff")
        alice = limited.add_user(first_name="Alice")
        for text in ("1", "2"):
            await api(limited, "sendMessage", chat_id=group.id, text=text)
        body = await api(limited, "sendMessage", chat_id=group.id, text="3")
        assert body["error_code"] == 429
        assert 59 <= body["parameters"]["retry_after"] <= 60
        assert (
            body["description"]
            == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
        )
        await api(limited, "sendMessage", chat_id=alice.id, text="private chats are not groups")
        assert limited.flood_429_count == 1
        assert [m.text for m in limited.sent] == ["1", "2", "private chats are not groups"]


async def test_flood_limits_only_count_sends_that_pass_the_checks() -> None:
    async with FakeTelegramServer(token=TOKEN, enforce_limits=True) as limited:
        user = limited.add_user(first_name="U")
        body = await api(limited, "sendMessage", chat_id=user.id, text=" ")
        assert body["description"] == "Bad Request: message text is empty"
        await api(limited, "sendMessage", chat_id=user.id, text="counted")
        assert limited.flood_429_count == 0


def test_flood_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        FakeTelegramServer(overall_per_second=0)
