"""`monitor run` as a real process: it polls, stops on SIGTERM, and resumes from the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import LoopbackServer

FILLER = " ".join(["Residents of Port Vale described the night to reporters in detail."] * 10)
SEED = (
    "Harbour strike\n\n"
    "Officials said 40 people were killed when jets bombed the Port Vale harbour.\n"
)


def write_config(tmp_path: Path, feed_url: str) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"seeds_dir: {seeds}\ndatabase_url: sqlite:///{tmp_path / 'm.db'}\n"
        f"feeds:\n  - url: {feed_url}\n"
        "extraction:\n  allow_private_addresses: true\n  min_words: 10\n"
        "polling:\n  jitter_seconds: 0\n"
        f"digest:\n  outbox: {tmp_path / 'outbox'}\n",
        encoding="utf-8",
    )
    return config


def run_service(config: Path, until: tuple[str, ...], linger: float = 0.0) -> str:
    """Start the service, read its log until a line holds one of `until`, SIGTERM it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(config), "run"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if any(event in line for event in until):
            break
    time.sleep(linger)
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 0, "".join(lines) + rest
    return "".join(lines) + rest


def run_until_polled(config: Path) -> str:
    return run_service(config, ("feed.polled", "feed.failed"))


def test_service_polls_then_stops_cleanly_on_sigterm(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    http_server.add(
        "/a.html",
        f"<html><body><article><p>Jets bombed the harbour. {FILLER}</p></article></body></html>",
    )
    feed = http_server.add(
        "/feed.xml",
        "<rss version='2.0'><channel><title>t</title><item><title>Port Vale strike</title>"
        f"<link>{http_server.url('/a.html')}</link><guid>a</guid></item></channel></rss>",
    )
    log = run_until_polled(write_config(tmp_path, feed))
    assert "service.started" in log
    assert "new=1" in log
    assert "service.stopping signal=SIGTERM" in log
    assert "service.stopped" in log


def test_restarted_service_resumes_without_repeating(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    http_server.add(
        "/a.html",
        f"<html><body><article><p>Jets bombed the harbour. {FILLER}</p></article></body></html>",
    )
    feed = http_server.add(
        "/feed.xml",
        "<rss version='2.0'><channel><title>t</title><item><title>Port Vale strike</title>"
        f"<link>{http_server.url('/a.html')}</link><guid>a</guid></item></channel></rss>",
    )
    config = write_config(tmp_path, feed)
    run_until_polled(config)
    # The restart happens before the feed is due again: the service must not poll it at all.
    second = run_until_polled_or_idle(config)
    assert "new=1" not in second
    assert len(http_server.hits("/a.html")) == 1


def run_until_polled_or_idle(config: Path) -> str:
    return run_service(config, ("service.started",), linger=2.0)


def test_digest_job_fires_daily_at_local_time_and_feeds_get_poll_jobs(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    from datetime import UTC, datetime

    from monitor.config import parse_settings
    from monitor.pipeline import Pipeline
    from monitor.service import Service

    feed = http_server.add(
        "/feed.xml", "<rss version='2.0'><channel><title>t</title></channel></rss>"
    )
    config = write_config(tmp_path, feed)
    text = config.read_text() + '  time: "07:30"\n  timezone: America/New_York\n'
    service = Service(Pipeline.open(parse_settings(text, str(config), {})))
    try:
        service.schedule()
        jobs = {job.id: job for job in service.scheduler.get_jobs()}
        trigger = jobs["digest"].trigger
        fire = trigger.get_next_fire_time(None, datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    finally:
        service.pipeline.close()
    assert set(jobs) == {"digest", f"poll:{feed}"}
    # 07:30 in New York in July (EDT, UTC-4) is 11:30 UTC; noon UTC is past it, so the next day.
    assert fire.astimezone(UTC) == datetime(2026, 7, 2, 11, 30, tzinfo=UTC)
