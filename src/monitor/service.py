"""The service: APScheduler jobs (a poll job per feed, the daily digest), signals, shutdown."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.errors import MonitorError
from monitor.feeds import is_due
from monitor.logs import log_event
from monitor.pipeline import Pipeline


def _now() -> datetime:
    return datetime.now(UTC)


class Service:
    """Runs the pipeline on a schedule until stopped."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.stopping = threading.Event()
        workers = pipeline.settings.polling.max_concurrency + 1
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            timezone=UTC,
        )

    def poll_job(self, feed_url: str) -> None:
        """Poll one feed if it is due (its backoff may say not yet)."""
        state = self.pipeline.store.get_feed(feed_url)
        now = _now()
        if state is None or not state.enabled:
            return
        if is_due(state, now):
            self.pipeline.poll_feed(state, now)

    def digest_job(self) -> None:
        try:
            self.pipeline.deliver_digest(_now())
        except MonitorError as exc:
            log_event("digest.failed", logging.ERROR, reason=str(exc))

    def schedule(self) -> None:
        """One poll job per enabled feed at its interval, and the daily digest."""
        settings = self.pipeline.settings
        polling = settings.polling
        for state in self.pipeline.store.feed_states():
            if not state.enabled:
                continue
            minutes = state.interval_minutes or polling.interval_minutes
            self.scheduler.add_job(
                self.poll_job,
                IntervalTrigger(minutes=minutes, jitter=polling.jitter_seconds or None),
                args=[state.feed_url],
                id=f"poll:{state.feed_url}",
                name=f"poll {state.feed_url}",
                next_run_time=_now(),
            )
        hour, minute = (int(part) for part in settings.digest.time.split(":"))
        zone = ZoneInfo(settings.digest.timezone)
        self.scheduler.add_job(
            self.digest_job,
            CronTrigger(hour=hour, minute=minute, timezone=zone),
            id="digest",
            name="daily digest",
        )

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log_event("service.stopping", signal=signal.Signals(signum).name)
        self.stopping.set()

    def run(self) -> None:
        """Run in the foreground until SIGTERM or SIGINT."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        resumed = self.pipeline.resume_pending(_now())
        if resumed:
            log_event("service.resumed", articles=len(resumed))
        self.schedule()
        self.scheduler.start()
        settings = self.pipeline.settings
        log_event(
            "service.started",
            feeds=len(self.scheduler.get_jobs()) - 1,
            claims=len(self.pipeline.claims),
            model=self.pipeline.matcher.name,
            digest=f"{settings.digest.time} {settings.digest.timezone}",
        )
        self.stopping.wait()
        self.scheduler.shutdown(wait=True)
        self.pipeline.close()
        log_event("service.stopped")
