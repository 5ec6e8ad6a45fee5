"""OPML: reading nested feed lists, refusing bad or hostile XML, and writing a list back."""

from __future__ import annotations

import pytest

from monitor.errors import ConfigError
from monitor.opml import read_opml, write_opml
from monitor.types import FeedState

NESTED_OPML = b"""<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>Mine</title></head><body>
  <outline text="News">
    <outline text="Example" title="Example News" type="rss" xmlUrl="https://example.org/rss"/>
    <outline text="Deeper"><outline text="Wire" xmlUrl="http://wire.example/atom"/></outline>
  </outline>
  <outline text="Not a feed" htmlUrl="https://example.org/"/>
  <outline text="Mail" xmlUrl="mailto:someone@example.org"/>
</body></opml>"""

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Example News</title><link>https://example.org/</link>
<item><title>First story</title><link>https://example.org/1</link></item>
</channel></rss>"""


def _state(feed_url: str, title: str | None = None) -> FeedState:
    return FeedState(
        feed_url=feed_url,
        title=title,
        enabled=True,
        etag=None,
        last_modified=None,
        last_polled=None,
        last_status=None,
        last_success=None,
        error_count=0,
        first_error_at=None,
        last_error=None,
        next_poll=None,
    )


def test_read_opml_takes_nested_outlines() -> None:
    sources = read_opml(NESTED_OPML, "subs.opml")
    assert [(s.feed_url, s.title, s.origin) for s in sources] == [
        ("https://example.org/rss", "Example News", "opml"),
        ("http://wire.example/atom", "Wire", "opml"),
    ]


def test_opml_round_trip_keeps_urls_and_titles() -> None:
    states = [
        _state("https://example.org/rss", title="Ex & Co <news>"),
        _state("https://other.example/feed?format=atom&x=1"),
    ]
    sources = read_opml(write_opml(states).encode("utf-8"), "out.opml")
    assert [(s.feed_url, s.title) for s in sources] == [
        ("https://example.org/rss", "Ex & Co <news>"),
        (
            "https://other.example/feed?format=atom&x=1",
            "https://other.example/feed?format=atom&x=1",
        ),
    ]


def test_bad_opml_xml_names_file_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        read_opml(b"<opml>\n<body>\n<outline></body></opml>", "broken.opml")
    assert (caught.value.path, caught.value.line) == ("broken.opml", 3)


def test_opml_entity_declarations_are_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>
<opml version="2.0"><body><outline text="&b;" xmlUrl="https://example.org/rss"/></body></opml>"""
    with pytest.raises(ConfigError, match="entity declarations are not accepted"):
        read_opml(bomb, "bomb.opml")


def test_xml_that_is_not_opml_is_refused() -> None:
    with pytest.raises(ConfigError, match="not an OPML file: root element is rss"):
        read_opml(RSS, "feed.xml")
