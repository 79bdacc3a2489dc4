"""sendDocument: uploads with a file name, stored file_ids, URLs, captions and refusals."""

from __future__ import annotations

import pytest
from telegram import Bot, InputFile, ReplyParameters
from telegram.error import BadRequest

from bot.fake_telegram import FakeTelegramServer, FakeUser
from bot.fake_telegram._methods._messages import MAX_DOCUMENT_BYTES
from tests.fake_telegram.helpers import KEYBOARD, TOKEN, api, png, raw_post

CSV = b"kind,when,value\r\ncheckin,2026-03-02,7\r\n"


async def test_send_document_round_trip(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    message = await bot.send_document(
        alice.id,
        InputFile(CSV, filename="my-data.csv"),
        caption="Your data",
        reply_markup=KEYBOARD,
    )
    document = message.document
    assert document is not None
    assert document.file_name == "my-data.csv"
    assert document.mime_type == "text/csv"
    assert document.file_size == len(CSV)
    assert document.file_id.startswith("BQAC")
    assert message.caption == "Your data"
    assert message.reply_markup == KEYBOARD
    assert message.photo == ()
    assert message.text is None

    sent = server.sent[-1]
    assert sent.method == "sendDocument"
    assert sent.document == CSV
    assert sent.photo is None
    assert sent.caption == "Your data"
    assert sent.buttons()[0] == ("😊 Good", "mood:good")
    assert sent.raw["document"]["file_name"] == "my-data.csv"
    assert server.calls[-1].params["document"] == CSV

    again = await bot.send_document(alice.id, document.file_id)
    assert again.document is not None
    assert again.document.file_id == document.file_id
    assert again.document.file_unique_id == document.file_unique_id
    assert again.document.file_name == "my-data.csv"
    assert again.caption is None
    assert server.sent[-1].document == CSV
    assert [m.message_id for m in server.messages(alice)] == [
        message.message_id,
        again.message_id,
    ]


async def test_each_upload_is_a_new_file(bot: Bot, alice: FakeUser) -> None:
    first = await bot.send_document(alice.id, InputFile(CSV, filename="a.csv"))
    second = await bot.send_document(alice.id, InputFile(CSV, filename="a.csv"))
    assert first.document is not None
    assert second.document is not None
    assert first.document.file_id != second.document.file_id
    assert first.document.file_unique_id != second.document.file_unique_id


async def test_mime_type_is_the_uploads_own_or_guessed_from_the_name(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    fhir = await bot.send_document(alice.id, InputFile(b'{"a": 1}', filename="P-AB12.fhir.json"))
    assert fhir.document is not None
    assert fhir.document.mime_type == "application/json"
    response = await raw_post(
        server,
        f"/bot{TOKEN}/sendDocument",
        data={"chat_id": str(alice.id)},
        files={"document": ("bundle.json", b"{}", "application/fhir+json; charset=utf-8")},
    )
    body = response.json()
    assert body["ok"], body
    assert body["result"]["document"] == {
        "file_id": body["result"]["document"]["file_id"],
        "file_unique_id": body["result"]["document"]["file_unique_id"],
        "file_name": "bundle.json",
        "mime_type": "application/fhir+json",
        "file_size": 2,
    }
    assert server.sent[-1].document == b"{}"


async def test_captions_are_formatted_and_limited_like_photos(bot: Bot, alice: FakeUser) -> None:
    html = await bot.send_document(
        alice.id,
        InputFile(CSV, filename="x.csv"),
        caption="<b>P-AB12</b> export",
        parse_mode="HTML",
    )
    assert html.caption == "P-AB12 export"
    assert [(e.type, e.offset, e.length) for e in html.caption_entities] == [("bold", 0, 6)]
    emoji = "\U0001f600"  # two UTF-16 code units
    full = await bot.send_document(alice.id, InputFile(CSV, filename="x.csv"), caption=emoji * 512)
    assert full.caption == emoji * 512
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(
            alice.id, InputFile(CSV, filename="x.csv"), caption=emoji * 512 + "a"
        )
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_document(
            alice.id, InputFile(CSV, filename="x.csv"), caption="<b>open", parse_mode="HTML"
        )


async def test_document_messages_edit_like_media(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    message = await bot.send_document(alice.id, InputFile(CSV, filename="x.csv"), caption="old")
    edited = await bot.edit_message_caption(alice.id, message.message_id, caption="new")
    assert not isinstance(edited, bool)
    assert edited.caption == "new"
    assert edited.document == message.document
    assert server.sent[-1].caption == "new"
    assert server.sent[-1].edited
    with pytest.raises(BadRequest, match=r"(?i)no text in the message"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=message.message_id)


async def test_replies_to_a_message(server: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    asked = server.send_message(alice, "/mydata")["message"]
    message = await bot.send_document(
        alice.id,
        InputFile(CSV, filename="x.csv"),
        reply_parameters=ReplyParameters(asked["message_id"]),
    )
    assert message.reply_to_message is not None
    assert message.reply_to_message.text == "/mydata"


async def test_documents_by_url(server: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    pdf = await bot.send_document(alice.id, "https://example.org/files/leaflet%20v2.pdf")
    assert pdf.document is not None
    assert pdf.document.file_name == "leaflet v2.pdf"
    assert pdf.document.mime_type == "application/pdf"
    assert server.sent[-1].document is None
    again = await bot.send_document(alice.id, pdf.document.file_id)
    assert again.document is not None
    assert again.document.file_unique_id == pdf.document.file_unique_id
    # Telegram fetches only GIF, PDF and ZIP files by URL for sendDocument.
    with pytest.raises(BadRequest, match=r"(?i)wrong type of the web page content"):
        await bot.send_document(alice.id, "https://example.org/data.csv")


async def test_bad_requests(server: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    body = await api(server, "sendDocument", chat_id=alice.id)
    assert body["description"] == "Bad Request: there is no document in the request"
    body = await api(server, "sendDocument", chat_id=alice.id, document="")
    assert body["description"] == "Bad Request: there is no document in the request"
    body = await api(server, "sendDocument", chat_id="", document="https://example.org/a.pdf")
    assert body["description"] == "Bad Request: chat_id is empty"
    body = await api(server, "sendDocument", document="https://example.org/a.pdf")
    assert body["description"] == "Bad Request: chat_id is empty"
    body = await api(server, "sendDocument", chat_id=999, document="https://example.org/a.pdf")
    assert body["description"] == "Bad Request: chat not found"
    body = await api(
        server,
        "sendDocument",
        chat_id=alice.id,
        document="https://example.org/a.pdf",
        caption="a" * 1025,
    )
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message caption is too long",
    }
    body = await api(server, "sendDocument", chat_id=alice.id, document="no-such-file-id")
    assert body["description"] == "Bad Request: wrong file identifier/HTTP URL specified"
    response = await raw_post(
        server,
        f"/bot{TOKEN}/sendDocument",
        data={"chat_id": str(alice.id)},
        files={"document": ("empty.csv", b"", "text/csv")},
    )
    assert response.json()["description"] == "Bad Request: file must be non-empty"
    response = await raw_post(
        server,
        f"/bot{TOKEN}/sendDocument",
        data={"chat_id": str(alice.id), "reply_markup": "{not json"},
        files={"document": ("a.csv", CSV, "text/csv")},
    )
    assert response.status_code == 400
    assert response.json()["description"] == (
        "Bad Request: can't parse reply keyboard markup JSON object"
    )
    assert [m for m in server.sent if m.method == "sendDocument"] == []


async def test_photos_and_documents_are_not_interchangeable(bot: Bot, alice: FakeUser) -> None:
    photo = await bot.send_photo(alice.id, png(4, 4))
    document = await bot.send_document(alice.id, InputFile(CSV, filename="x.csv"))
    assert document.document is not None
    with pytest.raises(BadRequest, match=r"(?i)can't use file of type Photo as Document"):
        await bot.send_document(alice.id, photo.photo[-1].file_id)
    with pytest.raises(BadRequest, match=r"(?i)can't use file of type Document as Photo"):
        await bot.send_photo(alice.id, document.document.file_id)


async def test_a_blocked_user_gets_no_document(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    server.block_bot(alice)
    body = await api(server, "sendDocument", chat_id=alice.id, document="https://e.org/a.pdf")
    assert body["error_code"] == 403
    assert body["description"] == "Forbidden: bot was blocked by the user"


async def test_a_document_over_50_mb_is_too_large(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    response = await raw_post(
        server,
        f"/bot{TOKEN}/sendDocument",
        data={"chat_id": str(alice.id)},
        files={"document": ("big.bin", b"\0" * (MAX_DOCUMENT_BYTES + 1), "application/zip")},
    )
    assert response.status_code == 413
    assert response.json() == {
        "ok": False,
        "error_code": 413,
        "description": "Request Entity Too Large",
    }
    assert server.sent == []


async def test_send_document_is_in_the_method_table(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    body = await api(server, "senddocument", chat_id=alice.id)
    assert body["description"] == "Bad Request: there is no document in the request"
