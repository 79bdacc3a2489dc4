"""The HTTP side of the fake server: routes, request decoding and the Bot API answer envelope."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiohttp import BodyPartReader, hdrs, web

from ._models import JSONDict

__all__ = [
    "HOST",
    "ApiError",
    "Call",
    "HttpFront",
    "Reply",
    "Upload",
    "error_body",
    "float_param",
    "int_param",
]

_LOGGER = logging.getLogger(__name__)

HOST = "127.0.0.1"
_MAX_BODY = 64 * 1024 * 1024
_SHUTDOWN_TIMEOUT = 2.0
_INT_RE = re.compile(r"-?[0-9]{1,20}")

# Form values are strings; these parameters hold JSON, and these stay strings even when they
# look like numbers or booleans. Every other value is read as an integer or boolean if it is one.
_JSON_PARAMS = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "link_preview_options",
        "reply_markup",
        "reply_parameters",
        "scope",
    }
)
_STRING_PARAMS = frozenset(
    {
        "action",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "document",
        "inline_message_id",
        "language_code",
        "message_effect_id",
        "parse_mode",
        "photo",
        "secret_token",
        "text",
        "url",
    }
)
_JSON_PARAM_ERRORS = {
    "reply_markup": "Bad Request: can't parse reply keyboard markup JSON object",
    "entities": "Bad Request: can't parse entities JSON object",
    "caption_entities": "Bad Request: can't parse entities JSON object",
    "reply_parameters": "Bad Request: can't parse reply parameters JSON object",
    "commands": "Bad Request: can't parse commands JSON object",
    "scope": "Bad Request: can't parse BotCommandScope JSON object",
    "allowed_updates": "Bad Request: can't parse allowed updates JSON object",
}


def error_body(code: int, description: str, parameters: JSONDict | None = None) -> JSONDict:
    """Return the Bot API error envelope (``parameters`` only when there are some)."""
    body: JSONDict = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


class ApiError(Exception):
    """A Bot API error answer, raised wherever a request is found to be refused."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def reply(self) -> Reply:
        """Return the HTTP answer carrying this error."""
        return Reply(self.code, error_body(self.code, self.description, self.parameters))


class Reply(NamedTuple):
    """An HTTP status and the JSON body answered with it."""

    status: int
    body: JSONDict


@dataclass
class Upload:
    """A file that came as a multipart part."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Call:
    """A decoded request: the canonical method name, its parameters and uploaded files.

    An uploaded file is also in ``params`` (as bytes) under the parameter it was given for.
    """

    method: str
    params: JSONDict
    files: dict[str, Upload] = field(default_factory=dict)


# The answer to a decoded call; the second argument tells whether the client is still connected.
Answer = Callable[[Call, Callable[[], bool]], Awaitable[Reply]]


def int_param(params: JSONDict, key: str, default: int) -> int:
    """Return an integer parameter, refusing a value Telegram would not read as a number."""
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, bool | int | float):
        return int(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(float(value))
    raise ApiError(400, f"Bad Request: invalid {key} specified")


def float_param(params: JSONDict, key: str, default: float) -> float:
    """Return a number parameter, refusing a value that is not one."""
    value = params.get(key)
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Bad Request: invalid {key} specified") from exc


def _coerce(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError as exc:
            message = _JSON_PARAM_ERRORS.get(key, f"Bad Request: can't parse {key} JSON object")
            raise ApiError(400, message) from exc
    if key in _STRING_PARAMS:
        return value
    if _INT_RE.fullmatch(value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    return value


async def _read_body(request: web.Request, raw: JSONDict, uploads: dict[str, Upload]) -> None:
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError(400, "Bad Request: can't parse JSON body") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: request body must be a JSON object")
        raw.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is None:
                raw[part.name] = await part.text()
            else:
                content = part.headers.get(hdrs.CONTENT_TYPE)
                uploads[part.name] = Upload(part.filename, content, bytes(await part.read()))
    else:
        form = await request.post()
        raw.update({key: value for key, value in form.items() if isinstance(value, str)})


async def decode(method: str, request: web.Request) -> Call:
    """Read a request's query string and body (JSON, form or multipart) into a :class:`Call`."""
    raw: JSONDict = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.body_exists:
        await _read_body(request, raw, uploads)
    call = Call(method, {key: _coerce(key, value) for key, value in raw.items()})
    params = call.params
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.pop(value.removeprefix("attach://"), None)
            if upload is None:
                raise ApiError(400, f"Bad Request: file {value} not found in the request")
            call.files[key] = upload
            params[key] = upload.data
    for name, upload in uploads.items():
        if name not in params:
            call.files[name] = upload
            params[name] = upload.data
    return call


def _json(reply: Reply) -> web.Response:
    return web.json_response(reply.body, status=reply.status)


def _not_found() -> web.Response:
    return _json(Reply(404, error_body(404, "Not Found")))


class HttpFront:
    """The aiohttp application on 127.0.0.1 that turns requests into calls and replies."""

    def __init__(self, token: str, methods: Iterable[str], answer: Answer) -> None:
        self._token = token
        self._methods = {name.lower(): name for name in methods}
        self._answer = answer
        self._runner: web.AppRunner | None = None

    @property
    def running(self) -> bool:
        """Tell whether the server is listening."""
        return self._runner is not None

    async def start(self) -> int:
        """Listen on a free port of 127.0.0.1 and return the port."""
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, HOST, 0).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        return int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle_unknown_path(self, request: web.Request) -> web.Response:
        return _not_found()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return _json(Reply(401, error_body(401, "Unauthorized")))
        method = self._methods.get(request.match_info["method"].lower())
        if method is None:
            _LOGGER.info("Fake Telegram server: unsupported method %s", request.match_info)
            return _not_found()
        try:
            call = await decode(method, request)
        except ApiError as exc:
            return _json(exc.reply())

        def connected() -> bool:
            transport = request.transport
            return transport is not None and not transport.is_closing()

        return _json(await self._answer(call, connected))
