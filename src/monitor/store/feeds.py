"""Feed state and what feeds bring in: the feeds, their entries and the articles behind them.

Each function works inside the session the `Store` opened, so one call is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from monitor.store.models import ArticleRow, ArticleSourceRow, FeedRow
from monitor.types import Article, Entry, FeedResponse, FeedSource, FeedState

ArticleStatus = Literal["pending", "matched", "skipped", "failed"]
REMOVED_FROM_CONFIG = "removed from config"


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


def _feed_row(session: Session, feed_url: str) -> FeedRow:
    row = session.scalar(select(FeedRow).where(FeedRow.url == feed_url))
    if row is None:
        raise KeyError(f"unknown feed {feed_url}: add it with sync_feeds or add_feed first")
    return row


def sync_feeds(session: Session, sources: Sequence[FeedSource]) -> None:
    """Make the feed table match the config: add new feeds, disable config feeds now gone."""
    listed = {source.feed_url for source in sources if source.origin == "config"}
    for source in sources:
        upsert_feed(session, source)
    rows = session.scalars(select(FeedRow).where(FeedRow.origin == "config"))
    for row in rows:
        if row.source_url not in listed and row.enabled:
            row.enabled, row.disabled_reason = False, REMOVED_FROM_CONFIG


def upsert_feed(session: Session, source: FeedSource) -> None:
    """Add one feed, or update the title and interval of a known one."""
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


def entry_counts(session: Session) -> dict[str, int]:
    """The number of entries seen through each feed, by current feed URL."""
    statement = select(ArticleSourceRow.feed_url, func.count()).group_by(ArticleSourceRow.feed_url)
    return {feed_url: count for feed_url, count in session.execute(statement)}


def feed_states(session: Session, counts: dict[str, int]) -> list[FeedState]:
    """Every feed with its poll state, given the entry counts of `entry_counts`."""
    rows = session.scalars(select(FeedRow).order_by(FeedRow.id)).all()
    return [_feed_state(row, counts.get(row.url, 0)) for row in rows]


def get_feed(session: Session, feed_url: str) -> FeedState | None:
    """The state of one feed, by its current URL."""
    row = session.scalar(select(FeedRow).where(FeedRow.url == feed_url))
    if row is None:
        return None
    entries = session.scalar(select(func.count()).where(ArticleSourceRow.feed_url == feed_url))
    return _feed_state(row, entries or 0)


def record_poll_success(
    session: Session, response: FeedResponse, now: datetime, next_poll: datetime | None
) -> None:
    """Remember a successful poll: validators, status, title; errors are cleared."""
    row = _feed_row(session, response.feed_url)
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
        _move_feed(session, row, response.new_feed_url)


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
    session: Session,
    feed_url: str,
    reason: str,
    status: int | None,
    now: datetime,
    next_poll: datetime | None,
) -> None:
    """Count one failed poll; the first failure's time is kept until a success."""
    row = _feed_row(session, feed_url)
    row.error_count += 1
    row.first_error_at = row.first_error_at or now
    row.last_error, row.last_status = reason, status
    row.last_polled, row.next_poll = now, next_poll


def add_entry(session: Session, entry: Entry, now: datetime) -> tuple[int, bool]:
    """Store a feed entry; returns (article id, True when the story is new)."""
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
        article_id = _add_article(session, entry, identity, now)
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


def _add_article(session: Session, entry: Entry, identity: str, now: datetime) -> int:
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
    return article.id


def pending_articles(session: Session, limit: int) -> list[tuple[int, Entry]]:
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
    return [(article.id, _entry(article, source)) for article, source in session.execute(statement)]


def _entry(article: ArticleRow, source: ArticleSourceRow) -> Entry:
    return Entry(
        feed_url=source.feed_url,
        entry_id=source.entry_id,
        title=article.title,
        link=article.link,
        published=article.published,
        summary=article.summary,
        content_hash=article.content_hash,
    )


def record_article(
    session: Session,
    article_id: int,
    article: Article | None,
    status: ArticleStatus,
    reason: str | None,
    now: datetime,
) -> None:
    """Record what processing made of an article (None when no text was had) and the outcome."""
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
