"""The database: SQLAlchemy 2.0 typed models and the queries every stage needs.

ORM rows never leave this module; callers get the values of `monitor.types`. Tables are created
only by the Alembic migrations in `monitor/migrations`, so an installed service upgrades itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Engine,
    Float,
    ForeignKey,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    make_url,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    aliased,
    mapped_column,
    sessionmaker,
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

ArticleStatus = Literal["pending", "matched", "skipped", "failed"]
REMOVED_FROM_CONFIG = "removed from config"
FINDING_STANCES = ("corroborates", "contradicts")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store; pass UTC")
        value = value.astimezone(UTC)
        # SQLite has no time zone type: it keeps the UTC wall clock as text.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        float: Float,
        list[str]: JSON,
    }


class FeedRow(Base):
    __tablename__ = "feeds"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    # The URL as the user listed it; `url` follows permanent redirects.
    source_url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    interval_minutes: Mapped[int | None]
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_success: Mapped[datetime | None]
    error_count: Mapped[int]
    first_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_poll: Mapped[datetime | None]
    bozo: Mapped[bool]
    bozo_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class ArticleRow(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)  # canonical link, else entry id
    link: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    outlet: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None]
    text_source: Mapped[str | None] = mapped_column(String(8))
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(128))
    first_seen: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class ArticleSourceRow(Base):
    __tablename__ = "article_sources"
    __table_args__ = (UniqueConstraint("feed_url", "entry_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    feed_url: Mapped[str] = mapped_column(String(2048))
    entry_id: Mapped[str] = mapped_column(String(2048))
    first_seen: Mapped[datetime]


class ClaimRow(Base):
    __tablename__ = "claims"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    active: Mapped[bool]


class RelationRow(Base):
    __tablename__ = "relations"
    __table_args__ = (UniqueConstraint("claim_id", "article_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    stance: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float]
    evidence: Mapped[list[str]]
    created_at: Mapped[datetime]


class FindingRow(Base):
    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("claim_id", "article_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    stance: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float]
    evidence: Mapped[list[str]]
    found_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id"))


class DigestRow(Base):
    __tablename__ = "digests"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    recipients: Mapped[str] = mapped_column(Text)
    finding_count: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # sending | sent | failed
    error: Mapped[str | None] = mapped_column(Text)


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


def _feed_state(row: FeedRow, entries: int) -> FeedState:
    return FeedState(
        feed_url=row.url,
        title=row.title,
        enabled=row.enabled,
        etag=row.etag,
        last_modified=row.last_modified,
        last_polled=row.last_polled,
        last_status=row.last_status,
        last_success=row.last_success,
        error_count=row.error_count,
        first_error_at=row.first_error_at,
        last_error=row.last_error,
        next_poll=row.next_poll,
        entries=entries,
        interval_minutes=row.interval_minutes,
    )


def _finding(row: FindingRow, article: ArticleRow, claim: ClaimRow) -> Finding:
    return Finding(
        claim_id=claim.id,
        claim_text=claim.text,
        article_url=article.link or article.url,
        headline=article.title,
        outlet=article.outlet,
        published=article.published,
        stance="contradicts" if row.stance == "contradicts" else "corroborates",
        confidence=row.confidence,
        evidence=tuple(row.evidence),
        found_at=row.found_at,
        id=row.id,
        sent_at=row.sent_at,
    )


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
        listed = {source.feed_url for source in sources if source.origin == "config"}
        with self._session() as session:
            for source in sources:
                self._upsert_feed(session, source)
            rows = session.scalars(select(FeedRow).where(FeedRow.origin == "config"))
            for row in rows:
                if row.source_url not in listed and row.enabled:
                    row.enabled, row.disabled_reason = False, REMOVED_FROM_CONFIG

    def add_feed(self, source: FeedSource) -> None:
        """Add one feed, or update the title and interval of a known one."""
        with self._session() as session:
            self._upsert_feed(session, source)

    def _upsert_feed(self, session: Session, source: FeedSource) -> None:
        row = session.scalar(
            select(FeedRow).where(
                (FeedRow.source_url == source.feed_url) | (FeedRow.url == source.feed_url)
            )
        )
        if row is None:
            session.add(
                FeedRow(
                    url=source.feed_url,
                    source_url=source.feed_url,
                    title=source.title,
                    origin=source.origin,
                    enabled=True,
                    interval_minutes=source.interval_minutes,
                    error_count=0,
                    bozo=False,
                    created_at=datetime.now(UTC),
                )
            )
            session.flush()
            return
        row.title = source.title or row.title
        row.interval_minutes = source.interval_minutes
        if row.origin == source.origin and row.disabled_reason == REMOVED_FROM_CONFIG:
            row.enabled, row.disabled_reason = True, None

    def feed_states(self) -> list[FeedState]:
        """Every feed with its poll state and the number of entries seen through it."""
        counts = dict(
            self._rows(
                select(ArticleSourceRow.feed_url, func.count()).group_by(ArticleSourceRow.feed_url)
            )
        )
        with self._session() as session:
            rows = session.scalars(select(FeedRow).order_by(FeedRow.id)).all()
            return [_feed_state(row, counts.get(row.url, 0)) for row in rows]

    def get_feed(self, feed_url: str) -> FeedState | None:
        """The state of one feed, by its current URL."""
        with self._session() as session:
            row = session.scalar(select(FeedRow).where(FeedRow.url == feed_url))
            if row is None:
                return None
            entries = session.scalar(
                select(func.count()).where(ArticleSourceRow.feed_url == feed_url)
            )
            return _feed_state(row, entries or 0)

    def _rows(self, statement: Any) -> list[tuple[Any, ...]]:
        with self._session() as session:
            return [tuple(row) for row in session.execute(statement)]

    @staticmethod
    def _feed_row(session: Session, feed_url: str) -> FeedRow:
        row = session.scalar(select(FeedRow).where(FeedRow.url == feed_url))
        if row is None:
            raise KeyError(f"unknown feed {feed_url}: add it with sync_feeds or add_feed first")
        return row

    def record_poll_success(
        self, response: FeedResponse, now: datetime, next_poll: datetime | None
    ) -> None:
        """Remember a successful poll: validators, status, title; errors are cleared."""
        with self._session() as session:
            row = self._feed_row(session, response.feed_url)
            row.last_polled, row.last_success, row.next_poll = now, now, next_poll
            row.last_status = response.status
            if not response.not_modified or response.etag is not None:
                row.etag = response.etag
            if not response.not_modified or response.last_modified is not None:
                row.last_modified = response.last_modified
            row.title = response.title or row.title
            row.error_count, row.first_error_at, row.last_error = 0, None, None
            if not response.not_modified:
                row.bozo, row.bozo_reason = response.bozo, response.bozo_reason
            if response.gone:
                row.enabled, row.disabled_reason = False, f"gone ({response.status})"
            if response.new_feed_url and response.new_feed_url != row.url:
                self._move_feed(session, row, response.new_feed_url)

    @staticmethod
    def _move_feed(session: Session, row: FeedRow, new_url: str) -> None:
        taken = session.scalar(select(FeedRow).where(FeedRow.url == new_url))
        if taken is not None:
            # Both URLs are listed: keep the one the redirect points to.
            row.enabled, row.disabled_reason = False, f"moved to {new_url}"
            return
        session.execute(
            update(ArticleSourceRow)
            .where(ArticleSourceRow.feed_url == row.url)
            .values(feed_url=new_url)
        )
        row.url = new_url

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
            row = self._feed_row(session, feed_url)
            row.error_count += 1
            row.first_error_at = row.first_error_at or now
            row.last_error, row.last_status = reason, status
            row.last_polled, row.next_poll = now, next_poll

    # -- articles -------------------------------------------------------------------------------

    def add_entry(self, entry: Entry, now: datetime) -> tuple[int, bool]:
        """Store a feed entry; returns (article id, True when the story is new)."""
        for _attempt in range(3):
            try:
                with self._session() as session:
                    return self._add_entry(session, entry, now)
            except IntegrityError:
                continue  # another worker stored the same story first: look again
        raise RuntimeError(f"entry {entry.entry_id} of {entry.feed_url} kept conflicting")

    @staticmethod
    def _add_entry(session: Session, entry: Entry, now: datetime) -> tuple[int, bool]:
        known = session.scalar(
            select(ArticleSourceRow.article_id).where(
                ArticleSourceRow.feed_url == entry.feed_url,
                ArticleSourceRow.entry_id == entry.entry_id,
            )
        )
        if known is not None:
            return known, False
        identity = entry.link or entry.entry_id
        article_id = session.scalar(select(ArticleRow.id).where(ArticleRow.url == identity))
        is_new = article_id is None
        if article_id is None:
            article = ArticleRow(
                url=identity,
                link=entry.link,
                title=entry.title,
                summary=entry.summary,
                published=entry.published,
                status="pending",
                content_hash=entry.content_hash,
                first_seen=now,
            )
            session.add(article)
            session.flush()
            article_id = article.id
        session.add(
            ArticleSourceRow(
                article_id=article_id,
                feed_url=entry.feed_url,
                entry_id=entry.entry_id,
                first_seen=now,
            )
        )
        session.flush()
        return article_id, is_new

    def pending_articles(self, limit: int = 100) -> list[tuple[int, Entry]]:
        """Articles stored but not yet processed, oldest first, as the entries they came from."""
        other = aliased(ArticleSourceRow)
        first_source = (
            select(func.min(other.id))
            .where(other.article_id == ArticleRow.id)
            .correlate(ArticleRow)
            .scalar_subquery()
        )
        statement = (
            select(ArticleRow, ArticleSourceRow)
            .join(ArticleSourceRow, ArticleSourceRow.id == first_source)
            .where(ArticleRow.status == "pending")
            .order_by(ArticleRow.id)
            .limit(limit)
        )
        with self._session() as session:
            return [
                (
                    article.id,
                    Entry(
                        feed_url=source.feed_url,
                        entry_id=source.entry_id,
                        title=article.title,
                        link=article.link,
                        published=article.published,
                        summary=article.summary,
                        content_hash=article.content_hash,
                    ),
                )
                for article, source in session.execute(statement)
            ]

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
            row = session.get_one(ArticleRow, article_id)
            row.status, row.status_reason, row.processed_at = status, reason, now
            if article is None:
                return
            row.title = article.title or row.title
            row.text = article.text
            row.outlet = article.site_name
            row.published = article.published or row.published
            row.text_source = article.text_source
            row.language = article.language

    # -- claims and findings --------------------------------------------------------------------

    def sync_claims(self, claims: Sequence[Claim]) -> None:
        """Make the active claims exactly these; claims no longer listed are kept, inactive."""
        wanted = {claim.id: claim for claim in claims}
        with self._session() as session:
            for row in session.scalars(select(ClaimRow)):
                row.active = row.id in wanted
                claim = wanted.pop(row.id, None)
                if claim is not None:
                    row.text, row.source = claim.text, claim.source
            for claim in wanted.values():
                session.add(
                    ClaimRow(id=claim.id, text=claim.text, source=claim.source, active=True)
                )

    def claims(self) -> list[Claim]:
        """The active claims, by id."""
        with self._session() as session:
            rows = session.scalars(select(ClaimRow).where(ClaimRow.active).order_by(ClaimRow.id))
            return [Claim(row.id, row.text, row.source) for row in rows]

    def record_stance(
        self, claim: Claim, article_id: int, stance: Stance, threshold: float, now: datetime
    ) -> Finding | None:
        """Keep a related stance; return the new Finding when it is one, None if already known."""
        if stance.label == "unrelated":
            return None
        with self._session() as session:
            if session.get(ClaimRow, claim.id) is None:
                session.add(
                    ClaimRow(id=claim.id, text=claim.text, source=claim.source, active=True)
                )
                session.flush()
            values: dict[str, Any] = {
                "claim_id": claim.id,
                "article_id": article_id,
                "stance": stance.label,
                "confidence": stance.confidence,
                "evidence": list(stance.evidence),
            }
            _insert_once(session, "relations", {**values, "created_at": now})
            if stance.label not in FINDING_STANCES or stance.confidence < threshold:
                return None
            finding_id = _insert_once(session, "findings", {**values, "found_at": now})
            if finding_id is None:
                return None
            return _finding(
                session.get_one(FindingRow, finding_id),
                session.get_one(ArticleRow, article_id),
                session.get_one(ClaimRow, claim.id),
            )

    def findings(self, claim_id: str | None = None, since: datetime | None = None) -> list[Finding]:
        """Findings, oldest first, optionally of one claim or found since a time."""
        statement = self._findings_query()
        if claim_id is not None:
            statement = statement.where(FindingRow.claim_id == claim_id)
        if since is not None:
            statement = statement.where(FindingRow.found_at >= since)
        return self._load_findings(statement)

    def unsent_findings(self) -> list[Finding]:
        """Every finding no digest has carried yet, however old."""
        return self._load_findings(self._findings_query().where(FindingRow.sent_at.is_(None)))

    @staticmethod
    def _findings_query() -> Any:
        return (
            select(FindingRow, ArticleRow, ClaimRow)
            .join(ArticleRow, ArticleRow.id == FindingRow.article_id)
            .join(ClaimRow, ClaimRow.id == FindingRow.claim_id)
            .order_by(FindingRow.found_at, FindingRow.id)
        )

    def _load_findings(self, statement: Any) -> list[Finding]:
        with self._session() as session:
            return [_finding(*row) for row in session.execute(statement)]

    # -- digests --------------------------------------------------------------------------------

    def start_digest(
        self, finding_ids: Sequence[int], now: datetime, recipients: Sequence[str] = ()
    ) -> int:
        """Open a digest record before sending; returns its id."""
        with self._session() as session:
            row = DigestRow(
                created_at=now,
                recipients=", ".join(recipients),
                finding_count=len(finding_ids),
                status="sending",
            )
            session.add(row)
            session.flush()
            return row.id

    def mark_digest_sent(self, digest_id: int, finding_ids: Sequence[int], now: datetime) -> int:
        """After the server accepted the digest: mark its findings sent, in one transaction."""
        with self._session() as session:
            result = session.execute(
                update(FindingRow)
                .where(FindingRow.id.in_(list(finding_ids)), FindingRow.sent_at.is_(None))
                .values(sent_at=now, digest_id=digest_id)
            )
            digest = session.get_one(DigestRow, digest_id)
            digest.status, digest.sent_at, digest.error = "sent", now, None
            return int(getattr(result, "rowcount", 0))

    def mark_digest_failed(self, digest_id: int, error: str) -> None:
        """Record why a digest was not delivered; its findings stay unsent."""
        with self._session() as session:
            digest = session.get_one(DigestRow, digest_id)
            digest.status, digest.error = "failed", error

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


def _insert_once(session: Session, table_name: str, values: dict[str, Any]) -> int | None:
    """Insert a (claim, article) row unless one exists; the new id, or None when it was there."""
    table = Base.metadata.tables[table_name]
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        module: Any = sqlite if dialect == "sqlite" else postgresql
        statement = (
            module.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=["claim_id", "article_id"])
            .returning(table.c.id)
        )
        new_id = session.scalar(statement)
    else:
        try:
            with session.begin_nested():
                new_id = session.scalar(insert(table).values(values).returning(table.c.id))
        except IntegrityError:
            new_id = None
    return None if new_id is None else int(new_id)
