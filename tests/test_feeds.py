"""poll_feed against a real loopback server, parsing, entry identity, scheduling, PollGate."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from monitor import feeds, http
from monitor.errors import FeedError
from monitor.types import FeedState

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Example News</title><link>https://example.org/</link>
<item><title>First story</title><link>https://example.org/1?utm_source=rss&amp;id=7</link>
<guid isPermaLink="false">story-1</guid><pubDate>Sun, 01 Mar 2026 09:30:00 +0100</pubDate>
<description>&lt;p&gt;The &lt;b&gt;first&lt;/b&gt; story.&lt;/p&gt;</description></item>
<item><title>Second story</title><link>https://Example.org/2#comments</link>
<description>Plain second.</description></item>
<item><title>Third story</title><description>No link, no guid.</description></item>
</channel></rss>"""

ATOM_WITH_CONTENT = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title><id>urn:feed</id>
<updated>2026-03-01T10:00:00Z</updated>
<entry><title type="html">A &lt;i&gt;bold&lt;/i&gt; claim</title><id>urn:entry:1</id>
<link href="/stories/1"/><updated>2026-03-01T10:00:00Z</updated>
<summary>Short summary.</summary>
<content type="html">&lt;p&gt;Full text&lt;/p&gt;&lt;p&gt;of the story.&lt;/p&gt;
&lt;script&gt;x()&lt;/script&gt;</content>
</entry></feed>"""

BOZO_RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Broken & Co</title>
<item><title>Still here</title><link>https://example.org/still</link></item>
</channel></rss>"""


def _state(feed_url: str, etag: str | None = None, last_modified: str | None = None) -> FeedState:
    return FeedState(
        feed_url=feed_url,
        title=None,
        enabled=True,
        etag=etag,
        last_modified=last_modified,
        last_polled=None,
        last_status=None,
        last_success=None,
        error_count=0,
        first_error_at=None,
        last_error=None,
        next_poll=None,
    )


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with http.make_client("claim-monitor-test/1", connect_timeout=2.0, timeout=2.0) as made:
        yield made


def _poll(client: httpx.Client, url: str, **state: str) -> feeds.FeedResponse:
    return feeds.poll_feed(client, _state(url, **state), max_bytes=100_000, now=NOW)


# --- conditional GET and statuses -------------------------------------------------------------


def test_etag_and_last_modified_are_sent_back(http_server, client) -> None:
    url = http_server.add("/feed", RSS, status=304)
    _poll(client, url, etag='"abc"', last_modified="Sat, 28 Feb 2026 10:00:00 GMT")
    seen = http_server.hits("/feed")[0].headers
    assert seen["if-none-match"] == '"abc"'
    assert seen["if-modified-since"] == "Sat, 28 Feb 2026 10:00:00 GMT"


def test_first_poll_sends_no_conditional_headers(http_server, client) -> None:
    url = http_server.add("/feed", RSS)
    _poll(client, url)
    seen = http_server.hits("/feed")[0].headers
    assert "if-none-match" not in seen and "if-modified-since" not in seen


def test_304_is_not_modified_with_no_entries_and_keeps_validators(http_server, client) -> None:
    url = http_server.add("/feed", b"", status=304)
    response = _poll(client, url, etag='"abc"', last_modified="Sat, 28 Feb 2026 10:00:00 GMT")
    assert (response.not_modified, response.entries, response.status) == (True, (), 304)
    assert (response.etag, response.last_modified) == ('"abc"', "Sat, 28 Feb 2026 10:00:00 GMT")


def test_200_records_the_new_validators(http_server, client) -> None:
    headers = {"ETag": '"v2"', "Last-Modified": "Sun, 01 Mar 2026 08:00:00 GMT"}
    url = http_server.add("/feed", RSS, headers=headers)
    response = _poll(client, url, etag='"v1"')
    assert (response.etag, response.last_modified) == ('"v2"', "Sun, 01 Mar 2026 08:00:00 GMT")
    assert (response.not_modified, response.title, len(response.entries)) == (
        False,
        "Example News",
        3,
    )


def test_301_sets_new_feed_url(http_server, client) -> None:
    new = http_server.add("/new", RSS)
    old = http_server.add("/old", status=301, headers={"Location": "/new"})
    response = _poll(client, old)
    assert (response.new_feed_url, response.feed_url, len(response.entries)) == (new, old, 3)


def test_302_does_not_set_new_feed_url(http_server, client) -> None:
    http_server.add("/new", RSS)
    old = http_server.add("/old", status=302, headers={"Location": "/new"})
    response = _poll(client, old)
    assert (response.new_feed_url, len(response.entries)) == (None, 3)


def test_410_marks_the_feed_gone(http_server, client) -> None:
    url = http_server.add("/feed", b"gone", status=410)
    response = _poll(client, url)
    assert (response.gone, response.status, response.entries) == (True, 410, ())


def test_429_with_retry_after_seconds(http_server, client) -> None:
    url = http_server.add("/feed", b"slow down", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FeedError) as caught:
        _poll(client, url)
    assert (caught.value.status, caught.value.retry_after_seconds) == (429, 120.0)


def test_503_with_retry_after_http_date_is_relative_to_now(http_server, client) -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    url = http_server.add("/feed", b"busy", status=503, headers={"Retry-After": later})
    with pytest.raises(FeedError) as caught:
        _poll(client, url)
    assert (caught.value.status, caught.value.retry_after_seconds) == (503, 90.0)


def test_429_without_retry_after_has_no_pause(http_server, client) -> None:
    url = http_server.add("/feed", b"slow down", status=429)
    with pytest.raises(FeedError) as caught:
        _poll(client, url)
    assert caught.value.retry_after_seconds is None


def test_500_raises_feed_error_naming_url_and_status(http_server, client) -> None:
    url = http_server.add("/feed", b"oops", status=500)
    with pytest.raises(FeedError) as caught:
        _poll(client, url)
    assert (str(caught.value), caught.value.feed_url, caught.value.status) == (
        f"{url}: HTTP 500",
        url,
        500,
    )


def test_timeout_error_names_feed_url(http_server) -> None:
    url = http_server.add("/feed", RSS, delay=3.0)
    quick = http.make_client("t", connect_timeout=1.0, timeout=0.3)
    with quick, pytest.raises(FeedError) as caught:
        feeds.poll_feed(quick, _state(url), max_bytes=100_000, now=NOW)
    assert str(caught.value) == f"{url}: timed out after 0.3s"


def test_error_on_a_redirect_hop_names_feed_and_hop(http_server, client) -> None:
    hop = http_server.add("/moved", b"x" * 5000)
    start = http_server.add("/feed", status=302, headers={"Location": "/moved"})
    with pytest.raises(FeedError) as caught:
        feeds.poll_feed(client, _state(start), max_bytes=1000, now=NOW)
    assert caught.value.feed_url == start
    assert str(caught.value).endswith(f"too large: Content-Length 5000 > 1000 bytes (at {hop})")


def test_feed_over_size_cap_raises(http_server, client) -> None:
    url = http_server.add("/feed", RSS)
    with pytest.raises(FeedError, match="too large"):
        feeds.poll_feed(client, _state(url), max_bytes=len(RSS) - 1, now=NOW)


# --- bodies that are not feeds ----------------------------------------------------------------


def test_html_page_is_not_a_feed(http_server, client) -> None:
    page = b"<!DOCTYPE html><html><head><title>Home</title></head><body>Hi</body></html>"
    url = http_server.add("/feed", page, headers={"Content-Type": "text/html; charset=utf-8"})
    with pytest.raises(FeedError) as caught:
        _poll(client, url)
    assert str(caught.value) == f"{url}: not a feed: got text/html page"


def test_empty_body_is_not_a_feed(http_server, client) -> None:
    url = http_server.add("/feed", b"", headers={"Content-Type": "application/rss+xml"})
    with pytest.raises(FeedError, match="not a feed: empty body"):
        _poll(client, url)


def test_binary_body_is_not_a_feed(http_server, client) -> None:
    url = http_server.add("/feed", bytes(range(256)) * 8, headers={"Content-Type": "image/png"})
    with pytest.raises(FeedError, match=r"not a feed: got binary data \(image/png\)"):
        _poll(client, url)


def test_bozo_feed_still_yields_entries(http_server, client) -> None:
    url = http_server.add("/feed", BOZO_RSS, headers={"Content-Type": "application/rss+xml"})
    response = _poll(client, url)
    assert response.bozo is True
    assert response.bozo_reason and "not well-formed" in response.bozo_reason
    assert [entry.title for entry in response.entries] == ["Still here"]


def test_well_formed_feed_is_not_bozo(http_server, client) -> None:
    url = http_server.add("/feed", RSS, headers={"Content-Type": "application/rss+xml"})
    response = _poll(client, url)
    assert (response.bozo, response.bozo_reason) == (False, None)


# --- entries ----------------------------------------------------------------------------------


def _entries(body: bytes, feed_url: str = "https://example.org/feed") -> tuple[feeds.Entry, ...]:
    return feeds.parse_feed(feed_url, body, {"content-type": "application/xml"})[1]


def test_guid_is_the_identity_when_present() -> None:
    assert _entries(RSS)[0].entry_id == "story-1"


def test_canonical_link_is_the_identity_without_guid() -> None:
    assert _entries(RSS)[1].entry_id == "https://example.org/2"


def test_content_hash_is_the_identity_without_guid_or_link() -> None:
    entry = _entries(RSS)[2]
    assert entry.entry_id.startswith("sha256:") and len(entry.entry_id) == 7 + 64
    assert entry.entry_id == _entries(RSS)[2].entry_id


def test_hash_identity_changes_with_the_date() -> None:
    first = feeds.entry_identity(None, None, "T", NOW, "s")
    assert first != feeds.entry_identity(None, None, "T", NOW + timedelta(hours=1), "s")


def test_entry_link_has_tracking_parameters_stripped() -> None:
    assert _entries(RSS)[0].link == "https://example.org/1?id=7"


def test_summary_is_plain_text_of_html_description() -> None:
    assert _entries(RSS)[0].summary == "The first story."


def test_content_is_preferred_to_summary_and_scripts_are_dropped() -> None:
    assert _entries(ATOM_WITH_CONTENT)[0].summary == "Full text of the story."


def test_html_title_becomes_plain_text() -> None:
    assert _entries(ATOM_WITH_CONTENT)[0].title == "A bold claim"


def test_relative_link_resolves_against_feed_url() -> None:
    entry = _entries(ATOM_WITH_CONTENT, "https://news.example.net/atom.xml")[0]
    assert entry.link == "https://news.example.net/stories/1"


def test_published_is_aware_utc() -> None:
    assert _entries(RSS)[0].published == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def test_entry_without_date_has_no_published() -> None:
    assert _entries(RSS)[1].published is None


def test_content_hash_changes_with_the_title_but_identity_does_not() -> None:
    changed = RSS.replace(b"First story", b"First story, updated")
    before, after = _entries(RSS)[0], _entries(changed)[0]
    assert before.entry_id == after.entry_id
    assert before.content_hash != after.content_hash


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.org/a?utm_source=x&utm_medium=y", "https://ex.org/a"),
        ("https://ex.org/a?id=3&fbclid=abc&page=2", "https://ex.org/a?id=3&page=2"),
        ("https://ex.org/a?gclid=1&dclid=2&msclkid=3&yclid=4", "https://ex.org/a"),
        ("https://ex.org/a?mc_cid=1&mc_eid=2&igshid=3&_ga=4", "https://ex.org/a"),
        ("https://ex.org/a?ref=rss&ref_src=twsrc&q=1", "https://ex.org/a?q=1"),
        ("https://ex.org/a?UTM_Campaign=z&b=2&a=1", "https://ex.org/a?b=2&a=1"),
        ("HTTPS://News.EXAMPLE.org/Path/Case#section", "https://news.example.org/Path/Case"),
        ("https://ex.org/a?q=a%20b&reference=1", "https://ex.org/a?q=a%20b&reference=1"),
        ("  https://ex.org/a  ", "https://ex.org/a"),
    ],
)
def test_canonical_link(url: str, expected: str) -> None:
    assert feeds.canonical_link(url) == expected


# --- scheduling -------------------------------------------------------------------------------


def test_feed_never_polled_is_due() -> None:
    assert feeds.is_due(_state("https://ex.org/f"), NOW) is True


def test_feed_with_future_next_poll_is_not_due() -> None:
    state = _state("https://ex.org/f")
    later = FeedState(**{**_fields(state), "next_poll": NOW + timedelta(seconds=1)})
    now_exactly = FeedState(**{**_fields(state), "next_poll": NOW})
    assert (feeds.is_due(later, NOW), feeds.is_due(now_exactly, NOW)) == (False, True)


def test_disabled_feed_is_never_due() -> None:
    state = FeedState(**{**_fields(_state("https://ex.org/f")), "enabled": False})
    assert feeds.is_due(state, NOW) is False


def _fields(state: FeedState) -> dict[str, object]:
    return {name: getattr(state, name) for name in FeedState.__slots__}


def test_next_poll_after_success_adds_interval_and_seeded_jitter() -> None:
    jitter = random.Random(7).uniform(0, 60)
    result = feeds.next_poll_after_success(NOW, timedelta(minutes=30), 60, random.Random(7))
    assert result == NOW + timedelta(minutes=30, seconds=jitter)
    assert timedelta(minutes=30) <= result - NOW <= timedelta(minutes=31)


@pytest.mark.parametrize(("errors", "minutes"), [(1, 30), (2, 60), (3, 120), (4, 240), (7, 1440)])
def test_backoff_doubles_per_error_up_to_the_cap(errors: int, minutes: int) -> None:
    result = feeds.next_poll_after_error(
        NOW, errors, timedelta(minutes=30), timedelta(days=1), None
    )
    assert result == NOW + timedelta(minutes=minutes)


def test_backoff_survives_huge_error_counts() -> None:
    result = feeds.next_poll_after_error(NOW, 5000, timedelta(minutes=30), timedelta(days=1), None)
    assert result == NOW + timedelta(days=1)


def test_retry_after_wins_when_later_than_backoff() -> None:
    result = feeds.next_poll_after_error(NOW, 1, timedelta(minutes=30), timedelta(days=1), 7200)
    assert result == NOW + timedelta(hours=2)


def test_backoff_wins_when_later_than_retry_after() -> None:
    result = feeds.next_poll_after_error(NOW, 3, timedelta(minutes=30), timedelta(days=1), 60)
    assert result == NOW + timedelta(hours=2)


def test_feed_failing_only_after_the_configured_days() -> None:
    first = NOW - timedelta(days=3)
    assert feeds.is_failing(first, NOW, 3) is True
    assert feeds.is_failing(first + timedelta(seconds=1), NOW, 3) is False
    assert feeds.is_failing(None, NOW, 3) is False


# --- PollGate ---------------------------------------------------------------------------------


def _hold(gate: feeds.PollGate, feed_url: str, inside: threading.Event, release: threading.Event):
    def run() -> None:
        with gate.slot(feed_url):
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _second_waits(gate: feeds.PollGate, first_url: str, second_url: str) -> tuple[bool, bool]:
    """(entered while the first held its slot, entered after the first let go)."""
    first_in, second_in, release = threading.Event(), threading.Event(), threading.Event()
    first = _hold(gate, first_url, first_in, release)
    assert first_in.wait(5)
    second = _hold(gate, second_url, second_in, threading.Event())
    entered_early = second_in.wait(0.3)
    release.set()
    first.join(5)
    entered_later = second_in.wait(5)
    second.join(0)
    return entered_early, entered_later


def test_poll_gate_keeps_two_feeds_of_one_host_apart() -> None:
    gate = feeds.PollGate(max_concurrency=4, per_host=1)
    result = _second_waits(gate, "https://a.example/one", "https://a.example/two")
    assert result == (False, True)


def test_poll_gate_lets_feeds_of_two_hosts_run_together() -> None:
    gate = feeds.PollGate(max_concurrency=4, per_host=1)
    result = _second_waits(gate, "https://a.example/one", "https://b.example/two")
    assert result == (True, True)


def test_poll_gate_global_limit_applies_across_hosts() -> None:
    gate = feeds.PollGate(max_concurrency=1, per_host=1)
    result = _second_waits(gate, "https://a.example/one", "https://b.example/two")
    assert result == (False, True)


def test_poll_gate_never_polls_one_feed_twice_at_once() -> None:
    gate = feeds.PollGate(max_concurrency=4, per_host=4)
    result = _second_waits(gate, "https://a.example/one", "https://a.example/one")
    assert result == (False, True)


def test_html_page_error_names_the_feed_it_links_to(http_server, client) -> None:
    page = (
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml">'
        b"</head><body>Home</body></html>"
    )
    url = http_server.add("/", page, headers={"Content-Type": "text/html"})
    with pytest.raises(FeedError) as caught:
        _poll(client, url)
    assert str(caught.value).endswith(
        f"not a feed: got text/html page (the page names a feed: {http_server.url('/rss.xml')})"
    )


def test_plain_text_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match=r"no RSS, Atom or RDF content \(got text/plain\)"):
        feeds.parse_feed("https://ex.org/f", b"Just words.\nMore.", {"content-type": "text/plain"})


def test_200_without_validators_drops_the_old_ones(http_server, client) -> None:
    url = http_server.add("/feed", RSS)
    response = _poll(client, url, etag='"old"', last_modified="Sat, 28 Feb 2026 10:00:00 GMT")
    assert (response.etag, response.last_modified) == (None, None)


def test_poll_asks_for_feed_types(http_server, client) -> None:
    url = http_server.add("/feed", RSS)
    _poll(client, url)
    assert http_server.hits("/feed")[0].headers["accept"].startswith("application/rss+xml")


def test_relative_content_location_resolves_against_feed_url(http_server, client) -> None:
    url = http_server.add("/feeds/a.xml", ATOM_WITH_CONTENT, headers={"Content-Location": "/b/"})
    response = _poll(client, url)
    assert response.entries[0].link == http_server.url("/stories/1")


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (None, "https://ex.org/f/rss"),
        ("https://cdn.ex.org/x/", "https://cdn.ex.org/x/"),
        ("../base/", "https://ex.org/base/"),
        ("javascript:alert(1)", "https://ex.org/f/rss"),
    ],
)
def test_base_url(location: str | None, expected: str) -> None:
    assert feeds.base_url("https://ex.org/f/rss", location) == expected
