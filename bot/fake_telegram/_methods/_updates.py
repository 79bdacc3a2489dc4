"""Getting updates: long polling, and the webhook that excludes it."""

from __future__ import annotations

import asyncio
import re

from bot.fake_telegram._models import JSONDict
from bot.fake_telegram._transport import ApiError, Call, float_param, int_param
from bot.fake_telegram._world import World

from ._common import Context, Handler

__all__ = ["UPDATE_METHODS"]

_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _allow(world: World, params: JSONDict) -> None:
    if "allowed_updates" not in params:
        return
    value = params["allowed_updates"]
    if not isinstance(value, list):
        raise ApiError(400, "Bad Request: can't parse allowed updates JSON object")
    world.updates.allowed = frozenset(str(item) for item in value) or None


async def _get_updates(ctx: Context, call: Call) -> list[JSONDict]:
    """Confirm what ``offset`` confirms, then return updates, waiting up to ``timeout``.

    A newer getUpdates call ends a waiting one with 409, as Telegram does; stopping the
    server ends it with what there is.
    """
    world, params = ctx.world, call.params
    if world.webhook_url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = int_param(params, "offset", 0)
    limit = min(max(int_param(params, "limit", 100), 1), 100)
    timeout = max(float_param(params, "timeout", 0.0), 0.0)
    _allow(world, params)
    if world.updates.confirm(offset):
        world.notify()
    poll = world.updates.new_poll()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if world.updates.superseded(poll):
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        event = world.changed
        remaining = deadline - loop.time()
        if world.updates.has_ready() or world.stopping or remaining <= 0:
            return world.updates.take(limit)
        await world.wait_change(event, remaining)


async def _set_webhook(ctx: Context, call: Call) -> bool:
    world, params = ctx.world, call.params
    url = str(params.get("url") or "")
    if url and not url.startswith(("https://", "http://")):
        raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
        raise ApiError(400, "Bad Request: secret token contains unallowed characters")
    if params.get("drop_pending_updates"):
        world.updates.clear()
    _allow(world, params)
    world.webhook_url = url
    world.webhook_secret_token = str(secret) if url and secret is not None else None
    world.webhook_max_connections = int_param(params, "max_connections", 40)
    world.notify()
    return True


async def _delete_webhook(ctx: Context, call: Call) -> bool:
    world = ctx.world
    if call.params.get("drop_pending_updates"):
        world.updates.clear()
    world.webhook_url = ""
    world.webhook_secret_token = None
    world.notify()
    return True


async def _get_webhook_info(ctx: Context, call: Call) -> JSONDict:
    world = ctx.world
    info: JSONDict = {
        "url": world.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates),
    }
    if world.webhook_url:
        info["max_connections"] = world.webhook_max_connections
    if world.updates.allowed is not None:
        info["allowed_updates"] = sorted(world.updates.allowed)
    return info


UPDATE_METHODS: dict[str, Handler] = {
    "getUpdates": _get_updates,
    "setWebhook": _set_webhook,
    "deleteWebhook": _delete_webhook,
    "getWebhookInfo": _get_webhook_info,
}
