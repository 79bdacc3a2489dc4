"""Sending, editing and deleting messages."""

from __future__ import annotations

import copy
import mimetypes
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from bot.fake_telegram._files import StoredFile
from bot.fake_telegram._models import FakeChat, JSONDict, SentMessage
from bot.fake_telegram._transport import ApiError, Call, Upload, int_param
from bot.fake_telegram._world import World, now

from ._common import (
    Context,
    Handler,
    caption,
    is_inline,
    message_text,
    reply_markup,
    reply_target,
    target_chat,
)

__all__ = ["MESSAGE_METHODS"]

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Bots may upload documents of up to 50 MB; beyond, Telegram answers 413.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
# "In sendDocument, sending by URL will currently only work for GIF, PDF and ZIP files."
_DOCUMENT_URL_TYPES = {".gif": "image/gif", ".pdf": "application/pdf", ".zip": "application/zip"}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def _new_message(
    ctx: Context, chat: FakeChat, markup: JSONDict | None, reply: JSONDict | None
) -> JSONDict:
    ctx.flood.check(chat)
    message = ctx.world.new_bot_message(chat)
    if reply is not None:
        message["reply_to_message"] = reply
    if is_inline(markup):
        message["reply_markup"] = markup
    return message


async def _send_message(ctx: Context, call: Call) -> JSONDict:
    params = call.params
    plain, entities = message_text(params)
    chat = target_chat(ctx.world, params)
    markup = reply_markup(params)
    reply = reply_target(ctx.world, chat, params)
    message = _new_message(ctx, chat, markup, reply)
    message["text"] = plain
    if entities:
        message["entities"] = entities
    return _record(ctx, call, message, text=plain, markup=markup, entities=entities)


def _photo_source(world: World, call: Call) -> tuple[bytes | None, StoredFile | None]:
    """Return the uploaded photo's bytes, or the stored photo that ``photo`` refers to."""
    upload = call.files.get("photo")
    if upload is not None:
        if not upload.data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        return upload.data, None
    ref = call.params.get("photo")
    if not isinstance(ref, str) or not ref:
        raise ApiError(400, "Bad Request: there is no photo in the request")
    stored = world.files.get(ref)
    if stored is not None:
        if stored.kind != "photo":
            raise ApiError(400, "Bad Request: can't use file of type Document as Photo")
        return stored.data, stored
    if ref.startswith(("http://", "https://")):
        return None, None
    raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")


async def _send_photo(ctx: Context, call: Call) -> JSONDict:
    params = call.params
    text, entities = caption(params)
    chat = target_chat(ctx.world, params)
    data, stored = _photo_source(ctx.world, call)
    markup = reply_markup(params)
    reply = reply_target(ctx.world, chat, params)
    message = _new_message(ctx, chat, markup, reply)
    if stored is not None and stored.photo_sizes:
        message["photo"] = copy.deepcopy(stored.photo_sizes)
    else:
        message["photo"] = ctx.world.files.photo_sizes(data)
    if text is not None:
        message["caption"] = text
        if entities:
            message["caption_entities"] = entities
    return _record(ctx, call, message, text=text, markup=markup, entities=entities, photo=data)


def _uploaded_mime_type(upload: Upload) -> str | None:
    """Return the MIME type of an upload: the part's own, else guessed from its name."""
    given = (upload.content_type or "").split(";", 1)[0].strip().lower()
    if given:
        return given
    return mimetypes.guess_type(upload.filename or "", strict=False)[0]


@dataclass(frozen=True)
class _DocumentSource:
    """Where a document comes from: new bytes or a URL to store, or a stored document."""

    data: bytes | None
    stored: JSONDict | None = None
    file_name: str | None = None
    mime_type: str | None = None


def _document_source(world: World, call: Call) -> _DocumentSource:
    """Return the uploaded document, the stored one ``document`` names, or its URL's."""
    upload = call.files.get("document")
    if upload is not None:
        if not upload.data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        if len(upload.data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        return _DocumentSource(upload.data, None, upload.filename, _uploaded_mime_type(upload))
    ref = call.params.get("document")
    if not isinstance(ref, str) or not ref:
        raise ApiError(400, "Bad Request: there is no document in the request")
    stored = world.files.get(ref)
    if stored is not None:
        if stored.kind != "document":
            raise ApiError(400, "Bad Request: can't use file of type Photo as Document")
        return _DocumentSource(stored.data, copy.deepcopy(stored.meta))
    if ref.startswith(("http://", "https://")):
        name = unquote(urlsplit(ref).path.rsplit("/", 1)[-1])
        extension = name[name.rfind(".") :].lower() if "." in name else ""
        mime_type = _DOCUMENT_URL_TYPES.get(extension)
        if mime_type is None:
            raise ApiError(400, "Bad Request: wrong type of the web page content")
        return _DocumentSource(None, None, name, mime_type)
    raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")


async def _send_document(ctx: Context, call: Call) -> JSONDict:
    params = call.params
    text, entities = caption(params)
    chat = target_chat(ctx.world, params)
    source = _document_source(ctx.world, call)
    markup = reply_markup(params)
    reply = reply_target(ctx.world, chat, params)
    message = _new_message(ctx, chat, markup, reply)
    message["document"] = source.stored or ctx.world.files.document(
        source.data, file_name=source.file_name, mime_type=source.mime_type
    )
    if text is not None:
        message["caption"] = text
        if entities:
            message["caption_entities"] = entities
    return _record(
        ctx, call, message, text=text, markup=markup, entities=entities, document=source.data
    )


async def _send_chat_action(ctx: Context, call: Call) -> bool:
    target_chat(ctx.world, call.params)
    if call.params.get("action") not in _CHAT_ACTIONS:
        raise ApiError(400, "Bad Request: wrong parameter action in request")
    return True


def _editable(world: World, params: JSONDict) -> SentMessage:
    if params.get("inline_message_id") is not None:
        raise ApiError(400, "Bad Request: message to edit not found")
    chat = target_chat(world, params)
    if params.get("message_id") is None:
        raise ApiError(400, "Bad Request: message identifier is not specified")
    message_id = int_param(params, "message_id", 0)
    sent = world.bot_message(chat.id, message_id)
    if sent is None:
        if world.message(chat.id, message_id) is not None:
            raise ApiError(400, "Bad Request: message can't be edited")
        raise ApiError(400, "Bad Request: message to edit not found")
    return sent


def _apply_edit(
    world: World,
    sent: SentMessage,
    text: str | None,
    entities: list[JSONDict],
    markup: JSONDict | None,
) -> JSONDict:
    current_markup = sent.reply_markup if is_inline(sent.reply_markup) else None
    if text == sent.text and entities == sent.entities and markup == current_markup:
        raise ApiError(400, _NOT_MODIFIED)
    text_key, entities_key = (
        ("text", "entities") if sent.method == "sendMessage" else ("caption", "caption_entities")
    )
    raw = sent.raw
    for key, value in ((text_key, text), (entities_key, entities), ("reply_markup", markup)):
        if value:
            raw[key] = value
        else:
            raw.pop(key, None)
    sent.text = text
    sent.entities = entities
    sent.reply_markup = markup
    sent.edited = True
    raw["edit_date"] = now()
    world.notify()
    return raw


async def _edit_message_text(ctx: Context, call: Call) -> JSONDict:
    plain, entities = message_text(call.params)
    sent = _editable(ctx.world, call.params)
    if sent.method != "sendMessage":
        raise ApiError(400, "Bad Request: there is no text in the message to edit")
    markup = reply_markup(call.params, inline_only=True)
    return _apply_edit(ctx.world, sent, plain, entities, markup)


async def _edit_message_caption(ctx: Context, call: Call) -> JSONDict:
    text, entities = caption(call.params)
    sent = _editable(ctx.world, call.params)
    if sent.method == "sendMessage":
        raise ApiError(400, "Bad Request: there is no caption in the message to edit")
    markup = reply_markup(call.params, inline_only=True)
    return _apply_edit(ctx.world, sent, text, entities, markup)


async def _edit_message_reply_markup(ctx: Context, call: Call) -> JSONDict:
    sent = _editable(ctx.world, call.params)
    markup = reply_markup(call.params, inline_only=True)
    return _apply_edit(ctx.world, sent, sent.text, sent.entities, markup)


async def _delete_message(ctx: Context, call: Call) -> bool:
    chat = target_chat(ctx.world, call.params)
    if not ctx.world.delete_message(chat.id, int_param(call.params, "message_id", 0)):
        raise ApiError(400, "Bad Request: message to delete not found")
    return True


MESSAGE_METHODS: dict[str, Handler] = {
    "sendMessage": _send_message,
    "sendPhoto": _send_photo,
    "sendDocument": _send_document,
    "sendChatAction": _send_chat_action,
    "editMessageText": _edit_message_text,
    "editMessageCaption": _edit_message_caption,
    "editMessageReplyMarkup": _edit_message_reply_markup,
    "deleteMessage": _delete_message,
}


def _record(
    ctx: Context,
    call: Call,
    message: JSONDict,
    *,
    text: str | None,
    markup: JSONDict | None,
    entities: list[JSONDict],
    photo: bytes | None = None,
    document: bytes | None = None,
) -> JSONDict:
    """Keep a sent message in the world (what tests read back) and return it."""
    ctx.world.record_sent(
        SentMessage(
            message_id=message["message_id"],
            chat_id=message["chat"]["id"],
            text=text,
            reply_markup=markup,
            date=message["date"],
            method=call.method,
            photo=photo,
            document=document,
            entities=entities,
            params=call.params,
            raw=message,
        )
    )
    return message
