"""OPML, the feed-list format feed readers import and export: feeds in, feeds out."""

from __future__ import annotations

import xml.parsers.expat
from urllib.parse import urlsplit
from xml.etree import ElementTree

from monitor.errors import ConfigError
from monitor.logs import log_event
from monitor.types import FeedSource, FeedState


def read_opml(data: bytes, path: str) -> list[FeedSource]:
    """The feeds of an OPML file, nested outlines included; ConfigError on bad XML."""
    parser = xml.parsers.expat.ParserCreate()
    sources: list[FeedSource] = []
    seen: set[str] = set()
    root: list[str] = []

    def refuse_entities(name: str, *args: object) -> None:
        line = parser.CurrentLineNumber
        raise ConfigError(path, f"entity declarations are not accepted ({name})", line)

    def start(tag: str, attrs: dict[str, str]) -> None:
        if not root:
            root.append(tag)
        if tag != "outline":
            return
        feed_url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        if not feed_url:
            return
        if urlsplit(feed_url).scheme not in ("http", "https"):
            log_event("opml.skipped", path=path, line=parser.CurrentLineNumber, url=feed_url)
            return
        if feed_url not in seen:
            seen.add(feed_url)
            title = (attrs.get("title") or attrs.get("text") or "").strip() or None
            sources.append(FeedSource(feed_url, title, origin="opml"))

    parser.StartElementHandler = start
    parser.EntityDeclHandler = refuse_entities
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise ConfigError(path, f"not valid XML: {exc}", exc.lineno) from exc
    if root != ["opml"]:
        raise ConfigError(path, f"not an OPML file: root element is {root[0] if root else None}")
    return sources


def write_opml(feeds: list[FeedState]) -> str:
    """An OPML 2.0 document listing `feeds`."""
    opml = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(opml, "head")
    ElementTree.SubElement(head, "title").text = "claim-monitor feeds"
    body = ElementTree.SubElement(opml, "body")
    for feed in feeds:
        title = feed.title or feed.feed_url
        ElementTree.SubElement(
            body, "outline", type="rss", text=title, title=title, xmlUrl=feed.feed_url
        )
    ElementTree.indent(opml)
    return ElementTree.tostring(opml, encoding="unicode", xml_declaration=True) + "\n"
