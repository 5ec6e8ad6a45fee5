"""The offline demo: its server, its feeds and pages, and the config it writes."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest

from monitor.config import parse_settings
from monitor.demo import (
    DEMO_DATA_DIR,
    demo_config_yaml,
    demo_feed_urls,
    demo_keywords,
    serve_demo,
)
from monitor.errors import ConfigError

MISSING_PAGE = "/pages/aleppo-strike-statement.html"
SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"
PAGES = sorted((DEMO_DATA_DIR / "pages").glob("*.html"))


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_demo() as url:
        yield url


@pytest.fixture(scope="module")
def feed_links(base_url: str) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for feed_url in demo_feed_urls(base_url):
        parsed = feedparser.parse(httpx.get(feed_url).content)
        links[feed_url] = [entry.link for entry in parsed.entries]
    return links


def _all_links(feed_links: dict[str, list[str]]) -> list[str]:
    return [link for links in feed_links.values() for link in links]


# --- the server ----------------------------------------------------------------------------------


def test_feed_is_served_with_base_substituted(base_url: str) -> None:
    body = httpx.get(f"{base_url}/feeds/wire.xml").text
    assert "{{BASE}}" not in body
    assert f"<link>{base_url}/pages/moscow-denies-qaterji.html</link>" in body


def test_page_is_served_with_base_substituted(base_url: str) -> None:
    body = httpx.get(f"{base_url}/pages/omran-video-viral.html").text
    assert f'href="{base_url}/pages/omran-video-viral.html"' in body


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/feeds/wire.xml", "application/rss+xml"),
        ("/feeds/world.xml", "application/rss+xml"),
        ("/feeds/gazette.atom", "application/atom+xml"),
        ("/pages/weather-heatwave.html", "text/html; charset=utf-8"),
    ],
)
def test_content_type_follows_file_kind(base_url: str, path: str, content_type: str) -> None:
    assert httpx.get(base_url + path).headers["content-type"] == content_type


def test_if_none_match_with_current_etag_gives_304(base_url: str) -> None:
    first = httpx.get(f"{base_url}/feeds/gazette.atom")
    again = httpx.get(
        f"{base_url}/feeds/gazette.atom", headers={"If-None-Match": first.headers["etag"]}
    )
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == first.headers["etag"]


def test_if_none_match_with_other_etag_gives_200(base_url: str) -> None:
    response = httpx.get(f"{base_url}/feeds/gazette.atom", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert response.content.startswith(b"<?xml")


def test_if_modified_since_last_modified_gives_304(base_url: str) -> None:
    first = httpx.get(f"{base_url}/feeds/world.xml")
    again = httpx.get(
        f"{base_url}/feeds/world.xml", headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    assert again.status_code == 304


def test_if_modified_since_before_last_modified_gives_200(base_url: str) -> None:
    response = httpx.get(
        f"{base_url}/feeds/world.xml",
        headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
    )
    assert response.status_code == 200


def test_missing_file_gives_404(base_url: str) -> None:
    assert httpx.get(f"{base_url}/pages/no-such-story.html").status_code == 404


def test_file_of_other_kind_in_data_dir_gives_404(base_url: str) -> None:
    assert (DEMO_DATA_DIR / "README.md").is_file()
    assert httpx.get(f"{base_url}/README.md").status_code == 404


def test_query_string_is_ignored_when_serving(base_url: str) -> None:
    response = httpx.get(f"{base_url}/pages/qaterji-witnesses.html?utm_source=rss")
    assert response.status_code == 200
    assert "Qaterji" in response.text


def test_head_request_gives_headers_without_body(base_url: str) -> None:
    response = httpx.head(f"{base_url}/feeds/wire.xml")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 1000


def test_server_stops_when_context_exits() -> None:
    with serve_demo() as url:
        assert httpx.get(f"{url}/feeds/wire.xml").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/feeds/wire.xml")


def test_serve_demo_uses_given_data_dir(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "one.xml").write_text(
        "<rss><channel><link>{{BASE}}/</link></channel></rss>"
    )
    with serve_demo(tmp_path) as url:
        body = httpx.get(f"{url}/feeds/one.xml").text
    assert body == f"<rss><channel><link>{url}/</link></channel></rss>"


def test_serve_demo_with_missing_data_dir_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no-demo-here"), serve_demo(tmp_path / "no-demo-here"):
        pass


# --- the feeds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("feed_index", [0, 1, 2], ids=["wire", "gazette", "world"])
def test_demo_feed_parses_cleanly(base_url: str, feed_index: int) -> None:
    feed_url = demo_feed_urls(base_url)[feed_index]
    parsed = feedparser.parse(httpx.get(feed_url).content)
    assert parsed.bozo == 0
    assert len(parsed.entries) >= 4
    assert all(entry.title and entry.summary for entry in parsed.entries)


def test_every_feed_link_exists_except_the_deliberate_404(
    base_url: str, feed_links: dict[str, list[str]]
) -> None:
    missing = [
        urlsplit(link).path for link in _all_links(feed_links) if httpx.get(link).status_code != 200
    ]
    assert missing == [MISSING_PAGE]


def test_every_page_is_linked_from_a_feed(feed_links: dict[str, list[str]]) -> None:
    linked = {urlsplit(link).path for link in _all_links(feed_links)}
    assert {f"/pages/{page.name}" for page in PAGES} <= linked


def test_one_story_is_in_two_feeds_under_the_same_link(feed_links: dict[str, list[str]]) -> None:
    links = _all_links(feed_links)
    assert sorted({link for link in links if links.count(link) > 1}) == [
        f"{urlsplit(links[0]).scheme}://{urlsplit(links[0]).netloc}"
        "/pages/rights-group-incendiary.html"
    ]


def test_one_feed_link_carries_utm_parameters(feed_links: dict[str, list[str]]) -> None:
    tracked = [link for link in _all_links(feed_links) if "utm_" in link]
    assert [urlsplit(link).path for link in tracked] == ["/pages/qaterji-witnesses.html"]


# --- the pages -----------------------------------------------------------------------------------


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.meta: dict[str, str] = {}
        self.tags: set[str] = set()
        self.article_paragraphs = 0
        self._in_article = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.add(tag)
        if tag == "html":
            self.lang = values.get("lang")
        elif tag == "meta" and ("property" in values or "name" in values):
            self.meta[values.get("property") or values["name"]] = values.get("content", "")
        elif tag == "article":
            self._in_article = True
        elif tag == "p" and self._in_article:
            self.article_paragraphs += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._in_article = False


def _parse_page(page: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("page", PAGES, ids=[page.stem for page in PAGES])
def test_page_looks_like_a_news_article(page: Path) -> None:
    parsed = _parse_page(page)
    assert {"title", "nav", "article", "footer"} <= parsed.tags
    assert {"og:site_name", "author", "article:published_time"} <= parsed.meta.keys()
    assert 4 <= parsed.article_paragraphs <= 10


def test_exactly_one_page_is_not_english() -> None:
    languages = {page.name: _parse_page(page).lang for page in PAGES}
    assert {name: lang for name, lang in languages.items() if lang != "en"} == {
        "de-omran-aleppo.html": "de"
    }


# --- keywords and config -------------------------------------------------------------------------


def test_demo_keywords_name_the_story() -> None:
    assert {"Omran", "Aleppo", "Syria", "Russia"} <= set(demo_keywords()["any"])


def test_demo_config_yaml_validates(tmp_path: Path) -> None:
    base = "http://127.0.0.1:8123"
    settings = parse_settings(demo_config_yaml(base, tmp_path, SEEDS_DIR), "demo.yaml", environ={})
    assert [feed.url for feed in settings.feeds] == demo_feed_urls(base)
    assert settings.seeds_dir == SEEDS_DIR.as_posix()
    assert settings.database_url == f"sqlite:///{tmp_path.as_posix()}/monitor.db"
    assert settings.digest.outbox == f"{tmp_path.as_posix()}/outbox"
    assert settings.extraction.allow_private_addresses is True
    assert settings.smtp is None
    assert list(settings.keywords.any) == demo_keywords()["any"]


def test_demo_config_yaml_quotes_awkward_paths(tmp_path: Path) -> None:
    workdir = tmp_path / "demo: #1 'run'"
    settings = parse_settings(
        demo_config_yaml("http://127.0.0.1:1", workdir, SEEDS_DIR), "demo.yaml", environ={}
    )
    assert settings.digest.outbox == f"{workdir.as_posix()}/outbox"
