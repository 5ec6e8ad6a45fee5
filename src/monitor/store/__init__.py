"""The database: SQLAlchemy 2.0 typed models and the queries every stage needs.

ORM rows never leave this package; callers get the values of `monitor.types`. Tables are created
only by the Alembic migrations in `monitor/migrations`, so an installed service upgrades itself.
`models` holds the tables, `feeds` the feed and article queries, `findings` the claim, finding and
digest queries; `Store` opens one transaction per call and hands it to them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, func, make_url, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.store import feeds, findings
from monitor.store.feeds import ArticleStatus
from monitor.store.models import (
    ArticleRow,
    Base,
    ClaimRow,
    DigestRow,
    FeedRow,
    FindingRow,
    RelationRow,
)
from monitor.types import (
    Article,
    Claim,
    Entry,
    FeedResponse,
    FeedSource,
    FeedState,
    Finding,
    Stance,
)

__all__ = ["ArticleStatus", "Base", "Store"]


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the supported driver
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the digest read while a poll writes; busy_timeout waits out short write locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """One database, reached through any SQLAlchemy URL (SQLite file by default)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = _engine(url)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # -- schema ---------------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Run the Alembic migrations up to the newest revision."""
        config = Config()
        config.set_main_option("script_location", "monitor:migrations")
        with self._engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, None before the first upgrade."""
        with self._engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    # -- feeds ----------------------------------------------------------------------------------

    def sync_feeds(self, sources: Sequence[FeedSource]) -> None:
        """Make the feed table match the config: add new feeds, disable config feeds now gone."""
        with self._session() as session:
            feeds.sync_feeds(session, sources)

    def add_feed(self, source: FeedSource) -> None:
        """Add one feed, or update the title and interval of a known one."""
        with self._session() as session:
            feeds.upsert_feed(session, source)

    def feed_states(self) -> list[FeedState]:
        """Every feed with its poll state and the number of entries seen through it."""
        with self._session() as session:
            counts = feeds.entry_counts(session)
        with self._session() as session:
            return feeds.feed_states(session, counts)

    def get_feed(self, feed_url: str) -> FeedState | None:
        """The state of one feed, by its current URL."""
        with self._session() as session:
            return feeds.get_feed(session, feed_url)

    def record_poll_success(
        self, response: FeedResponse, now: datetime, next_poll: datetime | None
    ) -> None:
        """Remember a successful poll: validators, status, title; errors are cleared."""
        with self._session() as session:
            feeds.record_poll_success(session, response, now, next_poll)

    def record_poll_error(
        self,
        feed_url: str,
        reason: str,
        status: int | None,
        now: datetime,
        next_poll: datetime | None,
    ) -> None:
        """Count one failed poll; the first failure's time is kept until a success."""
        with self._session() as session:
            feeds.record_poll_error(session, feed_url, reason, status, now, next_poll)

    # -- articles -------------------------------------------------------------------------------

    def add_entry(self, entry: Entry, now: datetime) -> tuple[int, bool]:
        """Store a feed entry; returns (article id, True when the story is new)."""
        for _attempt in range(3):
            try:
                with self._session() as session:
                    return feeds.add_entry(session, entry, now)
            except IntegrityError:
                continue  # another worker stored the same story first: look again
        raise RuntimeError(f"entry {entry.entry_id} of {entry.feed_url} kept conflicting")

    def pending_articles(self, limit: int = 100) -> list[tuple[int, Entry]]:
        """Articles stored but not yet processed, oldest first, as the entries they came from."""
        with self._session() as session:
            return feeds.pending_articles(session, limit)

    def record_article(
        self,
        article_id: int,
        article: Article | None,
        status: ArticleStatus,
        reason: str | None,
        now: datetime,
    ) -> None:
        """Record what processing made of an article (None when no text was had) and the outcome."""
        with self._session() as session:
            feeds.record_article(session, article_id, article, status, reason, now)

    # -- claims and findings --------------------------------------------------------------------

    def sync_claims(self, claims: Sequence[Claim]) -> None:
        """Make the active claims exactly these; claims no longer listed are kept, inactive."""
        with self._session() as session:
            findings.sync_claims(session, claims)

    def claims(self) -> list[Claim]:
        """The active claims, by id."""
        with self._session() as session:
            return findings.active_claims(session)

    def record_stance(
        self, claim: Claim, article_id: int, stance: Stance, threshold: float, now: datetime
    ) -> Finding | None:
        """Keep a related stance; return the new Finding when it is one, None if already known."""
        if stance.label == "unrelated":
            return None
        with self._session() as session:
            return findings.record_stance(session, claim, article_id, stance, threshold, now)

    def findings(self, claim_id: str | None = None, since: datetime | None = None) -> list[Finding]:
        """Findings, oldest first, optionally of one claim or found since a time."""
        with self._session() as session:
            return findings.load_findings(session, claim_id, since)

    def unsent_findings(self) -> list[Finding]:
        """Every finding no digest has carried yet, however old."""
        with self._session() as session:
            return findings.unsent_findings(session)

    # -- digests --------------------------------------------------------------------------------

    def start_digest(
        self, finding_ids: Sequence[int], now: datetime, recipients: Sequence[str] = ()
    ) -> int:
        """Open a digest record before sending; returns its id."""
        with self._session() as session:
            return findings.start_digest(session, finding_ids, now, recipients)

    def mark_digest_sent(self, digest_id: int, finding_ids: Sequence[int], now: datetime) -> int:
        """After the server accepted the digest: mark its findings sent, in one transaction."""
        with self._session() as session:
            return findings.mark_digest_sent(session, digest_id, finding_ids, now)

    def mark_digest_failed(self, digest_id: int, error: str) -> None:
        """Record why a digest was not delivered; its findings stay unsent."""
        with self._session() as session:
            findings.mark_digest_failed(session, digest_id, error)

    def stats(self) -> dict[str, int]:
        """Counts for `monitor check` and the logs."""
        counts: dict[str, int] = {}
        with self._session() as session:
            for name, model in (
                ("feeds", FeedRow),
                ("articles", ArticleRow),
                ("claims", ClaimRow),
                ("relations", RelationRow),
                ("findings", FindingRow),
                ("digests", DigestRow),
            ):
                counts[name] = session.scalar(select(func.count()).select_from(model)) or 0
            for label, condition in (
                ("feeds_enabled", FeedRow.enabled),
                ("feeds_failing", FeedRow.error_count > 0),
                ("claims_active", ClaimRow.active),
                ("findings_unsent", FindingRow.sent_at.is_(None)),
            ):
                counts[label] = session.scalar(select(func.count()).where(condition)) or 0
            for status, number in session.execute(
                select(ArticleRow.status, func.count()).group_by(ArticleRow.status)
            ):
                counts[f"articles_{status}"] = number
        return counts
