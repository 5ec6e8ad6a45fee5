"""One poll of one feed: conditional GET, status handling, parsing, entry identity, scheduling."""

from __future__ import annotations

import calendar
import hashlib
import io
import random
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import feedparser
import httpx

from monitor.errors import FeedError, FetchError
from monitor.http import fetch
from monitor.types import Entry, FeedResponse, FeedState

# Query parameters that only tell the publisher where a click came from (utm_* besides).
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "_ga"}  # ad and click ids
    | {"mc_cid", "mc_eid"}  # Mailchimp
    | {"ref", "ref_src"}  # referrers
)
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
RETRY_AFTER_STATUSES = frozenset({429, 503})
_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr"}
)
_SKIP_TAGS = frozenset({"script", "style", "template"})


# --- polling ---------------------------------------------------------------------------------


def poll_feed(
    client: httpx.Client, state: FeedState, *, max_bytes: int, now: datetime
) -> FeedResponse:
    """Fetch a feed with a conditional GET and turn the answer into a FeedResponse."""
    request_headers = {"Accept": FEED_ACCEPT}
    if state.etag:
        request_headers["If-None-Match"] = state.etag
    if state.last_modified:
        request_headers["If-Modified-Since"] = state.last_modified
    try:
        response = fetch(client, state.feed_url, max_bytes=max_bytes, headers=request_headers)
    except FetchError as exc:
        where = "" if exc.url == state.feed_url else f" (at {exc.url})"
        raise FeedError(state.feed_url, exc.reason + where, exc.status) from exc
    status = response.status
    common: dict[str, Any] = {
        "feed_url": state.feed_url,
        "status": status,
        "etag": response.headers.get("etag") or None,
        "last_modified": response.headers.get("last-modified") or None,
        "new_feed_url": response.permanent_redirect,
        "elapsed_ms": response.elapsed_ms,
    }
    if status == 304:
        # A 304 may omit the validators; the ones we sent still hold.
        common["etag"] = common["etag"] or state.etag
        common["last_modified"] = common["last_modified"] or state.last_modified
        return FeedResponse(not_modified=True, entries=(), **common)
    if status == 410:
        return FeedResponse(not_modified=False, entries=(), gone=True, **common)
    if status in RETRY_AFTER_STATUSES:
        wait = parse_retry_after(response.headers.get("retry-after"), now)
        raise FeedError(state.feed_url, f"HTTP {status}", status, retry_after_seconds=wait)
    if not 200 <= status < 300:
        raise FeedError(state.feed_url, f"HTTP {status}", status)
    parse_headers = dict(response.headers)
    parse_headers["content-location"] = base_url(
        response.final_url, response.headers.get("content-location")
    )
    title, entries, bozo, bozo_reason = parse_feed(state.feed_url, response.body, parse_headers)
    return FeedResponse(
        not_modified=False,
        entries=entries,
        title=title,
        bozo=bozo,
        bozo_reason=bozo_reason,
        **common,
    )


def base_url(feed_url: str, content_location: str | None) -> str:
    """The base for relative links: an http(s) Content-Location, else the feed's own URL."""
    if content_location and content_location.strip():
        joined = urljoin(feed_url, content_location.strip())
        if urlsplit(joined).scheme in ("http", "https"):
            return joined
    return feed_url


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


# --- parsing ---------------------------------------------------------------------------------


def parse_feed(
    feed_url: str, body: bytes, headers: dict[str, str]
) -> tuple[str | None, tuple[Entry, ...], bool, str | None]:
    """Parse feed bytes into (title, entries, bozo, bozo_reason); FeedError when not a feed."""
    if not body.strip():
        raise FeedError(feed_url, "not a feed: empty body")
    response_headers = {name.lower(): value for name, value in headers.items()}
    # Relative links resolve against the feed's own URL unless the server named another base.
    response_headers["content-location"] = base_url(
        feed_url, response_headers.get("content-location")
    )
    result = feedparser.parse(io.BytesIO(body), response_headers=response_headers)
    # An HTML page parses as a versionless "feed" with neither entries nor a title.
    if not (result.get("version") or result.entries or result.feed.get("title")):
        reason = _not_a_feed_reason(body, response_headers)
        alternates = [
            link.get("href")
            for link in result.feed.get("links", ())
            if link.get("rel") == "alternate" and "xml" in (link.get("type") or "")
        ]
        if alternates:
            reason += f" (the page names a feed: {alternates[0]})"
        raise FeedError(feed_url, reason)
    entries = tuple(_entry_from(feed_url, raw) for raw in result.entries)
    title = _text_of(result.feed.get("title_detail")) or None
    bozo = bool(result.get("bozo"))
    bozo_reason = _bozo_reason(result.get("bozo_exception")) if bozo else None
    return title, entries, bozo, bozo_reason


def _not_a_feed_reason(body: bytes, headers: dict[str, str]) -> str:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    head = body[:1024].lstrip().lower()
    if content_type in HTML_TYPES or head.startswith((b"<!doctype html", b"<html")):
        return f"not a feed: got {content_type or 'text/html'} page"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"not a feed: got binary data ({content_type or 'no content type'})"
    return f"not a feed: no RSS, Atom or RDF content (got {content_type or 'no content type'})"


def _bozo_reason(exc: object) -> str:
    if exc is None:
        return "malformed feed"
    return f"{type(exc).__name__}: {exc}"


def _entry_from(feed_url: str, raw: Any) -> Entry:
    title = _text_of(raw.get("title_detail")) or _plain(raw.get("title", ""))
    raw_link = raw.get("link")
    link = canonical_link(raw_link) if isinstance(raw_link, str) and raw_link.strip() else None
    published = _as_datetime(raw.get("published_parsed") or raw.get("updated_parsed"))
    summary = _summary_of(raw)
    guid = raw.get("id")
    return Entry(
        feed_url=feed_url,
        entry_id=entry_identity(
            guid if isinstance(guid, str) else None, link, title, published, summary
        ),
        title=title,
        link=link,
        published=published,
        summary=summary,
        content_hash=_sha256(f"{title}\n{summary}"),
    )


def _summary_of(raw: Any) -> str:
    for content in raw.get("content") or ():
        text = _text_of(content)
        if text:
            return text
    return _text_of(raw.get("summary_detail")) or _plain(raw.get("summary", ""))


def _text_of(detail: Any) -> str:
    """Plain text of a feedparser text construct: HTML stripped only when it is HTML."""
    if not detail:
        return ""
    value = detail.get("value") or ""
    if detail.get("type") in HTML_TYPES:
        return _plain(value)
    return " ".join(value.split())


def _plain(markup: str) -> str:
    stripper = _TextStripper()
    stripper.feed(markup)
    stripper.close()
    return " ".join("".join(stripper.parts).split())


class _TextStripper(HTMLParser):
    """Collects the text of an HTML fragment, with spaces where blocks break."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skipping:
            self._skipping -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _as_datetime(parsed: Any) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None when absent or impossible."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- identity --------------------------------------------------------------------------------


def entry_identity(
    guid: str | None,
    link: str | None,
    title: str,
    published: datetime | None,
    summary: str,
) -> str:
    """The entry's id: its guid, else its canonical link, else a hash of its content."""
    if guid and guid.strip():
        return guid.strip()
    if link and link.strip():
        return canonical_link(link)
    stamp = published.isoformat() if published else ""
    return "sha256:" + _sha256(f"{title}\n{stamp}\n{summary}")


def _is_tracking_param(name: str) -> bool:
    key = unquote(name).strip().lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


def canonical_link(url: str) -> str:
    """The link with tracking parameters and fragment dropped and scheme and host lower-cased."""
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo}{at}{hostport.lower()}"
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and not _is_tracking_param(pair.split("=", 1)[0])
    ]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, "&".join(kept), ""))


# --- scheduling ------------------------------------------------------------------------------


def is_due(state: FeedState, now: datetime) -> bool:
    """True when the feed is enabled and its next poll time has come."""
    return state.enabled and (state.next_poll is None or state.next_poll <= now)


def next_poll_after_success(
    now: datetime, interval: timedelta, jitter_seconds: int, rng: random.Random
) -> datetime:
    """The next poll: one interval on, plus up to `jitter_seconds` so feeds spread out."""
    return now + interval + timedelta(seconds=rng.uniform(0, jitter_seconds))


def next_poll_after_error(
    now: datetime,
    error_count: int,
    interval: timedelta,
    cap: timedelta,
    retry_after_seconds: float | None,
) -> datetime:
    """Back off `interval * 2**(error_count - 1)` up to `cap`; a later Retry-After wins."""
    exponent = min(max(error_count, 1) - 1, 62)  # past the cap anyway; keeps floats finite
    backoff = min(interval.total_seconds() * 2.0**exponent, cap.total_seconds())
    if retry_after_seconds is not None:
        # A server's pause is honoured, up to the cap: a wild Retry-After must not stop a feed.
        backoff = max(backoff, min(retry_after_seconds, cap.total_seconds()))
    return now + timedelta(seconds=backoff)


def is_failing(first_error_at: datetime | None, now: datetime, days: int) -> bool:
    """True when a feed has failed without a success for at least `days` days."""
    return first_error_at is not None and now - first_error_at >= timedelta(days=days)


class PollGate:
    """Limits polls: `max_concurrency` in all, `per_host` per host, one at a time per feed."""

    def __init__(self, max_concurrency: int, per_host: int) -> None:
        self._all = threading.BoundedSemaphore(max_concurrency)
        self._per_host = per_host
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._feeds: dict[str, threading.Lock] = {}

    def _locks_for(self, feed_url: str) -> tuple[threading.Lock, threading.BoundedSemaphore]:
        host = (urlsplit(feed_url).hostname or "").lower()
        with self._lock:
            feed_lock = self._feeds.setdefault(feed_url, threading.Lock())
            if host not in self._hosts:
                self._hosts[host] = threading.BoundedSemaphore(self._per_host)
            return feed_lock, self._hosts[host]

    @contextmanager
    def slot(self, feed_url: str) -> Iterator[None]:
        """Wait until `feed_url` may be polled, and hold its place while the block runs."""
        feed_lock, host_slots = self._locks_for(feed_url)
        # Always feed, then host, then global: one order, so no two threads wait on each other.
        with ExitStack() as held:
            held.enter_context(feed_lock)
            held.enter_context(host_slots)
            held.enter_context(self._all)
            yield
