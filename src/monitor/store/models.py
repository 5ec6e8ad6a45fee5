"""The declarative tables: one class per table, as the Alembic migrations create them.

The migrations, not `Base.metadata.create_all`, make the schema; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
