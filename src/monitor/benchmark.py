"""`monitor bench`: time the whole pipeline on synthetic feeds and pages served on loopback.

The feeds and pages come from `benchmark_corpus`, generated in memory from a fixed seed, so two runs
see the same stories and time the same work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import resource
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit

from monitor import extract
from monitor.benchmark_corpus import (
    DEFAULT_SEED,
    SyntheticFeed,
    build_feeds,
    render_feed,
    render_page,
)
from monitor.config import load_settings
from monitor.demo import DemoFile, demo_keywords, is_not_modified
from monitor.demo_cycle import bundled_seeds_dir
from monitor.pipeline import Pipeline, matching_text
from monitor.types import Entry, HttpResponse

DEFAULT_STAGE_SAMPLE = 30  # pages timed outside the pipeline; matching is the slow stage
FEED_TYPES = {False: "application/rss+xml", True: "application/atom+xml"}
PAGE_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class BenchmarkResult:
    """What one benchmark run measured; seconds are wall-clock."""

    feeds: int
    entries: int
    articles: int  # entries that passed the keyword gate and went through the pipeline
    claims: int
    cold_seconds: float  # first poll of every feed: fetch, parse, extract, match, store
    articles_per_second: float
    warm_poll_seconds: float  # second poll of every feed, every one answered 304
    extract_ms_per_page: float
    match_ms_per_article: float
    digest_seconds: float
    findings: int
    peak_rss_mb: float
    open_seconds: float = 0.0  # migrate the database, load claims and the model
    matcher: str = ""
    stage_sample: int = 0  # pages timed outside the pipeline for extract and match
    feed_errors: int = 0
    warm_not_modified: int = 0  # feeds that answered the warm poll with 304
    warm_page_requests: int = 0  # article pages requested during the warm poll


def _served(body: bytes, content_type: str, modified: datetime) -> DemoFile:
    etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"'
    modified = modified.replace(microsecond=0)
    return DemoFile(body, content_type, etag, format_datetime(modified, usegmt=True), modified)


class _BenchServer:
    """A loopback server for the synthetic files that records the path and status of every hit."""

    def __init__(self) -> None:
        self.files: dict[str, DemoFile] = {}
        self.hits: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                served = server.files.get(path)
                request_headers = {name.lower(): value for name, value in self.headers.items()}
                if served is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found\n"
                elif is_not_modified(served, request_headers):
                    status, headers, body = 304, {"ETag": served.etag}, b""
                else:
                    headers = {"Content-Type": served.content_type, "ETag": served.etag}
                    status, body = 200, served.body
                    headers["Last-Modified"] = served.last_modified
                with server._lock:
                    server.hits.append((path, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # thousands of requests; the benchmark reports counts instead

        return Handler

    @contextmanager
    def running(self) -> Iterator[_BenchServer]:
        thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join()

    def mark(self) -> int:
        with self._lock:
            return len(self.hits)

    def hits_since(self, mark: int) -> list[tuple[str, int]]:
        with self._lock:
            return self.hits[mark:]


def _publish(server: _BenchServer, synthetic: list[SyntheticFeed], now: datetime) -> None:
    for feed in synthetic:
        body = render_feed(feed, server.base_url)
        server.files[feed.path] = _served(body, FEED_TYPES[feed.atom], now)
        for story in feed.stories:
            page = render_page(story, feed.outlet, server.base_url)
            server.files[story.path] = _served(page, PAGE_TYPE, story.published)


def write_config(workdir: Path, base_url: str, synthetic: list[SyntheticFeed]) -> Path:
    """The benchmark's config: loopback feeds, the bundled seed, SQLite and outbox in `workdir`."""
    feeds = "".join(
        f"  - url: {json.dumps(base_url + feed.path)}\n    title: {json.dumps(feed.outlet)}\n"
        for feed in synthetic
    )
    keywords = "".join(f"    - {json.dumps(word)}\n" for word in demo_keywords()["any"])
    # JSON strings are valid YAML scalars, which quotes paths and URLs without a YAML writer.
    text = f"""\
seeds_dir: {json.dumps(bundled_seeds_dir().resolve().as_posix())}
database_url: {json.dumps("sqlite:///" + (workdir / "bench.db").as_posix())}
log_level: WARNING
keywords:
  any:
{keywords}feeds:
{feeds}polling:
  jitter_seconds: 0
extraction:
  allow_private_addresses: true
  languages: ["en"]
digest:
  outbox: {json.dumps((workdir / "outbox").as_posix())}
  recipients: ["newsroom@example.invalid"]
  subject: "claim-monitor benchmark digest"
"""
    path = workdir / "bench.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def peak_rss_mb() -> float:
    """The most resident memory this process has used, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


@dataclass(frozen=True, slots=True)
class _StageTimes:
    extract_ms: float = 0.0  # per page
    match_ms: float = 0.0  # per article
    sample: int = 0


def _time_stages(
    pipeline: Pipeline, server: _BenchServer, synthetic: list[SyntheticFeed], sample: int
) -> _StageTimes:
    """Extraction per page and matching per article, timed apart over a sample spread out."""
    stories = [(feed, s) for feed in synthetic for s in feed.stories if s.on_topic]
    chosen = stories[:: max(1, len(stories) // sample)][:sample] if sample > 0 else []
    if not chosen:
        return _StageTimes()
    min_words = pipeline.settings.extraction.min_words
    articles = []
    started = perf_counter()
    for feed, story in chosen:
        url, body = server.base_url + story.path, server.files[story.path].body
        response = HttpResponse(url, url, 200, {"content-type": PAGE_TYPE}, body)
        feed_url = server.base_url + feed.path
        entry = Entry(feed_url, url, story.title, url, story.published, story.summary)
        articles.append(extract.extract_article(response, entry, min_words=min_words))
    extract_ms = (perf_counter() - started) * 1000 / len(chosen)
    started = perf_counter()
    for article in articles:
        pipeline.matcher.match(pipeline.claims, matching_text(article))
    match_ms = (perf_counter() - started) * 1000 / len(chosen)
    return _StageTimes(extract_ms, match_ms, len(chosen))


@dataclass(frozen=True, slots=True)
class _PipelineTimes:
    articles: int
    findings: int
    feed_errors: int
    cold_seconds: float
    warm_poll_seconds: float
    warm_not_modified: int
    warm_page_requests: int
    digest_seconds: float


def _time_pipeline(
    pipeline: Pipeline, server: _BenchServer, now: datetime, say: Callable[[str], None]
) -> _PipelineTimes:
    """Cold poll, warm poll and digest, each timed, with the counts that go with them."""
    started = perf_counter()
    cold = pipeline.poll_due(now, force=True)
    cold_seconds = perf_counter() - started
    articles = sum(summary.new for summary in cold)
    say(f"cold poll: {articles} articles in {cold_seconds:.1f} s")
    mark = server.mark()
    started = perf_counter()
    warm = pipeline.poll_due(now + timedelta(minutes=1), force=True)
    warm_seconds = perf_counter() - started
    warm_hits = server.hits_since(mark)
    say(f"warm poll: {len(warm_hits)} requests in {warm_seconds:.2f} s")
    started = perf_counter()
    digest = pipeline.deliver_digest(now)
    digest_seconds = perf_counter() - started
    say(f"digest: {digest.findings} findings in {digest_seconds:.2f} s")
    return _PipelineTimes(
        articles=articles,
        findings=sum(summary.findings for summary in cold),
        feed_errors=sum(summary.error is not None for summary in cold),
        cold_seconds=cold_seconds,
        warm_poll_seconds=warm_seconds,
        warm_not_modified=sum(summary.status == 304 for summary in warm),
        warm_page_requests=sum(path.startswith("/pages/") for path, _ in warm_hits),
        digest_seconds=digest_seconds,
    )


def _result(
    synthetic: list[SyntheticFeed],
    pipeline: Pipeline,
    open_seconds: float,
    timed: _PipelineTimes,
    stages: _StageTimes,
) -> BenchmarkResult:
    cold = timed.cold_seconds
    return BenchmarkResult(
        feeds=len(synthetic),
        entries=sum(len(feed.stories) for feed in synthetic),
        articles=timed.articles,
        claims=len(pipeline.claims),
        cold_seconds=cold,
        articles_per_second=timed.articles / cold if cold else 0.0,
        warm_poll_seconds=timed.warm_poll_seconds,
        extract_ms_per_page=stages.extract_ms,
        match_ms_per_article=stages.match_ms,
        digest_seconds=timed.digest_seconds,
        findings=timed.findings,
        peak_rss_mb=peak_rss_mb(),
        open_seconds=open_seconds,
        matcher=pipeline.matcher.name,
        stage_sample=stages.sample,
        feed_errors=timed.feed_errors,
        warm_not_modified=timed.warm_not_modified,
        warm_page_requests=timed.warm_page_requests,
    )


def run_benchmark(
    workdir: Path,
    *,
    feeds: int = 20,
    entries_per_feed: int = 25,
    now: datetime,
    progress: Callable[[str], None] | None = None,
    seed: int = DEFAULT_SEED,
    stage_sample: int = DEFAULT_STAGE_SAMPLE,
) -> BenchmarkResult:
    """Serve synthetic feeds on loopback and time a cold poll, a warm poll and the digest."""
    say = progress or (lambda _message: None)
    workdir.mkdir(parents=True, exist_ok=True)
    now = now.astimezone(UTC)
    synthetic = build_feeds(feeds, entries_per_feed, now, seed)
    server = _BenchServer()
    _publish(server, synthetic, now)
    with server.running():
        settings = load_settings(write_config(workdir, server.base_url, synthetic))
        say(f"serving {feeds} feeds and {feeds * entries_per_feed} pages at {server.base_url}")
        started = perf_counter()
        pipeline = Pipeline.open(settings)
        open_seconds = perf_counter() - started
        say(f"opened the pipeline in {open_seconds:.1f} s (matcher {pipeline.matcher.name})")
        try:
            timed = _time_pipeline(pipeline, server, now, say)
            stages = _time_stages(pipeline, server, synthetic, stage_sample)
            say(f"stages: extract {stages.extract_ms:.1f} ms/page, match {stages.match_ms:.0f} ms")
            return _result(synthetic, pipeline, open_seconds, timed, stages)
        finally:
            pipeline.close()


def format_benchmark(result: BenchmarkResult) -> str:
    """The result as aligned lines: a label, a figure and its unit."""
    rows = [
        ("feeds", f"{result.feeds}", f"({result.feed_errors} failed)"),
        ("entries", f"{result.entries}", ""),
        ("articles", f"{result.articles}", "passed the keyword gate"),
        ("claims", f"{result.claims}", ""),
        ("open", f"{result.open_seconds:.2f}", f"s (matcher {result.matcher})"),
        ("cold poll", f"{result.cold_seconds:.2f}", "s fetch+parse+extract+match+store"),
        ("throughput", f"{result.articles_per_second:.2f}", "articles/s"),
        (
            "warm poll",
            f"{result.warm_poll_seconds:.3f}",
            f"s ({result.warm_not_modified} feeds 304, {result.warm_page_requests} pages fetched)",
        ),
        ("extract", f"{result.extract_ms_per_page:.1f}", f"ms/page ({result.stage_sample} pages)"),
        ("match", f"{result.match_ms_per_article:.1f}", f"ms/article ({result.stage_sample})"),
        ("digest", f"{result.digest_seconds:.3f}", "s"),
        ("findings", f"{result.findings}", ""),
        ("peak RSS", f"{result.peak_rss_mb:.1f}", "MiB"),
    ]
    return "\n".join(f"{label:<11} {figure:>10}  {unit}".rstrip() for label, figure, unit in rows)


def benchmark_as_dict(result: BenchmarkResult) -> dict[str, Any]:
    """The result as plain JSON-ready values, floats rounded to what the timer can tell."""
    values = dataclasses.asdict(result)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}
