"""Every feed document of ../shared/corpus/feeds served over loopback HTTP and polled.

The documents come from feedparser's own test suite and from real news feeds (see NOTICE.txt there).
A poll may fail only with FeedError; whatever it returns must agree with feedparser run directly on
the same bytes and headers.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from conftest import SHARED, LoopbackServer
from monitor import feeds, http
from monitor.errors import FeedError
from monitor.types import FeedState

CORPUS = SHARED / "corpus" / "feeds"
FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file())
NOW = datetime(2026, 3, 1, tzinfo=UTC)
FEED_SUFFIXES = (".rss", ".xml", ".atom", ".rdf")
_HEADER_LINE = re.compile(rb"^\s*Header:\s*([A-Za-z-]+):[ \t]*(.*?)\s*$", re.MULTILINE)
_EXPECT_LINE = re.compile(rb"^\s*Expect:\s*(.*?)\s*$", re.MULTILINE)


def _metadata_comment(data: bytes) -> bytes:
    start = data.find(b"<!--")
    end = data.find(b"-->", start)
    return data[start:end] if 0 <= start < end else b""


def served_headers(name: str, data: bytes) -> dict[str, str]:
    """The file's `Header:` lines; a Content-Type when it names none, as feedparser's suite does."""
    comment = _metadata_comment(data)
    headers = {
        key.decode("ascii"): value.decode("latin-1") for key, value in _HEADER_LINE.findall(comment)
    }
    if "content-type" not in {key.lower() for key in headers}:
        # feedparser's suite serves "http" files as text/xml and parses the rest as bare bytes;
        # application/xml leaves the encoding to the document, as bare bytes do.
        headers["Content-Type"] = "text/xml" if "http" in name else "application/xml"
    return headers


def expected_bozo(data: bytes) -> bool | None:
    """True or False when the file's Expect line starts by naming bozo, else None."""
    found = _EXPECT_LINE.search(_metadata_comment(data))
    expect = found.group(1).decode("latin-1") if found else ""
    if re.match(r"not bozo\b", expect):
        return False
    if re.match(r"bozo\b", expect):
        return True
    return None


def plain_title(value: str, kind: str | None) -> str:
    if kind in ("text/html", "application/xhtml+xml"):
        value = html.unescape(re.sub(r"<[^>]*>", "", value))
    return " ".join(value.split())


# One server for the whole corpus: stopping a server takes up to half a second, once per file
# with the per-test `http_server` fixture.
@pytest.fixture(scope="module")
def corpus_server() -> Iterator[LoopbackServer]:
    if not CORPUS.is_dir():
        pytest.skip(f"feed corpus not found at {CORPUS}")
    server = LoopbackServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with http.make_client("claim-monitor-corpus/1", connect_timeout=5.0, timeout=10.0) as made:
        yield made


def _state(feed_url: str) -> FeedState:
    return FeedState(feed_url, None, True, None, None, None, None, None, 0, None, None, None)


def _direct(data: bytes, headers: dict[str, str], url: str) -> Any:
    lower = {key.lower(): value for key, value in headers.items()}
    lower.setdefault("content-location", url)
    return feedparser.parse(io.BytesIO(data), response_headers=lower)


def _is_real_feed(name: str) -> bool:
    return name.startswith("real/") and name.endswith(FEED_SUFFIXES)


def _poll_or_error(client: httpx.Client, url: str) -> feeds.FeedResponse | FeedError:
    try:
        return feeds.poll_feed(client, _state(url), max_bytes=5_000_000, now=NOW)
    except FeedError as exc:
        return exc


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_polls_like_feedparser(
    name: str, corpus_server, client, shared_dir: Path
) -> None:
    data = (CORPUS / name).read_bytes()
    headers = served_headers(name, data)
    url = corpus_server.add("/" + name, data, headers=headers)
    direct = _direct(data, headers, url)
    outcome = _poll_or_error(client, url)
    if isinstance(outcome, FeedError):
        assert not _is_real_feed(name), f"real feed refused: {outcome}"
        assert "not a feed" in str(outcome)
        assert (direct.get("version"), direct.entries, direct.feed.get("title")) == ("", [], None)
    else:
        _assert_same_as_direct(outcome, direct, expected_bozo(data))
        if _is_real_feed(name):
            assert len(outcome.entries) >= 10


def _assert_same_as_direct(response: feeds.FeedResponse, direct: Any, bozo: bool | None) -> None:
    assert (response.status, response.bozo) == (200, bool(direct.bozo))
    if bozo is not None:
        assert response.bozo == bozo
    title = direct.feed.get("title_detail") or {}
    assert response.title == (plain_title(title.get("value", ""), title.get("type")) or None)
    assert [entry.title for entry in response.entries] == [
        plain_title(raw.get("title", ""), (raw.get("title_detail") or {}).get("type"))
        for raw in direct.entries
    ]
    assert [entry.link for entry in response.entries] == [
        feeds.canonical_link(raw["link"]) if raw.get("link") else None for raw in direct.entries
    ]
