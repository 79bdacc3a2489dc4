"""The composition root: build the Application, wire the services in post_init, run it."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import ApplicationBuilder, ExtBot, JobQueue, filters
from telegram.request import BaseRequest, HTTPXRequest

from bot.domain.clock import Clock, SystemClock
from bot.domain.entities import Clinic, SafetyContacts
from bot.runtime.backups import Backups
from bot.runtime.content import Content, load_content
from bot.runtime.intake import Intake
from bot.runtime.jobs import schedule_backups, schedule_dispatch, schedule_purge
from bot.runtime.polling import AfterglowBot
from bot.runtime.roles import Roles
from bot.runtime.settings import DEFAULT_SEND_RATE, Settings
from bot.runtime.startup import open_staff_chat
from bot.runtime.updates import PerChatUpdateProcessor
from bot.runtime.urgent import UrgentWorker
from bot.runtime.version import afterglow_version
from bot.services.container import Outside, Services, StaffWatch, build_services
from bot.telegram.charts import MoodCharts
from bot.telegram.commands import Audience, menu
from bot.telegram.flood import FloodLimiter
from bot.telegram.history_chart import HistoryCharts
from bot.telegram.senders import (
    TelegramCheckinSender,
    TelegramPatientSender,
    TelegramQuestionnaireSender,
    TelegramStaffSender,
    TelegramUrgentMessenger,
)
from bot.telegram.wording import TelegramWording
from handlers import (
    BUTTON_GATE,
    CONTEXT_TYPES,
    PATIENT_HANDLERS,
    QUESTION_HANDLERS,
    QUESTIONNAIRE_HANDLERS,
    SAFETY_HANDLERS,
    AfterglowApp,
    Context,
    mydata_handlers,
    on_error,
    setup_handlers,
    staff_handlers,
)
from storage import Storage

log = logging.getLogger(__name__)

SAFE_RATE = DEFAULT_SEND_RATE


def flood_limiter(per_second: float = SAFE_RATE) -> FloodLimiter:
    """Return the limiter all flood-limited sending goes through (0 disables the rate)."""
    return FloodLimiter(per_second)


def clinic_of(settings: Settings) -> Clinic:
    """Return what the services need to know about the clinic."""
    return Clinic(
        timezone=settings.timezone,
        staff_chat_id=settings.staff_chat_id,
        staff_ids=settings.admin_ids,
        contacts=SafetyContacts(settings.crisis_line, settings.emergency_number),
        retention_days=settings.retention_days,
        delete_clinical_record=settings.delete_clinical_record,
    )


class Requests:
    """Makes the three HTTP clients the bot uses; tests pass one that never leaves the process.

    `bot` carries all flood-limited sending, `updates` long polling, and `urgent` crisis
    replies and urgent alerts (its own pool, so they never wait for a free connection).
    """

    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def bot(self) -> BaseRequest:
        """Return the client for the flood-limited Bot."""
        return self._httpx(64, self.timeout)

    def updates(self) -> BaseRequest:
        """Return the client for getUpdates, whose answers wait up to the poll timeout."""
        return self._httpx(2, self.timeout + 30.0)

    def urgent(self) -> BaseRequest:
        """Return the client for the Bot that bypasses the flood limiter."""
        return self._httpx(4, self.timeout, pool_timeout=1.0)

    @staticmethod
    def _httpx(pool: int, read_timeout: float, *, pool_timeout: float = 5.0) -> BaseRequest:
        return HTTPXRequest(
            connection_pool_size=pool,
            connect_timeout=5.0,
            read_timeout=read_timeout,
            write_timeout=read_timeout,
            pool_timeout=pool_timeout,
        )


class _Lifecycle:
    """What happens around the Application's own start and stop: the database and services."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        content: Content,
        urgent_bot: Bot,
        staff_chats: filters.Chat,
        staff_users: filters.User,
        intake: Intake,
        limiter: FloodLimiter,
        dispatch_interval: float,
        announce: bool,
        webhook: bool,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._content = content
        self._urgent_bot = urgent_bot
        self._staff_chats = staff_chats
        self._staff_users = staff_users
        self._intake = intake
        self._limiter = limiter
        self._dispatch_interval = dispatch_interval
        self._announce = announce
        self._roles = Roles(settings, every_instance_serves=webhook)
        self._app: AfterglowApp | None = None
        self._living: frozenset[int] = frozenset()
        watch = self._watch_instances if settings.database_url else None
        self._urgent = UrgentWorker(watch=watch)

    def _outside(self, app: AfterglowApp, clinic: Clinic) -> Outside:
        return Outside(
            checkins=TelegramCheckinSender(app.bot),
            staff=TelegramStaffSender(app.bot, self._urgent_bot),
            patients=TelegramPatientSender(app.bot),
            urgent=TelegramUrgentMessenger(self._urgent_bot),
            questionnaires=TelegramQuestionnaireSender(app.bot),
            wording=TelegramWording(clinic.contacts, clinic.timezone),
            charts=MoodCharts(),
            history=HistoryCharts(),
            permits=self._limiter,
        )

    async def _review_recent_misses(self, svc: Services) -> None:
        """Review misses closed just before a stop or crash (they were never reviewed)."""
        await svc.trends.review_recent_misses(
            self._clock.now() - self._content.protocol.answer_window * 2
        )

    async def _on_lead(self, app: AfterglowApp) -> None:
        svc = app.bot_data.services
        if svc is not None:
            await self._review_recent_misses(svc)

    async def post_init(self, app: AfterglowApp) -> None:
        """Take the instance's locks, open the database, wire the services, start the job."""
        await self._roles.before_open()
        await self._urgent_bot.initialize()
        clinic = clinic_of(self._settings)
        storage = await Storage.open(self._settings.database)
        instance = await self._roles.register(storage, self._clock)
        svc = build_services(
            storage,
            self._clock,
            clinic=clinic,
            protocol=self._content.protocol,
            library=self._content.library,
            net=self._content.net,
            questionnaires=self._content.questionnaires,
            outside=self._outside(app, clinic),
            on_staff_chat_moved=self._staff_chats.add_chat_ids,
            # Roster members join and leave the staff handlers' filter without a restart.
            staff_watch=StaffWatch(
                joined=self._staff_users.add_user_ids, removed=self._staff_users.remove_user_ids
            ),
            instance=instance,
        )
        await svc.roster.load()
        self._staff_chats.add_chat_ids(await svc.alerts.staff_chat_id())
        app.bot_data.services = svc
        if self._announce:
            # `afterglow run` checks the staff chat and posts its start-up line there; a staff
            # chat the bot cannot reach stops start-up before anything is handled.
            await open_staff_chat(app.bot, svc, version=afterglow_version())
        self._intake.open(storage.inbox, instances=storage.instances, me=instance)
        self._app = app
        await self._pick_up(app, svc)
        await _register_commands(app, self._settings)
        self._start_jobs(app, svc)
        log.info("bot.started protocol=%s", self._content.protocol.source)

    async def _pick_up(self, app: AfterglowApp, svc: Services) -> None:
        """Take over what a stop or crash left: the updates not handled go first."""
        await self._adopt(app)
        await svc.dispatcher.recover()
        me = self._roles.instance
        if await svc.storage.instances.alive(me, now=self._clock.now()) == {me}:
            ended = await svc.storage.leases.end_orphaned(self._clock.now())
            if ended:
                log.warning("bot.leases_ended count=%d", ended)
        if self._roles.leading:
            await self._review_recent_misses(svc)

    def _start_jobs(self, app: AfterglowApp, svc: Services) -> None:
        """The dispatcher pass, the urgent worker, purges, backups, the bid for the lead."""
        schedule_dispatch(
            app,
            interval=self._dispatch_interval,
            leading=lambda: self._roles.leading,
            before=lambda: self._adopt(app),
        )
        self._roles.seek_the_lead(lambda: self._on_lead(app))
        self._urgent.start(svc)
        schedule_purge(app, [self._intake, svc.urgent, svc.privacy])
        if self._settings.backup_dir is not None:
            backups = Backups(
                self._settings.db_path,
                self._settings.backup_dir,
                keep=self._settings.backup_keep,
                clock=self._clock,
            )
            schedule_backups(app, backups)

    async def _watch_instances(self) -> None:
        """Every second: show this instance works, take its share of the flood limits,
        and, as soon as another instance is gone, adopt the updates it left (a crisis
        message among them)."""
        app = self._app
        svc = None if app is None else app.bot_data.services
        if app is None or svc is None:
            return
        me, now = self._roles.instance, self._clock.now()
        await svc.storage.instances.seen(me, now=now)
        living = await svc.storage.instances.alive(me, now=now)
        self._limiter.share(len(living))
        gone, self._living = self._living - living, living
        if gone:
            await self._adopt(app)

    async def _adopt(self, app: AfterglowApp) -> int:
        """Queue the updates left unhandled by this process's predecessor or a dead instance."""
        adopted = await self._intake.resume(app.bot)
        for update in adopted:
            await app.update_queue.put(update)
        return len(adopted)

    async def post_stop(self, app: AfterglowApp) -> None:
        """Let background sends finish while the bot's HTTP client is still open."""
        await self._urgent.stop()
        if app.bot_data.services is not None:
            await app.bot_data.services.alerts.drain()

    async def post_shutdown(self, app: AfterglowApp) -> None:
        """Close the database and give the instance lock back."""
        await self._urgent.stop()
        svc, app.bot_data.services = app.bot_data.services, None
        self._intake.close()
        await self._roles.stop()
        if svc is not None:
            await svc.alerts.drain()
            await svc.storage.close()
        await self._urgent_bot.shutdown()
        await self._roles.release()
        log.info("bot.stopped")


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    content: Content | None = None,
    dispatch_interval: float = 30.0,
    request_timeout: float = 10.0,
    rate_limit_per_second: float | None = None,
    requests: Requests | None = None,
    announce: bool = False,
    webhook: bool = False,
) -> AfterglowApp:
    """Build the bot; the database opens in post_init and closes in post_shutdown.

    `webhook` says updates come by webhook: on PostgreSQL every instance then serves.
    """
    clients = requests or Requests(timeout=request_timeout)
    the_clock = clock or SystemClock()
    loaded = content or load_content(
        protocol=settings.protocol_path, explainers=settings.content_dir
    )
    intake = Intake(the_clock, crisis=lambda words: loaded.net.assess(words).interrupts)
    rate = settings.send_rate if rate_limit_per_second is None else rate_limit_per_second
    limiter = flood_limiter(rate)
    # The staff chat, and its new id if the group became a supergroup.
    staff_chats = filters.Chat(chat_id=settings.staff_chat_id)
    # The owners, and the roster's joined members once the database is open.
    staff_users = filters.User(user_id=settings.admin_ids)
    lifecycle = _Lifecycle(
        settings,
        clock=the_clock,
        content=loaded,
        # Crisis replies and urgent alerts go through a second Bot without the flood
        # limiter, so they are never queued behind bulk sending.
        urgent_bot=Bot(settings.token, base_url=settings.api_base_url, request=clients.urgent()),
        staff_chats=staff_chats,
        staff_users=staff_users,
        intake=intake,
        limiter=limiter,
        dispatch_interval=dispatch_interval,
        announce=announce,
        webhook=webhook,
    )
    jobs: JobQueue[Context] = JobQueue()
    app: AfterglowApp = (
        ApplicationBuilder()
        .bot(_flood_limited_bot(settings, clients, limiter, intake))
        .context_types(CONTEXT_TYPES)
        .job_queue(jobs)
        .concurrent_updates(PerChatUpdateProcessor(64, hooks=intake))
        .post_init(lifecycle.post_init)
        .post_stop(lifecycle.post_stop)
        .post_shutdown(lifecycle.post_shutdown)
        .build()
    )
    _add_handlers(app, settings, staff_chats, staff_users)
    return app


def _flood_limited_bot(
    settings: Settings, clients: Requests, limiter: FloodLimiter, intake: Intake
) -> ExtBot[int]:
    """The Bot for polling and all flood-limited sending; what it fetches goes to the inbox."""
    return AfterglowBot(
        settings.token,
        base_url=settings.api_base_url,
        request=clients.bot(),
        get_updates_request=clients.updates(),
        rate_limiter=limiter,
        intake=intake,
    )


def _add_handlers(
    app: AfterglowApp, settings: Settings, staff_chats: filters.Chat, staff_users: filters.User
) -> None:
    """Register the safety gate first, then set-up, staff, question and patient handlers."""
    app.add_handlers(SAFETY_HANDLERS, group=-1)
    # Buttons of someone with no record any more (they deleted their data) do nothing.
    app.add_handlers(BUTTON_GATE, group=-1)
    app.add_handlers(setup_handlers(filters.User(user_id=settings.admin_ids), staff_chats))
    app.add_handlers(staff_handlers(staff_users, staff_chats))
    app.add_handlers(QUESTION_HANDLERS)
    app.add_handlers(QUESTIONNAIRE_HANDLERS)
    app.add_handlers(mydata_handlers())
    app.add_handlers(PATIENT_HANDLERS)
    app.add_error_handler(on_error)


async def _register_commands(app: AfterglowApp, settings: Settings) -> None:
    """Tell Telegram which commands to show patients and staff."""
    staff_menu = menu(Audience.STAFF)
    try:
        await app.bot.set_my_commands(
            menu(Audience.PATIENT), scope=BotCommandScopeAllPrivateChats()
        )
        await app.bot.set_my_commands(
            staff_menu, scope=BotCommandScopeChat(settings.staff_chat_id)
        )
        for admin in sorted(settings.admin_ids):
            await app.bot.set_my_commands(staff_menu, scope=BotCommandScopeChat(admin))
    except TelegramError as err:
        # Command menus are a convenience; a chat the bot cannot see yet must not stop it.
        log.warning("bot.commands_not_set error=%s", type(err).__name__)


def services_of(app: AfterglowApp) -> Services:
    """Return the services of a started application."""
    svc = app.bot_data.services
    if svc is None:
        raise RuntimeError("application is not initialised")
    return svc
