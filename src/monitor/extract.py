"""Page bytes -> Article: charset, trafilatura text and metadata, fallback to the feed entry.

The pipeline fetches the page; this stage only reads the finished `HttpResponse`. Whenever the page
cannot give the story (no response, an HTTP error, not HTML, a paywall or consent stub, too few
words), the article is built from the feed entry instead and `fallback_reason` says why.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser

import trafilatura
from trafilatura.settings import Document

from monitor.language import detect_language as detect_language  # re-exported for callers
from monitor.language import html_language
from monitor.types import Article, Entry, HttpResponse

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CHAOS_MARGIN = 0.05
_MIN_STANDFIRST_CHARS = 40
_PRESCAN_BYTES = 4096  # browsers look for <meta charset> in the first 1024 bytes; be lenient
# Labels that browsers decode as windows-1252 (the WHATWG encoding standard), whatever they say.
_CP1252_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "ascii", "us-ascii"})
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)"""
    rb"""|<\?xml[^>]{0,100}?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.I,
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_WORD = re.compile(r"\w+")
_BODY_START = re.compile(r"<body\b", re.I)
_INVISIBLE = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")

# Blocks that sit inside article containers on real pages: advertiser disclosures
# (thepointsguy.com), "next post" teasers (boingboing.net), photo credit boxes (salon.com,
# viconsortium.com). Pruning them removed four leaks on the corpus and cost no "with" snippet.
_PRUNE_XPATH = (
    "//*[contains(@class, 'disclosure') or contains(@class, 'credit')"
    " or contains(@id, 'next-post') or contains(@class, 'next-post')]"
)

# Lines that news pages put next to the story: teasers, newsletter and app promotions, paywall
# notes, photo credits, affiliate disclosures. Only short lines are tested, so a paragraph of the
# story that happens to mention a newsletter survives.
_BOILERPLATE_MAX_WORDS = 40
_BOILERPLATE = re.compile(
    r"""^(read|see)\s+(more|also)\s*:
    | ^(related|more\s+on\s+this|also\s+read|recommended)\s*:
    | ^\(?\s*(photo|image|picture)?\s*credits?\s*:
    | ^advertisement$
    | \bsign(ing)?[\s-]?up\b.{0,80}\bnewsletters?\b
    | \bnewsletters?\b.{0,60}\bsign[\s-]?up\b
    | \bby\s+e-?mail\b.{0,80}\bsign[\s-]?up\b
    | \b(to\s+view|to\s+read|for)\s+the\s+full\s+(story|article)\b
    | \balready\s+a\s+subscriber\b
    | ^(first-time\s+)?subscribers?\s+(also\s+)?(receive|get)\b
    | \b(download|get)\s+(the|our)\b.{0,40}\bapps?\b.{0,30}\b(ios|android|iphone)\b
    | \bsubmit\s+(a|your)\s+letters?\s+to\s+the\s+editor\b
    | \bwe\s+want\s+to\s+hear\s+what\s+you\s+think\b
    | \bcomments\s+are\s+moderated\b
    | ^our\s+standards\s*:
    | \bwe\s+may\s+(receive|earn)\s+(compensation|a\s+commission)\b
    | \ball\s+rights\s+reserved\.?$
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Lines that mark a wall in front of the story: a paywall or a cookie-consent prompt. A page whose
# text is mostly such a wall (see extract_article) is "blocked".
_WALLS = {
    "paywall": re.compile(
        r"\b(subscribe|subscription|subscribers?)\b.{0,80}\b(continue|full|unlimited|exclusive)\b"
        r"|\balready\s+a\s+subscriber\b|\b(log|sign)\s+in\s+to\s+(continue|read)\b",
        re.IGNORECASE,
    ),
    "consent": re.compile(
        r"\b(we\s+value\s+your\s+privacy|accept\s+all\s+cookies|cookie\s+(settings|consent)"
        r"|we\s+and\s+our\s+partners|before\s+you\s+continue|manage\s+(your\s+)?consent)\b",
        re.IGNORECASE,
    ),
}


@dataclass(frozen=True, slots=True)
class PageText:
    """What trafilatura found on a page, boilerplate lines already removed."""

    text: str
    title: str | None
    author: str | None
    published: datetime | None
    site_name: str | None
    language: str | None
    blocked: str | None  # "paywall" or "consent" when the text is only a wall before the story


def extract_article(response: HttpResponse | None, entry: Entry, *, min_words: int) -> Article:
    """The article behind `entry`: from its page when usable, else from the feed entry."""
    url = _article_url(response, entry)
    reason = unusable_reason(response)
    if reason is not None or response is None:
        return feed_article(entry, url, reason or "fetch failed")
    page = read_page(decode_html(response.body, response.headers.get("content-type", "")), url)
    reason = thin_reason(page, min_words)
    if reason is not None:
        return feed_article(entry, url, reason, language=page.language)
    return Article(
        url=url,
        title=_choose_title(page.title, entry.title),
        text=page.text,
        published=_choose_published(page.published, entry.published),
        text_source="page",
        site_name=page.site_name,
        author=page.author,
        language=page.language or detect_language(page.text),
    )


def thin_reason(page: PageText, min_words: int) -> str | None:
    """Why the page's text is too little to stand for the story, or None when it will do."""
    words = count_words(page.text)
    # A wall line next to plenty of story text is a teaser box, not a wall (haitiantimes.com).
    if page.blocked is not None and words < 2 * min_words:
        return f"blocked page: {page.blocked}"
    if words < min_words:
        return f"thin page: {words} words"
    return None


def feed_article(entry: Entry, url: str, reason: str, language: str | None = None) -> Article:
    """The article as the feed tells it, with the reason the page was not used.

    `language` is the page's declared language when a page was read; otherwise it is detected
    from the entry's title and summary.
    """
    text = html_to_text(entry.summary) if "<" in entry.summary else entry.summary.strip()
    return Article(
        url=url,
        title=entry.title,
        text=text,
        published=entry.published,
        text_source="feed",
        language=language or detect_language(f"{entry.title}\n{text}"),
        fallback_reason=reason,
    )


def _article_url(response: HttpResponse | None, entry: Entry) -> str:
    # The entry's canonical link is the story's identity; the fetched URL may carry tracking tags.
    if entry.link:
        return entry.link
    if response is not None:
        return response.final_url or response.url
    return entry.entry_id


def unusable_reason(response: HttpResponse | None) -> str | None:
    """Why a fetched response cannot hold the article, or None when it may."""
    if response is None:
        return "fetch failed"
    if not 200 <= response.status < 300:
        return f"HTTP {response.status}"
    content_type = response.content_type or sniff_content_type(response.body)
    if content_type not in HTML_TYPES:
        return f"page not HTML: {content_type or 'unknown type'}"
    if not response.body.strip():
        return "empty page"
    return None


def sniff_content_type(body: bytes) -> str:
    """A content type guessed from the first bytes, for responses that sent none."""
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf-"):
        return "application/pdf"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "text/html"
    if head.startswith(b"<?xml"):
        return "application/xml"
    return ""


def decode_html(body: bytes, content_type: str = "") -> str:
    """Page bytes as text: BOM, then the header's charset, then <meta>, then detection."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace")
    declared = _charset_label(_HEADER_CHARSET, content_type) or _meta_charset(body)
    if declared is not None:
        return body.decode(declared, errors="replace")
    return body.decode(detect_encoding(body), errors="replace")


def _charset_label(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return _known_encoding(match.group(1)) if match else None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:_PRESCAN_BYTES])
    label = (match.group(1) or match.group(2)).decode("ascii") if match else None
    name = _known_encoding(label) if label else None
    # A page that says UTF-16 in a <meta> cannot be UTF-16, or the tag would not be readable.
    return "utf-8" if name is not None and name.startswith("utf-16") else name


def _known_encoding(label: str) -> str | None:
    """The Python codec for a charset label, or None for a label no codec knows."""
    label = label.strip().lower()
    if label in _CP1252_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def detect_encoding(body: bytes) -> str:
    """The encoding of undeclared bytes: strict UTF-8 when it fits, else a statistical guess."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        import charset_normalizer  # installed with trafilatura; optional all the same
    except ImportError:
        return "cp1252"
    matches = list(charset_normalizer.from_bytes(body))
    if not matches:
        return "cp1252"
    # On a short page the least "chaotic" decoding can be a Baltic code page for French text
    # ("aprčs"); among the near-best, the decoding whose letters fit a language best wins.
    least = min(match.chaos for match in matches)
    close = [match for match in matches if match.chaos <= least + _CHAOS_MARGIN]
    best = max(close, key=lambda match: (match.coherence, match.encoding == "cp1252"))
    return _known_encoding(best.encoding) or "cp1252"


def read_page(html: str, url: str | None = None) -> PageText:
    """Run trafilatura over decoded HTML and keep the story's lines and metadata."""
    document = run_trafilatura(html, url)
    raw_text = (document.text or "") if document is not None else ""
    text = remove_boilerplate(raw_text)
    if document is not None and document.description:
        text = add_standfirst(text, document.description, html)
    blocked = wall_kind(raw_text)
    if document is None:
        return PageText(text, None, None, None, None, html_language(html), blocked)
    return PageText(
        text=text,
        title=document.title or None,
        author=document.author or None,
        published=parse_page_date(document.date),
        site_name=document.sitename or None,
        language=html_language(html),
        blocked=blocked,
    )


def run_trafilatura(html: str, url: str | None) -> Document | None:
    """trafilatura's text and metadata, with the options that won on the evaluation corpus.

    Measured with this module's whole pipeline on 67 annotated news pages (extraction_eval.py,
    min_words=50), as "with" snippets found of 196 / "without" snippets leaked of 205: these
    options 191/3; with reader comments 191/5; favor_precision 186/3; favor_recall 188/3;
    deduplicate 191/4; fast (no fallback extractors) 186/3; without the pruning 191/7.
    Tables stay: dropping them changed nothing here, and tables carry figures that claims cite.
    """
    document = trafilatura.bare_extraction(
        html,
        url=url,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        prune_xpath=_PRUNE_XPATH,
    )
    return document if isinstance(document, Document) else None  # a dict only with as_dict


def add_standfirst(text: str, description: str, html: str) -> str:
    """Put the page's standfirst before the text when the page shows it but trafilatura left it.

    The meta description counts as the standfirst only when the body shows it above the first
    line of the text: then it is the sub-headline (thelocal.se, pcmag.com), which often states the
    story's claim, and not a site slogan repeated in the footer.
    """
    standfirst = " ".join(description.split())
    flat_text = " ".join(text.split())
    if len(standfirst) < _MIN_STANDFIRST_CHARS or standfirst[:_MIN_STANDFIRST_CHARS] in flat_text:
        return text
    shown = visible_text(html)
    standfirst_at = shown.find(standfirst)
    text_at = shown.find(flat_text[:_MIN_STANDFIRST_CHARS])
    if standfirst_at < 0 or text_at < 0 or standfirst_at > text_at:
        return text
    return f"{standfirst}\n{text}"


def visible_text(html: str) -> str:
    """The body's text with scripts and tags removed and whitespace collapsed, for lookups."""
    start = _BODY_START.search(html)
    body = _INVISIBLE.sub(" ", html[start.start() if start else 0 :])
    return " ".join(unescape(_TAG.sub(" ", body)).split())


def wall_kind(text: str) -> str | None:
    """The kind of wall ("paywall", "consent") a short line of the text belongs to, or None."""
    for line in text.split("\n"):
        if count_words(line) > _BOILERPLATE_MAX_WORDS:
            continue
        for kind, pattern in _WALLS.items():
            if pattern.search(line):
                return kind
    return None


def remove_boilerplate(text: str) -> str:
    """The text without blank lines and short lines that are page furniture rather than story."""
    lines = (line.strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line and not _is_boilerplate(line))


def _is_boilerplate(line: str) -> bool:
    if count_words(line) > _BOILERPLATE_MAX_WORDS:
        return False
    return _BOILERPLATE.search(line) is not None


def parse_page_date(value: str | None) -> datetime | None:
    """trafilatura's YYYY-MM-DD date as an aware datetime at midnight UTC."""
    if not value:
        return None
    try:
        day = datetime.strptime(value[:10], "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=UTC)


def _choose_published(page_date: datetime | None, entry_date: datetime | None) -> datetime | None:
    # Feeds give the time of day; pages mostly give only the day. Keep the feed's when they agree.
    if page_date is None:
        return entry_date
    if entry_date is not None and entry_date.astimezone(UTC).date() == page_date.date():
        return entry_date
    return page_date


def _choose_title(page_title: str | None, entry_title: str) -> str:
    # Some CMSs put their own name in the title tags (telegraph.co.uk gives "escenic"), so a
    # one-word page title gives way to the entry's.
    if page_title and (count_words(page_title) > 1 or not entry_title):
        return page_title
    return entry_title or page_title or ""


def count_words(text: str) -> int:
    """Words as the thin-page test counts them."""
    return len(_WORD.findall(text))


_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head"})
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table"}
    | {"blockquote", "section", "article", "header", "footer", "figure", "figcaption", "pre"}
    | {"hr", "dd", "dt"}
)


class _TextCollector(HTMLParser):
    """Collects the visible text of an HTML fragment, a line per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, a line per block."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (" ".join(line.split()) for line in "".join(collector.parts).split("\n"))
    return "\n".join(line for line in lines if line)
