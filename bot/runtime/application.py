"""The composition root: build the Application and run it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    Updater,
    filters,
)
from telegram.request import HTTPXRequest

from bot.domain.clock import Clock, SystemClock
from bot.domain.crisis import CrisisDetector
from bot.domain.explainers import ExplainerLibrary, load_explainers
from bot.domain.protocol import Protocol, check_schedule, load_protocol
from bot.runtime.instance import InstanceLock
from bot.runtime.settings import Settings, WebhookSettings
from bot.services.container import Services, open_services
from bot.telegram.senders import (
    TelegramCheckinSender,
    TelegramPatientSender,
    TelegramStaffSender,
    TelegramUrgentMessenger,
)
from handlers import PATIENT_HANDLERS, SAFETY_HANDLERS, on_error, staff_handlers
from handlers.common import SERVICES_KEY

log = logging.getLogger(__name__)

# Edited messages are only read for crisis language; everything else ignores edits.
_T = TypeVar("_T")

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
# Telegram allows about 30 messages per second overall; stay just under it.
SAFE_RATE = 29.5
DISPATCH_JOB = "dispatcher"

PATIENT_COMMANDS = [
    BotCommand("checkin", "Rate your mood now"),
    BotCommand("learn", "Why the effect can fade, and what helps"),
    BotCommand("time", "Change your check-in time"),
    BotCommand("pause", "Pause check-ins"),
    BotCommand("resume", "Resume check-ins"),
    BotCommand("stop", "Stop all messages"),
    BotCommand("help", "Help and emergency contacts"),
]
STAFF_COMMANDS = [
    BotCommand("alerts", "Open alerts"),
    BotCommand("patient", "Summary and chart of a patient: <code>"),
    BotCommand("resolve", "End the open episodes of a patient: <code>"),
    BotCommand("invite", "Invite a new patient"),
    BotCommand("infusion", "Record an infusion: <code> [YYYY-MM-DD [HH:MM]]"),
    BotCommand("patients", "List patients"),
    BotCommand("help", "Help"),
]


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Processes updates concurrently across chats but in arrival order within a chat."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates * 64)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's turn first, then for a free slot, then run the handlers.

        Taking the chat lock before a slot means one busy chat queues behind itself instead
        of filling every slot and holding up everyone else (a crisis message included). The
        base class's own limit is set high so that it never decides the order.
        """
        key = 0
        if isinstance(update, Update):
            if update.effective_chat is not None:
                key = update.effective_chat.id
            elif update.effective_user is not None:
                key = update.effective_user.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def flood_limiter(per_second: float = SAFE_RATE) -> AIORateLimiter:
    """Return the limiter all sending goes through: evenly spaced sends, 429s waited out.

    aiolimiter's bucket lets a full second's worth of messages out at once and then keeps the
    rate, so a one-second window could see twice the rate. A bucket of one message refilled
    every 1/rate seconds spaces sends evenly instead. A rate of 0 disables the overall limit
    (429s are still waited out and retried up to three times).
    """
    if per_second <= 0:
        return AIORateLimiter(overall_max_rate=0, max_retries=3)
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / per_second, max_retries=3)


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    protocol: Protocol | None = None,
    library: ExplainerLibrary | None = None,
    detector: CrisisDetector | None = None,
    dispatch_interval: float = 30.0,
    request_timeout: float = 10.0,
    rate_limit_per_second: float = SAFE_RATE,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the bot; the database opens in post_init and closes in post_shutdown."""
    the_clock: Clock = clock or SystemClock()
    the_protocol = protocol or load_protocol(settings.protocol_path)
    the_library = library or load_explainers(settings.content_dir)
    check_schedule(the_protocol, the_library)
    the_detector = detector or CrisisDetector.from_file()

    lock = InstanceLock(settings.db_path)
    # The staff chat, and its new id if the group became a supergroup.
    staff_chats = filters.Chat(chat_id=settings.staff_chat_id)
    # Crisis replies and urgent alerts go through a second Bot without the flood limiter, so
    # they are never queued behind bulk sending.
    urgent_bot = Bot(
        settings.token,
        base_url=settings.api_base_url,
        request=HTTPXRequest(
            connection_pool_size=4,
            connect_timeout=5.0,
            read_timeout=request_timeout,
            write_timeout=request_timeout,
        ),
    )

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        lock.acquire()
        await urgent_bot.initialize()
        svc = await open_services(
            settings,
            the_clock,
            the_protocol,
            TelegramCheckinSender(app.bot),
            TelegramStaffSender(app.bot, urgent_bot),
            library=the_library,
            detector=the_detector,
        )
        svc.education.attach(TelegramPatientSender(app.bot))
        svc.alerts.on_staff_chat(staff_chats.add_chat_ids)
        staff_chats.add_chat_ids(await svc.alerts.staff_chat_id())
        svc.safety.attach(TelegramUrgentMessenger(urgent_bot))
        app.bot_data[SERVICES_KEY] = svc
        await svc.dispatcher.recover()
        # Misses closed just before a stop or crash were never reviewed: review them now.
        await svc.trends.review_recent_misses(the_clock.now() - the_protocol.answer_window * 2)
        await _register_commands(app, settings)
        if app.job_queue is None:
            raise RuntimeError("the job-queue extra of python-telegram-bot is required")
        # A repeating job's first run would be skipped here: the scheduler starts after
        # post_init and APScheduler then moves "first=0" to the next interval. So the
        # start-up pass is a one-off job of its own.
        job_kwargs = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        app.job_queue.run_once(_dispatch, when=0, name=f"{DISPATCH_JOB}-startup")
        app.job_queue.run_repeating(
            _dispatch,
            interval=dispatch_interval,
            first=dispatch_interval,
            name=DISPATCH_JOB,
            job_kwargs=job_kwargs,
        )
        log.info("bot.started protocol=%s", the_protocol.source)

    async def post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        # Background alert sends finish while the bot's HTTP client is still open.
        svc = app.bot_data.get(SERVICES_KEY)
        if isinstance(svc, Services):
            await svc.alerts.drain()

    async def post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        svc = app.bot_data.pop(SERVICES_KEY, None)
        if isinstance(svc, Services):
            await svc.alerts.drain()
            await svc.storage.close()
        await urgent_bot.shutdown()
        lock.release()
        log.info("bot.stopped")

    request = HTTPXRequest(
        connection_pool_size=64,
        connect_timeout=5.0,
        read_timeout=request_timeout,
        write_timeout=request_timeout,
        pool_timeout=5.0,
    )
    updates_request = HTTPXRequest(
        connection_pool_size=2,
        connect_timeout=5.0,
        read_timeout=request_timeout + 30.0,
        write_timeout=request_timeout,
        pool_timeout=5.0,
    )
    limiter = flood_limiter(rate_limit_per_second)
    app = (
        ApplicationBuilder()
        .rate_limiter(limiter)
        .token(settings.token)
        .base_url(settings.api_base_url)
        .request(request)
        .get_updates_request(updates_request)
        .concurrent_updates(PerChatUpdateProcessor(64))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.add_handlers(SAFETY_HANDLERS, group=-1)
    app.add_handlers(staff_handlers(settings.admin_ids, staff_chats))
    app.add_handlers(PATIENT_HANDLERS)
    app.add_error_handler(on_error)
    return app


async def dispatch_once(svc: Services) -> None:
    """One pass of the job: waiting crisis messages, alerts, due check-ins, the detector.

    Each step runs even if an earlier one failed: a failing alert send must not hold up the
    check-ins, nor a failing check-in pass the alerts.
    """
    await _step("safety", svc.safety.retry_direct())
    await _step("alerts", svc.alerts.deliver())
    report = await _step("dispatch", svc.dispatcher.tick())
    if report is not None:
        await _step("trends", svc.trends.review_many(report.patients_with_misses))
    await _step("alerts", svc.alerts.deliver())
    await _step("explainers", svc.education.deliver_waiting())


async def _step(name: str, work: Awaitable[_T]) -> _T | None:
    """Await one step of the job, logging (not raising) its failure."""
    try:
        return await work
    except Exception:
        log.exception("dispatch.step_failed step=%s", name)
        return None


async def _dispatch(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Wake the dispatcher; the database says what is due."""
    svc = context.bot_data.get(SERVICES_KEY)
    if isinstance(svc, Services):
        await dispatch_once(svc)


async def _register_commands(
    app: Application[Any, Any, Any, Any, Any, Any], settings: Settings
) -> None:
    """Tell Telegram which commands to show patients and staff."""
    try:
        await app.bot.set_my_commands(PATIENT_COMMANDS, scope=BotCommandScopeAllPrivateChats())
        await app.bot.set_my_commands(
            STAFF_COMMANDS, scope=BotCommandScopeChat(settings.staff_chat_id)
        )
        for admin in sorted(settings.admin_ids):
            await app.bot.set_my_commands(STAFF_COMMANDS, scope=BotCommandScopeChat(admin))
    except TelegramError as err:
        # Command menus are a convenience; a chat the bot cannot see yet must not stop it.
        log.warning("bot.commands_not_set error=%s", type(err).__name__)


def services_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """Return the services of a started application."""
    svc = app.bot_data.get(SERVICES_KEY)
    if not isinstance(svc, Services):
        raise RuntimeError("application is not initialised")
    return svc


@asynccontextmanager
async def _lifecycle(
    app: Application[Any, Any, Any, Any, Any, Any],
    start_updates: Callable[[Updater], Awaitable[object]],
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """The same sequence as Application.run_polling()/run_webhook(), inside a running loop."""
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        assert app.updater is not None
        await start_updates(app.updater)
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def running_webhook(
    app: Application[Any, Any, Any, Any, Any, Any], webhook: WebhookSettings
) -> AbstractAsyncContextManager[Application[Any, Any, Any, Any, Any, Any]]:
    """Run the application behind python-telegram-bot's webhook server (secret enforced)."""
    return _lifecycle(
        app,
        lambda updater: updater.start_webhook(
            listen=webhook.listen,
            port=webhook.port,
            url_path=webhook.path,
            webhook_url=webhook.url,
            secret_token=webhook.secret,
            allowed_updates=ALLOWED_UPDATES,
        ),
    )


def running(
    app: Application[Any, Any, Any, Any, Any, Any], *, poll_timeout: float = 10.0
) -> AbstractAsyncContextManager[Application[Any, Any, Any, Any, Any, Any]]:
    """Run the application with long polling inside an existing event loop (tests, demo)."""
    return _lifecycle(
        app,
        lambda updater: updater.start_polling(
            poll_interval=0.0,
            timeout=timedelta(seconds=poll_timeout),
            allowed_updates=ALLOWED_UPDATES,
        ),
    )
