"""The typed values that pass between stages: one vocabulary for the whole pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

StanceLabel = Literal["corroborates", "contradicts", "discusses", "unrelated"]
STANCE_LABELS: tuple[StanceLabel, ...] = ("corroborates", "contradicts", "discusses", "unrelated")
TextSource = Literal["page", "feed"]


@dataclass(frozen=True, slots=True)
class Claim:
    """A checkable sentence taken from a seed document or pinned in the config."""

    id: str
    text: str
    source: str  # seed file name, or "config" for a pinned claim


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A feed the user asked to watch (from the YAML or an OPML import)."""

    feed_url: str
    title: str | None = None
    interval_minutes: int | None = None  # None: the config's default interval
    origin: Literal["config", "opml"] = "config"


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers of a feed between polls."""

    feed_url: str
    title: str | None
    enabled: bool
    etag: str | None
    last_modified: str | None
    last_polled: datetime | None
    last_status: int | None
    last_success: datetime | None
    error_count: int
    first_error_at: datetime | None
    last_error: str | None
    next_poll: datetime | None
    entries: int = 0
    interval_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One finished HTTP exchange, body already read and capped."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    permanent_redirect: str | None = None  # set when every hop was a 301/308
    elapsed_ms: int = 0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, reduced to what later stages need."""

    feed_url: str
    entry_id: str  # identity: guid, else canonical link, else content hash
    title: str
    link: str | None  # canonical link, tracking parameters stripped
    published: datetime | None
    summary: str  # plain text of the entry's content or summary
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class FeedResponse:
    """The outcome of one successful poll of one feed."""

    feed_url: str
    status: int
    not_modified: bool
    entries: tuple[Entry, ...]
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    new_feed_url: str | None = None  # set after a 301/308
    bozo: bool = False
    bozo_reason: str | None = None
    elapsed_ms: int = 0
    gone: bool = False  # 410: the feed should be disabled


@dataclass(frozen=True, slots=True)
class Article:
    """The text of a story, from its page or, when the page fails, from its feed entry."""

    url: str
    title: str
    text: str
    published: datetime | None
    text_source: TextSource
    site_name: str | None = None
    author: str | None = None
    language: str | None = None
    fallback_reason: str | None = None  # why the feed text was used instead of the page


@dataclass(frozen=True, slots=True)
class Stance:
    """The stance of one article toward one claim."""

    label: StanceLabel
    confidence: float  # in [0, 1]
    evidence: tuple[str, ...] = ()
    reason: str | None = None  # set when the pair was skipped (empty text, other language)


@dataclass(frozen=True, slots=True)
class Finding:
    """A corroboration or contradiction worth telling the user about."""

    claim_id: str
    claim_text: str
    article_url: str
    headline: str
    outlet: str | None
    published: datetime | None
    stance: StanceLabel
    confidence: float
    evidence: tuple[str, ...]
    found_at: datetime
    id: int | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    """One message: the findings it carries, grouped by claim when rendered."""

    findings: tuple[Finding, ...]
    created_at: datetime
    subject: str
    text: str = ""
    html: str = ""
    finding_ids: tuple[int, ...] = field(default=())
