"""HTTP: tokens, routes, and the request encodings PTB and other clients use."""

from __future__ import annotations

import httpx
import pytest
from telegram.error import InvalidToken

from bot.fake_telegram import FakeTelegramServer, FakeUser
from bot.fake_telegram._methods._bot import BOT_METHODS
from tests.fake_telegram.helpers import TOKEN, api, make_bot, png, raw_post


async def test_wrong_token_is_unauthorized(server: FakeTelegramServer) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(server, token="654321:WRONG"):
            pass
    response = await raw_post(server, "/bot654321:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_and_path_are_not_found(server: FakeTelegramServer) -> None:
    for path in (f"/bot{TOKEN}/sendTelepathy", "/favicon.ico"):
        response = await raw_post(server, path)
        assert response.status_code == 404
        assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_multipart_attach_and_json_and_query_string(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    image = png(2, 2)
    response = await raw_post(
        server,
        f"/bot{TOKEN}/sendPhoto",
        data={"chat_id": str(alice.id), "photo": "attach://pic"},
        files={"pic": ("pic.png", image, "image/png")},
    )
    assert response.json()["ok"] is True
    assert server.sent[-1].photo == image

    response = await raw_post(
        server, f"/bot{TOKEN}/sendMessage", json={"chat_id": str(alice.id), "text": "123"}
    )
    body = response.json()
    assert body["ok"] is True
    assert body["result"]["text"] == "123"
    assert server.calls[-1].params == {"chat_id": alice.id, "text": "123"}

    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{server.base_url}{TOKEN}/sendMessage", params={"chat_id": alice.id, "text": "q"}
        )
    assert response.json()["result"]["text"] == "q"


async def test_string_parameters_stay_strings_and_others_are_numbers(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    response = await raw_post(
        server,
        f"/bot{TOKEN}/sendMessage",
        data={"chat_id": str(alice.id), "text": "true", "disable_notification": "true"},
    )
    assert response.json()["result"]["text"] == "true"
    assert server.calls[-1].params == {
        "chat_id": alice.id,
        "text": "true",
        "disable_notification": True,
    }


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        (
            {"content": b"{", "headers": {"Content-Type": "application/json"}},
            "can't parse JSON body",
        ),
        ({"json": [1, 2]}, "request body must be a JSON object"),
        (
            {"data": {"chat_id": "1", "text": "x", "reply_markup": "{"}},
            "can't parse reply keyboard markup JSON object",
        ),
        (
            {"data": {"chat_id": "1", "photo": "attach://missing"}},
            "file attach://missing not found",
        ),
    ],
)
async def test_undecodable_requests_are_bad_requests(
    server: FakeTelegramServer, kwargs: dict[str, object], description: str
) -> None:
    response = await raw_post(server, f"/bot{TOKEN}/sendPhoto", **kwargs)
    body = response.json()
    assert (response.status_code, body["ok"], body["error_code"]) == (400, False, 400)
    assert body["description"].startswith("Bad Request: ")
    assert description in body["description"]
    assert server.calls == []


async def test_method_names_are_case_insensitive(server: FakeTelegramServer) -> None:
    response = await raw_post(server, f"/bot{TOKEN}/GETME")
    assert response.json()["result"]["id"] == server.bot_id
    assert server.calls[-1].method == "getMe"


async def test_invalid_number_parameter_is_refused(server: FakeTelegramServer) -> None:
    body = await api(server, "getUpdates", offset="soon")
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: invalid offset specified",
    }


async def test_a_bug_in_a_method_answers_500_and_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(ctx: object, call: object) -> object:
        raise KeyError("oops")

    monkeypatch.setitem(BOT_METHODS, "getMe", broken)
    async with FakeTelegramServer(token=TOKEN) as server:
        body = await api(server, "getMe")
        assert body["error_code"] == 500
        assert body["description"] == "Internal Server Error: fake server bug: KeyError('oops')"
        assert [type(error) for error in server.internal_errors] == [KeyError]
