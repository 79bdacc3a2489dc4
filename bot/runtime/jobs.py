"""The one repeating job: it wakes the dispatcher; the database says what is due."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from bot.runtime.backups import CHECK_EVERY, Backups
from bot.services.container import Services
from handlers import AfterglowApp, Context

log = logging.getLogger(__name__)

DISPATCH_JOB = "dispatcher"
_T = TypeVar("_T")


async def dispatch_once(svc: Services, *, leading: bool = True) -> None:
    """One pass of the job: waiting crisis messages, alerts, due check-ins, the detector.

    Each step runs even if an earlier one failed: a failing alert send must not hold up the
    check-ins, nor a failing check-in pass the alerts. The pass first records its heartbeat,
    which the container's health check reads. Every instance sharing the database runs the
    steps that claim their rows; only the leader plans questionnaires and checks silences.
    """
    await _step("heartbeat", svc.storage.clinic.record_heartbeat(svc.clock.now()))
    await _step("urgent", svc.urgent.deliver_due())
    await _step("strangers", svc.safety.flush_digest())
    await _step("questions", svc.questions.tend())
    await _step("alerts", svc.alerts.deliver())
    report = await _step("dispatch", svc.dispatcher.tick())
    if report is not None:
        await _step("trends", svc.trends.review_many(report.patients_with_misses))
    await _step("alerts", svc.alerts.deliver())
    await _step("explainers", svc.education.deliver_waiting())
    if leading:
        await _step("questionnaires", svc.questionnaire_plan.tend())
        await _step("silence", svc.silence.check())


async def _step(name: str, work: Awaitable[_T]) -> _T | None:
    """Await one step of the job, logging (not raising) its failure."""
    try:
        return await work
    except Exception:
        log.exception("dispatch.step_failed step=%s", name)
        return None


def schedule_dispatch(
    app: AfterglowApp,
    *,
    interval: float,
    leading: Callable[[], bool] = lambda: True,
    before: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Run the dispatcher once now and then every `interval` seconds.

    `leading` tells each pass whether this instance runs the leader's steps; `before` runs
    first (the runtime's part: what a dead instance left, this instance's share of sending).

    A repeating job's first run would be skipped at start-up: the scheduler starts after
    post_init and APScheduler then moves "first=0" to the next interval. So the start-up
    pass is a one-off job of its own. APScheduler's default misfire grace (1 s) would drop
    a late pass; the database keeps what is due, so a late pass simply runs.
    """

    async def dispatch(context: Context) -> None:
        svc = context.bot_data.services
        if svc is None:
            return
        if before is not None:
            await _step("instances", before())
        await dispatch_once(svc, leading=leading())

    if app.job_queue is None:
        raise RuntimeError("the job-queue extra of python-telegram-bot is required")
    job_kwargs = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    app.job_queue.run_once(dispatch, when=0, name=f"{DISPATCH_JOB}-startup")
    app.job_queue.run_repeating(
        dispatch, interval=interval, first=interval, name=DISPATCH_JOB, job_kwargs=job_kwargs
    )


PURGE_JOB = "inbox-purge"
PURGE_EVERY = 3600.0


class _Purger(Protocol):
    async def purge(self) -> int:
        """Delete what was handled long enough ago."""
        ...


def schedule_purge(app: AfterglowApp, purgers: Sequence[_Purger]) -> None:
    """Each hour, let every purger drop what it no longer keeps.

    The inbox and the urgent outbox drop what was handled a day ago; the privacy service
    drops check-in data older than AFTERGLOW_RETENTION_DAYS (it works once a day).
    """

    async def purge(context: Context) -> None:
        del context
        for purger in purgers:
            try:
                removed = await purger.purge()
            except Exception:
                log.exception("purge.failed what=%s", type(purger).__name__)
                continue
            if removed:
                log.info("purge.done what=%s count=%d", type(purger).__name__, removed)

    if app.job_queue is None:
        raise RuntimeError("the job-queue extra of python-telegram-bot is required")
    app.job_queue.run_repeating(purge, interval=PURGE_EVERY, first=PURGE_EVERY, name=PURGE_JOB)


BACKUP_JOB = "backup"
BACKUP_FIRST = 60.0


def schedule_backups(app: AfterglowApp, backups: Backups) -> None:
    """Look every hour (first a minute after start) whether a day's backup is due."""

    async def backup(context: Context) -> None:
        del context
        await backups.run_if_due()

    if app.job_queue is None:
        raise RuntimeError("the job-queue extra of python-telegram-bot is required")
    app.job_queue.run_repeating(
        backup,
        interval=CHECK_EVERY.total_seconds(),
        first=BACKUP_FIRST,
        name=BACKUP_JOB,
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
