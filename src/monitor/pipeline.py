"""The stages composed: poll one feed, process one article, deliver one digest.

Each step is idempotent and keyed by ids (feed URL, article id, finding ids), so running a step
twice, or after a restart, changes nothing that was already done.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import digest as digest_stage
from monitor import extract, feeds, http
from monitor.claims import load_claims
from monitor.config import Settings
from monitor.errors import DeliveryError, FeedError, FetchError, MonitorError
from monitor.keywords import KeywordGate, passes_gate
from monitor.logs import log_event
from monitor.match import Matcher, load_matcher
from monitor.store import Store
from monitor.types import Article, Claim, Entry, FeedState, Finding, HttpResponse, Stance

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class ArticleOutcome:
    """What matching one article gave: every stance, and the findings it recorded."""

    article: Article
    status: str  # matched | skipped
    stances: tuple[tuple[Claim, Stance], ...] = ()
    findings: tuple[Finding, ...] = ()
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PollSummary:
    """One line of `monitor poll --once` per feed."""

    feed_url: str
    status: int | None
    entries: int = 0
    new: int = 0
    gated_out: int = 0
    findings: int = 0
    error: str | None = None
    outcomes: tuple[ArticleOutcome, ...] = ()

    def line(self) -> str:
        if self.error:
            return f"{self.feed_url}: error: {self.error}"
        return (
            f"{self.feed_url}: status={self.status} entries={self.entries} new={self.new} "
            f"skipped_by_keywords={self.gated_out} findings={self.findings}"
        )


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    findings: int
    delivered_to: str | None = None  # "smtp host:port" or the .eml path
    dry_run_text: str | None = None
    error: str | None = None


@dataclass
class Pipeline:
    """The long-lived parts every step needs: settings, store, HTTP client, claims and model."""

    settings: Settings
    store: Store
    client: httpx.Client
    matcher: Matcher
    claims: list[Claim]
    gate: feeds.PollGate
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def open(cls, settings: Settings, matcher: Matcher | None = None) -> Pipeline:
        """Open and migrate the database, load claims and the model, sync the configured feeds."""
        store = Store(settings.database_url)
        store.upgrade()
        claims = load_claims(Path(settings.seeds_dir), settings.claims)
        store.sync_claims(claims)
        store.sync_feeds(settings.feed_sources())
        polling = settings.polling
        client = http.make_client(
            polling.user_agent, polling.connect_timeout_seconds, polling.timeout_seconds
        )
        model_dir = Path(settings.matching.model_dir) if settings.matching.model_dir else None
        return cls(
            settings=settings,
            store=store,
            client=client,
            matcher=matcher or load_matcher(model_dir),
            claims=claims,
            gate=feeds.PollGate(polling.max_concurrency, polling.per_host_concurrency),
        )

    def close(self) -> None:
        self.client.close()
        self.store.close()

    # -- polling -------------------------------------------------------------------------------

    def _interval(self, state: FeedState) -> timedelta:
        return timedelta(minutes=state.interval_minutes or self.settings.polling.interval_minutes)

    def poll_feed(self, state: FeedState, now: datetime) -> PollSummary:
        """Poll one feed, record its state, and process its new entries."""
        with self.gate.slot(state.feed_url):
            try:
                response = feeds.poll_feed(
                    self.client, state, max_bytes=self.settings.polling.max_feed_bytes, now=now
                )
            except FeedError as exc:
                return self._record_failure(state, exc, now)
        next_poll = feeds.next_poll_after_success(
            now, self._interval(state), self.settings.polling.jitter_seconds, self.rng
        )
        self.store.record_poll_success(response, now, next_poll)
        if response.new_feed_url:
            log_event("feed.moved", feed=state.feed_url, new_url=response.new_feed_url)
        if response.gone:
            log_event("feed.gone", logging.WARNING, feed=state.feed_url, status=response.status)
        if response.bozo:
            log_event("feed.malformed", feed=state.feed_url, reason=response.bozo_reason)
        new, gated_out, outcomes = self._take_entries(response.entries, response.title, now)
        findings = sum(len(outcome.findings) for outcome in outcomes)
        log_event(
            "feed.polled",
            feed=state.feed_url,
            status=response.status,
            entries=len(response.entries),
            new=new,
            findings=findings,
            ms=response.elapsed_ms,
        )
        return PollSummary(
            state.feed_url,
            response.status,
            len(response.entries),
            new,
            gated_out,
            findings,
            outcomes=tuple(outcomes),
        )

    def _record_failure(self, state: FeedState, exc: FeedError, now: datetime) -> PollSummary:
        polling = self.settings.polling
        next_poll = feeds.next_poll_after_error(
            now,
            state.error_count + 1,
            self._interval(state),
            timedelta(minutes=polling.backoff_max_minutes),
            exc.retry_after_seconds,
        )
        self.store.record_poll_error(state.feed_url, exc.reason, exc.status, now, next_poll)
        first_error = state.first_error_at or now
        failing = feeds.is_failing(first_error, now, polling.failing_after_days)
        log_event(
            "feed.failed",
            logging.WARNING,
            feed=state.feed_url,
            status=exc.status,
            errors=state.error_count + 1,
            next_poll=next_poll.isoformat(timespec="seconds"),
            failing=failing,
            reason=exc.reason,
        )
        return PollSummary(state.feed_url, exc.status, error=exc.reason)

    def _take_entries(
        self, entries: Sequence[Entry], feed_title: str | None, now: datetime
    ) -> tuple[int, int, list[ArticleOutcome]]:
        keywords = self.settings.keywords
        gate = KeywordGate(keywords.any, keywords.all, keywords.none, keywords.regex)
        new = gated_out = 0
        outcomes: list[ArticleOutcome] = []
        for entry in entries:
            if not passes_gate(f"{entry.title}\n{entry.summary}", gate):
                gated_out += 1
                continue
            article_id, is_new = self.store.add_entry(entry, now)
            if not is_new:
                continue
            new += 1
            outcome = self.process_article(article_id, entry, now, feed_title)
            if outcome is not None:
                outcomes.append(outcome)
        return new, gated_out, outcomes

    def poll_due(self, now: datetime, force: bool = False) -> list[PollSummary]:
        """Poll every due feed (every enabled feed when forced), at most N at a time."""
        states = [
            state
            for state in self.store.feed_states()
            if state.enabled and (force or feeds.is_due(state, now))
        ]
        workers = max(1, self.settings.polling.max_concurrency)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
            return list(pool.map(lambda state: self.poll_feed(state, now), states))

    def resume_pending(self, now: datetime) -> list[ArticleOutcome]:
        """Process articles stored but not matched before a crash or stop."""
        outcomes = []
        for article_id, entry in self.store.pending_articles(limit=500):
            outcome = self.process_article(article_id, entry, now)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    # -- articles ------------------------------------------------------------------------------

    def fetch_article(self, entry: Entry) -> Article:
        """Fetch the entry's page and extract its text, falling back to the feed's text."""
        extraction = self.settings.extraction
        response = None
        if entry.link:
            try:
                response = http.fetch(
                    self.client,
                    entry.link,
                    max_bytes=extraction.max_page_bytes,
                    allow_private=extraction.allow_private_addresses,
                    max_redirects=extraction.max_redirects,
                    total_timeout=extraction.timeout_seconds,
                )
            except FetchError as exc:
                log_event("page.failed", logging.WARNING, url=entry.link, reason=exc.reason)
        return extract.extract_article(response, entry, min_words=extraction.min_words)

    def process_article(
        self, article_id: int, entry: Entry, now: datetime, feed_title: str | None = None
    ) -> ArticleOutcome | None:
        """Fetch, extract and match one article against every claim; record what it found."""
        try:
            article = self.fetch_article(entry)
            if article.site_name is None and feed_title:
                # A page that gave no site name (or a feed fallback) is credited to its feed.
                article = replace(article, site_name=feed_title)
        except MonitorError as exc:
            self.store.record_article(article_id, None, "failed", str(exc), now)
            log_event("article.failed", logging.WARNING, url=entry.link, reason=str(exc))
            return None
        languages = self.settings.extraction.languages
        if article.language and article.language not in languages:
            reason = f"language {article.language} not in {','.join(languages)}"
            self.store.record_article(article_id, article, "skipped", reason, now)
            log_event("article.skipped", url=article.url, language=article.language)
            return ArticleOutcome(article, "skipped", reason=reason)
        try:
            stances = self.matcher.match(self.claims, matching_text(article))
        except MonitorError as exc:
            # The article stays stored as failed with its reason; other articles go on.
            self.store.record_article(article_id, article, "failed", str(exc), now)
            log_event("article.failed", logging.WARNING, url=article.url, reason=str(exc))
            return None
        findings = []
        for claim, stance in zip(self.claims, stances, strict=True):
            finding = self.store.record_stance(
                claim, article_id, stance, self.settings.matching.threshold, now
            )
            if finding is not None:
                findings.append(finding)
                log_event(
                    "finding.recorded",
                    claim=claim.id,
                    stance=finding.stance,
                    confidence=f"{finding.confidence:.2f}",
                    url=article.url,
                )
        self.store.record_article(article_id, article, "matched", None, now)
        log_event(
            "article.matched",
            url=article.url,
            source=article.text_source,
            findings=len(findings),
        )
        return ArticleOutcome(
            article, "matched", tuple(zip(self.claims, stances, strict=True)), tuple(findings)
        )

    # -- digest --------------------------------------------------------------------------------

    def deliver_digest(self, now: datetime, dry_run: bool = False) -> DigestOutcome:
        """Send every unsent finding; mark them sent only once the server or outbox took them."""
        findings = self.store.unsent_findings()
        if not findings:
            log_event("digest.empty")
            return DigestOutcome(0)
        config = self.settings.digest
        digest = digest_stage.build_digest(findings, now, config.subject)
        if dry_run:
            return DigestOutcome(len(findings), dry_run_text=digest.text)
        message = digest_stage.compose_message(digest, config.sender, config.recipients)
        digest_id = self.store.start_digest(digest.finding_ids, now, config.recipients)
        try:
            delivered_to = self._send(message, now)
        except DeliveryError as exc:
            self.store.mark_digest_failed(digest_id, str(exc))
            log_event("digest.failed", logging.ERROR, findings=len(findings), reason=str(exc))
            return DigestOutcome(len(findings), error=str(exc))
        self.store.mark_digest_sent(digest_id, digest.finding_ids, now)
        log_event("digest.sent", findings=len(findings), to=delivered_to)
        return DigestOutcome(len(findings), delivered_to=delivered_to)

    def _send(self, message: EmailMessage, now: datetime) -> str:
        smtp = self.settings.smtp
        if smtp is None:
            path = digest_stage.write_outbox(message, Path(self.settings.digest.outbox), now)
            return str(path)
        digest_stage.send_smtp(
            message,
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=self.settings.smtp_password,
            timeout=smtp.timeout_seconds,
        )
        return f"smtp {smtp.host}:{smtp.port}"


def matching_text(article: Article) -> str:
    """The text the matcher reads: the headline, then the body (once, if the body opens with it)."""
    if article.text.lstrip().startswith(article.title.strip()):
        return article.text
    return f"{article.title}\n{article.text}"


def read_article_file(path: Path) -> Article:
    """An article from a local file: HTML goes through extraction, anything else is plain text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MonitorError(f"{path}: cannot read article: {exc.strerror}") from exc
    head = data[:2048].lower()
    is_html = path.suffix.lower() in (".html", ".htm") or b"<html" in head or b"<!doctype" in head
    url = path.resolve().as_uri()
    if is_html:
        response = HttpResponse(url, url, 200, {"content-type": "text/html"}, data)
        entry = Entry("file", url, path.stem, url, None, "")
        return extract.extract_article(response, entry, min_words=0)
    text = data.decode("utf-8", errors="replace")
    title = text.strip().splitlines()[0] if text.strip() else path.stem
    return Article(url, title, text, None, "page")
