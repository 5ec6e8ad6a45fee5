"""The store against a temporary SQLite file; `StoreBehaviour` also runs on PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import StatementError

from monitor.store import Base, Store
from monitor.types import Article, Claim, Entry, FeedResponse, FeedSource, Stance

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
FEED_A = "https://a.example/rss"
FEED_B = "https://b.example/atom"
CLAIM = Claim("c-rates", "The central bank raised rates by 0.5 points in March.", "seed.md")
TABLES = {
    "feeds",
    "articles",
    "article_sources",
    "claims",
    "relations",
    "findings",
    "digests",
    "alembic_version",
}


def make_entry(feed_url: str = FEED_A, entry_id: str = "guid-1", **changes: object) -> Entry:
    values: dict[str, object] = {
        "feed_url": feed_url,
        "entry_id": entry_id,
        "title": "Bank raises rates",
        "link": "https://news.example/rates",
        "published": NOW - timedelta(hours=2),
        "summary": "The bank raised rates.",
        "content_hash": "h1",
    }
    values.update(changes)
    return Entry(**values)  # type: ignore[arg-type]


def make_article(url: str = "https://news.example/rates") -> Article:
    return Article(
        url=url,
        title="Bank raises rates by half a point",
        text="The central bank raised rates by 0.5 points.",
        published=NOW - timedelta(hours=2),
        text_source="page",
        site_name="News Example",
        language="en",
    )


def ok_response(feed_url: str = FEED_A, **changes: object) -> FeedResponse:
    values: dict[str, object] = {
        "feed_url": feed_url,
        "status": 200,
        "not_modified": False,
        "entries": (),
        "title": "Feed A",
        "etag": '"v1"',
        "last_modified": "Wed, 25 Nov 2026 09:00:00 GMT",
    }
    values.update(changes)
    return FeedResponse(**values)  # type: ignore[arg-type]


def stored_finding(store: Store, label: str = "contradicts", entry_id: str = "guid-1") -> int:
    article_id, _ = store.add_entry(make_entry(entry_id=entry_id, link=None), NOW)
    stance = Stance(label, 0.9, ("Rates were left unchanged.",))  # type: ignore[arg-type]
    finding = store.record_stance(CLAIM, article_id, stance, 0.6, NOW)
    assert finding is not None and finding.id is not None
    return finding.id


class StoreBehaviour:
    """Behaviours every backend must show; subclasses provide `store_url`."""

    @pytest.fixture
    def store(self, store_url: str) -> Iterator[Store]:
        store = Store(store_url)
        store.upgrade()
        store.sync_feeds([FeedSource(FEED_A, "A"), FeedSource(FEED_B, "B")])
        store.sync_claims([CLAIM])
        yield store
        store.close()

    def test_migration_creates_every_table(self, store_url: str) -> None:
        store = Store(store_url)
        store.upgrade()
        store.close()
        engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            assert set(inspect(engine).get_table_names()) >= TABLES
        finally:
            engine.dispose()

    def test_migration_matches_the_models(self, store: Store, store_url: str) -> None:
        engine = create_engine(store_url)
        try:
            with engine.connect() as connection:
                diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        finally:
            engine.dispose()
        assert diff == []

    def test_upgrade_twice_stays_at_head(self, store: Store) -> None:
        store.upgrade()
        assert store.schema_revision() == "0001"

    def test_finding_recorded_twice_is_one_row(self, store: Store) -> None:
        article_id, _ = store.add_entry(make_entry(), NOW)
        stance = Stance("corroborates", 0.8, ("The bank raised rates by 0.5 points.",))
        first = store.record_stance(CLAIM, article_id, stance, 0.6, NOW)
        second = store.record_stance(CLAIM, article_id, stance, 0.6, NOW + timedelta(hours=1))
        assert first is not None and second is None
        assert [f.id for f in store.findings()] == [first.id]

    def test_finding_carries_article_and_claim_values(self, store: Store) -> None:
        article_id, _ = store.add_entry(make_entry(), NOW)
        store.record_article(article_id, make_article(), "matched", None, NOW)
        store.record_stance(CLAIM, article_id, Stance("contradicts", 0.75, ("No.",)), 0.6, NOW)
        (finding,) = store.findings(claim_id=CLAIM.id)
        assert (finding.headline, finding.outlet, finding.article_url) == (
            "Bank raises rates by half a point",
            "News Example",
            "https://news.example/rates",
        )
        assert (finding.claim_text, finding.stance, finding.evidence) == (
            CLAIM.text,
            "contradicts",
            ("No.",),
        )
        assert finding.published == NOW - timedelta(hours=2)
        assert finding.found_at.tzinfo is not None and finding.found_at == NOW

    def test_stance_below_threshold_is_no_finding(self, store: Store) -> None:
        article_id, _ = store.add_entry(make_entry(), NOW)
        finding = store.record_stance(CLAIM, article_id, Stance("corroborates", 0.5), 0.6, NOW)
        assert finding is None
        assert (store.stats()["relations"], store.stats()["findings"]) == (1, 0)

    def test_discusses_is_a_relation_not_a_finding(self, store: Store) -> None:
        article_id, _ = store.add_entry(make_entry(), NOW)
        assert store.record_stance(CLAIM, article_id, Stance("discusses", 0.95), 0.6, NOW) is None
        assert (store.stats()["relations"], store.stats()["findings"]) == (1, 0)

    def test_unrelated_is_not_stored(self, store: Store) -> None:
        article_id, _ = store.add_entry(make_entry(), NOW)
        store.record_stance(CLAIM, article_id, Stance("unrelated", 0.99), 0.6, NOW)
        assert store.stats()["relations"] == 0

    def test_same_link_from_two_feeds_is_one_article_with_two_sources(self, store: Store) -> None:
        first = store.add_entry(make_entry(FEED_A, "a-1"), NOW)
        second = store.add_entry(make_entry(FEED_B, "b-77"), NOW)
        assert first == (first[0], True)
        assert second == (first[0], False)
        entries = {state.feed_url: state.entries for state in store.feed_states()}
        assert entries == {FEED_A: 1, FEED_B: 1}
        assert store.stats()["articles"] == 1

    def test_changed_entry_content_is_not_new(self, store: Store) -> None:
        article_id, _ = store.add_entry(make_entry(), NOW)
        changed = make_entry(
            title="Bank raises rates (updated)",
            link="https://news.example/rates-updated",
            summary="New text",
            content_hash="h2",
        )
        assert store.add_entry(changed, NOW + timedelta(hours=1)) == (article_id, False)

    def test_entry_without_link_is_known_by_entry_id(self, store: Store) -> None:
        first = store.add_entry(make_entry(entry_id="tag:a,2026:1", link=None), NOW)
        other = store.add_entry(make_entry(entry_id="tag:a,2026:2", link=None), NOW)
        assert first[1] and other[1] and first[0] != other[0]

    def test_pending_articles_survive_a_restart(self, store: Store, store_url: str) -> None:
        done, _ = store.add_entry(make_entry(entry_id="g-done", link="https://n.example/1"), NOW)
        waiting, _ = store.add_entry(make_entry(entry_id="g-wait", link="https://n.example/2"), NOW)
        store.record_article(done, make_article("https://n.example/1"), "matched", None, NOW)
        store.close()
        reopened = Store(store_url)
        try:
            pending = reopened.pending_articles(limit=10)
        finally:
            reopened.close()
        assert [(article_id, entry.entry_id) for article_id, entry in pending] == [
            (waiting, "g-wait")
        ]
        assert pending[0][1] == make_entry(entry_id="g-wait", link="https://n.example/2")

    def test_poll_success_stores_validators_and_title(self, store: Store) -> None:
        store.record_poll_success(ok_response(), NOW, NOW + timedelta(minutes=30))
        state = store.get_feed(FEED_A)
        assert state is not None
        assert (state.etag, state.last_modified, state.last_status, state.title) == (
            '"v1"',
            "Wed, 25 Nov 2026 09:00:00 GMT",
            200,
            "Feed A",
        )
        assert (state.last_success, state.next_poll) == (NOW, NOW + timedelta(minutes=30))

    def test_not_modified_keeps_the_validators(self, store: Store) -> None:
        store.record_poll_success(ok_response(), NOW, None)
        store.record_poll_success(
            ok_response(status=304, not_modified=True, etag=None, last_modified=None), NOW, None
        )
        state = store.get_feed(FEED_A)
        assert state is not None and (state.etag, state.last_status) == ('"v1"', 304)

    def test_errors_are_counted_from_the_first_failure(self, store: Store) -> None:
        later = NOW + timedelta(hours=1)
        store.record_poll_error(FEED_A, "timed out", None, NOW, later)
        store.record_poll_error(FEED_A, "HTTP 503", 503, later, later + timedelta(hours=2))
        state = store.get_feed(FEED_A)
        assert state is not None
        assert (state.error_count, state.first_error_at, state.last_error, state.last_status) == (
            2,
            NOW,
            "HTTP 503",
            503,
        )

    def test_success_clears_the_error_count(self, store: Store) -> None:
        store.record_poll_error(FEED_A, "timed out", None, NOW, None)
        store.record_poll_success(ok_response(), NOW + timedelta(hours=1), None)
        state = store.get_feed(FEED_A)
        assert state is not None
        assert (state.error_count, state.first_error_at, state.last_error) == (0, None, None)

    def test_renamed_feed_keeps_its_state_and_entries(self, store: Store) -> None:
        moved = "https://a.example/feed.xml"
        store.add_entry(make_entry(FEED_A, "a-1"), NOW)
        store.record_poll_success(ok_response(status=301, new_feed_url=moved), NOW, None)
        assert store.get_feed(FEED_A) is None
        state = store.get_feed(moved)
        assert state is not None and (state.etag, state.entries, state.title) == (
            '"v1"',
            1,
            "Feed A",
        )
        assert store.add_entry(make_entry(moved, "a-1"), NOW)[1] is False

    def test_renamed_feed_stays_enabled_after_config_sync(self, store: Store) -> None:
        moved = "https://a.example/feed.xml"
        store.record_poll_success(ok_response(new_feed_url=moved), NOW, None)
        store.sync_feeds([FeedSource(FEED_A, "A"), FeedSource(FEED_B, "B")])
        assert [(s.feed_url, s.enabled) for s in store.feed_states()] == [
            (moved, True),
            (FEED_B, True),
        ]

    def test_gone_feed_is_disabled(self, store: Store) -> None:
        store.record_poll_success(ok_response(status=410, gone=True), NOW, None)
        state = store.get_feed(FEED_A)
        assert state is not None and state.enabled is False

    def test_feed_missing_from_config_is_disabled_opml_feed_untouched(self, store: Store) -> None:
        store.add_feed(FeedSource("https://opml.example/rss", origin="opml"))
        store.sync_feeds([FeedSource(FEED_B, "B")])
        enabled = {state.feed_url: state.enabled for state in store.feed_states()}
        assert enabled == {FEED_A: False, FEED_B: True, "https://opml.example/rss": True}

    def test_feed_back_in_config_is_enabled_with_its_state(self, store: Store) -> None:
        store.record_poll_success(ok_response(), NOW, None)
        store.sync_feeds([FeedSource(FEED_B)])
        store.sync_feeds([FeedSource(FEED_A), FeedSource(FEED_B)])
        state = store.get_feed(FEED_A)
        assert state is not None and (state.enabled, state.etag, state.title) == (
            True,
            '"v1"',
            "Feed A",
        )

    def test_unknown_feed_error_is_a_key_error(self, store: Store) -> None:
        with pytest.raises(KeyError, match=re.escape("https://unknown.example/rss")):
            store.record_poll_error("https://unknown.example/rss", "x", None, NOW, None)

    def test_marked_sent_findings_are_no_longer_unsent(self, store: Store) -> None:
        first = stored_finding(store, entry_id="g-1")
        second = stored_finding(store, "corroborates", entry_id="g-2")
        digest_id = store.start_digest([first], NOW, ["desk@example.org"])
        assert store.mark_digest_sent(digest_id, [first], NOW) == 1
        assert [f.id for f in store.unsent_findings()] == [second]
        assert [f.sent_at for f in store.findings()] == [NOW, None]

    def test_marking_sent_twice_changes_nothing(self, store: Store) -> None:
        finding_id = stored_finding(store)
        store.mark_digest_sent(store.start_digest([finding_id], NOW), [finding_id], NOW)
        later = NOW + timedelta(days=1)
        again = store.mark_digest_sent(store.start_digest([finding_id], later), [finding_id], later)
        assert again == 0
        assert store.findings()[0].sent_at == NOW

    def test_failed_digest_leaves_findings_unsent(self, store: Store) -> None:
        finding_id = stored_finding(store)
        store.mark_digest_failed(store.start_digest([finding_id], NOW), "SMTP h:25: 550 no")
        assert [f.id for f in store.unsent_findings()] == [finding_id]

    def test_findings_since_excludes_older(self, store: Store) -> None:
        stored_finding(store)
        assert store.findings(since=NOW + timedelta(seconds=1)) == []

    def test_claims_no_longer_listed_become_inactive(self, store: Store) -> None:
        other = Claim("c-jobs", "Unemployment fell to 4 percent.", "seed.md")
        store.sync_claims([other])
        assert store.claims() == [other]
        assert store.stats()["claims"] == 2

    def test_failed_article_is_no_longer_pending(self, store: Store) -> None:
        article_id, _ = store.add_entry(make_entry(), NOW)
        store.record_article(article_id, None, "failed", "https://news.example/rates: 404", NOW)
        assert store.pending_articles() == []
        assert store.stats()["articles_failed"] == 1

    def test_stats_count_articles_by_status(self, store: Store) -> None:
        done, _ = store.add_entry(make_entry(entry_id="g-1", link="https://n.example/1"), NOW)
        store.add_entry(make_entry(entry_id="g-2", link="https://n.example/2"), NOW)
        store.record_article(done, make_article(), "skipped", "language de", NOW)
        stats = store.stats()
        assert (stats["articles_pending"], stats["articles_skipped"], stats["feeds"]) == (1, 1, 2)

    def test_naive_datetime_is_refused(self, store: Store) -> None:
        with pytest.raises(StatementError, match="naive datetime"):
            store.record_poll_error(FEED_A, "x", None, datetime(2026, 11, 25, 9, 0), None)


class TestSqliteStore(StoreBehaviour):
    @pytest.fixture
    def store_url(self, db_url: str) -> str:
        return db_url


def test_sqlite_database_is_in_wal_mode(db_url: str) -> None:
    store = Store(db_url)
    store.upgrade()
    store.close()
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_parent_folder_is_created(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "data"
    store = Store(f"sqlite:///{folder / 'monitor.db'}")
    store.upgrade()
    store.close()
    assert (folder / "monitor.db").is_file()


def test_tables_come_only_from_the_migration(db_url: str) -> None:
    store = Store(db_url)
    store.close()
    engine = create_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
