"""Seed documents -> claims: read a seed, split it into sentences, keep the checkable ones."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from pathlib import Path

from monitor.errors import ConfigError
from monitor.logs import log_event
from monitor.types import Claim

SEED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})

# --- reading seeds -------------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
     "figure", "figcaption", "button", "select", "svg", "h1", "h2", "h3", "h4", "h5", "h6"}
)  # fmt: skip
_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "br", "section", "article", "main", "blockquote", "pre",
     "table", "tr", "td", "th", "dd", "dt", "body"}
)  # fmt: skip


class _TextParser(HTMLParser):
    """Collects the page title and the paragraphs of its article (or main, or body)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title_parts: list[str] = []
        self.first_h1: list[str] = []
        self.paragraphs: dict[str, list[str]] = {"article": [], "main": [], "body": []}
        self._current: list[str] = []
        self._open: dict[str, int] = {"title": 0, "h1": 0, "article": 0, "main": 0}
        self._skip_depth = 0
        self._h1_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._open:
            self._open[tag] += 1
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        if tag in _BLOCK_TAGS or tag in _SKIPPED_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS or tag in _SKIPPED_TAGS:
            self._flush()
        if tag in _SKIPPED_TAGS and self._skip_depth:
            self._skip_depth -= 1
        if self._open.get(tag):
            self._open[tag] -= 1
        if tag == "h1" and self.first_h1:
            self._h1_done = True

    def handle_data(self, data: str) -> None:
        if self._open["title"]:
            self.title_parts.append(data)
        elif self._open["h1"] and not self._h1_done:
            self.first_h1.append(data)
        elif not self._skip_depth:
            self._current.append(data)

    def _flush(self) -> None:
        text = _collapse(" ".join(self._current))
        self._current = []
        if not text:
            return
        self.paragraphs["body"].append(text)
        if self._open["main"]:
            self.paragraphs["main"].append(text)
        if self._open["article"]:
            self.paragraphs["article"].append(text)

    def result(self) -> tuple[str, str]:
        self._flush()
        title = _collapse(" ".join(self.title_parts)) or _collapse(" ".join(self.first_h1))
        for region in ("article", "main", "body"):
            if self.paragraphs[region]:
                return title, "\n\n".join(self.paragraphs[region])
        return title, ""


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _html_text(source: str) -> tuple[str, str]:
    parser = _TextParser()
    parser.feed(source)
    parser.close()
    return parser.result()


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_INLINE = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"(\*\*|__|`)"), ""),  # bold and code marks
    (re.compile(r"(?<!\w)[*_](\S(?:.*?\S)?)[*_](?!\w)"), r"\1"),  # emphasis
    (re.compile(r"^\s{0,3}(?:>\s?)+"), ""),  # block quotes
    (re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+"), ""),  # list markers
)


def _markdown_text(source: str) -> tuple[str, str]:
    lines = source.splitlines()
    if lines and lines[0].strip() == "---" and "---" in (line.strip() for line in lines[1:]):
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
        lines = lines[end + 1 :]
    title, body = "", []
    for line in lines:
        heading = _MD_HEADING.match(line)
        if heading:
            title = title or heading.group(1)
            body.append("")  # a heading ends the paragraph above it and is not body text
            continue
        for pattern, replacement in _MD_INLINE:
            line = pattern.sub(replacement, line)
        body.append(line)
    text = "\n".join(body)
    if not title:
        title, text = _plain_text(text)
    return title, text


def _plain_text(source: str) -> tuple[str, str]:
    lines = source.splitlines()
    for index, line in enumerate(lines):
        if line.strip():
            return _collapse(line), "\n".join(lines[index + 1 :])
    return "", ""


def read_seed(path: Path) -> tuple[str, str]:
    """Read a .txt, .md or .html seed into (title, body text)."""
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read seed: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        title, body = _html_text(source)
    elif suffix in (".md", ".markdown"):
        title, body = _markdown_text(source)
    else:
        title, body = _plain_text(source)
    return title, body.strip()


# --- sentences -----------------------------------------------------------------------------------

# Titles before a name: a full stop after them never ends a sentence.
_TITLES = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "gen", "col", "lt", "maj", "sgt", "capt",
     "cmdr", "adm", "gov", "sen", "rep", "rev", "hon", "pres", "amb", "vs", "v", "no", "nos",
     "fig", "approx", "dept", "e.g", "i.e", "cf", "al", "mt", "ft"}
)  # fmt: skip
_MONTHS = frozenset(
    {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
)
# After an acronym ("U.S.") or a company suffix a sentence ends only when a usual opener follows.
_SUFFIXES = frozenset({"inc", "ltd", "co", "corp", "plc", "bros"})
_OPENERS = frozenset(
    {"the", "a", "an", "it", "its", "he", "she", "they", "we", "i", "in", "on", "at", "but",
     "and", "this", "that", "these", "those", "there", "his", "her", "their", "our", "meanwhile",
     "however", "yet", "so", "if", "when", "while", "after", "before", "as", "some", "many"}
)  # fmt: skip

_BOUNDARY = re.compile(r"(?:[.!?…]+)[\"”’'»)\]]*(?=\s+)")
_NEXT_WORD = re.compile(r"\s+[\"“‘'«(\[]*([^\W_][\w'’-]*)")
_LAST_TOKEN = re.compile(r"(\S+?)[.]$")
_ACRONYM = re.compile(r"(?:[A-Za-z]\.){2,}$")


def _is_boundary(text: str, end: int) -> bool:
    """Does the punctuation run that ends at `end` close a sentence?"""
    following = _NEXT_WORD.match(text, end)
    if following is None:
        return False
    next_word = following.group(1)
    if not (next_word[0].isupper() or next_word[0].isdigit()):
        return False
    head = text[:end].rstrip("\"”’'»)]")
    if not head.endswith(".") or head.endswith(".."):
        return True
    token = head.rsplit(None, 1)[-1].lstrip("\"“‘'«([")
    bare = token[:-1].lower()
    if bare in _TITLES:
        return False
    if bare in _MONTHS:
        return not next_word[0].isdigit()
    if _ACRONYM.search(token) or bare in _SUFFIXES:
        return next_word.lower() in _OPENERS
    # A single capital letter is an initial, as in "J. Smith".
    return not (len(bare) == 1 and bare.isalpha() and token[0].isupper())


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; blank lines always end one, single line breaks do not."""
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        block = _collapse(block)
        start = 0
        for match in _BOUNDARY.finditer(block):
            if _is_boundary(block, match.end()):
                sentences.append(block[start : match.end()].strip())
                start = match.end()
        rest = block[start:].strip()
        if rest:
            sentences.append(rest)
    return [sentence for sentence in sentences if sentence]


# --- which sentences are checkable ---------------------------------------------------------------

_BOILERPLATE = re.compile(
    r"^\d+\s*(?:min|mins|minute|minutes)\s+read\b"
    r"|^(?:read more|related|advertisement|subscribe|sign up|follow us|share this|click here"
    r"|photo|image|credit|picture|watch)\b"
    r"|all rights reserved|©|\(c\)\s*\d{4}|cookies?\b.*\bconsent",
    re.IGNORECASE,
)
_CREDIT = re.compile(r"\[[^\]]{1,40}\]\s*$|\((?:photo|image|picture)[^)]*\)\s*$", re.IGNORECASE)
_FINAL = re.compile(r"[.!][\"”’'»)\]]*$")
_QUESTION = re.compile(r"\?[\"”’'»)\]]*$")
# A sentence that opens on a pronoun leans on the one before it ("It captured the heartache..."), so
# a story cannot be checked against it alone.
_ANAPHORIC = re.compile(r"^(It|Its|This|That|These|Those|They|Their|He|His|She|Her|We)\b")
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundreds?|thousands?|millions?|billions?|dozens?|half|first|second|third)\b",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"\b(?:said|says|say|told|stated|denied|denies|deny|claimed|claims|claim|accused|accuses|"
    r"confirmed|confirms|announced|reported|reports|insisted|alleged|admitted|according to)\b",
    re.IGNORECASE,
)
_EVENT = re.compile(
    r"\b(?:killed|kills|killing|hit|hits|bombed|bombs|bombing|targeted|targets|targeting|struck|"
    r"strikes|stopped|stops|attacked|attacks|destroyed|wounded|injured|launched|fired|shelled|"
    r"captured|arrested|died|dead|fled|displaced|banned|violated|uses|used|using)\b",
    re.IGNORECASE,
)
MIN_WORDS = 6


def _names_an_actor(sentence: str) -> bool:
    """A capitalised word other than the first one (and "I") suggests a named actor."""
    words = [word.strip("\"“”‘’'()[],;:.!") for word in sentence.split()[1:]]
    return any(len(word) > 1 and word[0].isupper() for word in words)


def is_checkable(sentence: str) -> bool:
    """Could a news story confirm or refute this sentence? Drops boilerplate and non-sentences."""
    sentence = _collapse(sentence)
    if len(sentence.split()) < MIN_WORDS or _QUESTION.search(sentence):
        return False
    if _ANAPHORIC.search(sentence):
        return False
    if not _FINAL.search(sentence) or _CREDIT.search(sentence) or _BOILERPLATE.search(sentence):
        return False
    return bool(
        _NUMBER.search(sentence)
        or _names_an_actor(sentence)
        or _ATTRIBUTION.search(sentence)
        or _EVENT.search(sentence)
    )


# --- ids and claims ------------------------------------------------------------------------------

_QUOTES = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"', "‟": '"',
     "″": '"', "«": '"', "»": '"', "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-",
     "−": "-"}
)  # fmt: skip


def normalise_claim_text(text: str) -> str:
    """The form a claim is identified by: lower case, plain quotes and dashes, single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    return _collapse(text)


def claim_id(text: str) -> str:
    """A stable id: the first 12 hex digits of the SHA-1 of the normalised sentence."""
    return hashlib.sha1(
        normalise_claim_text(text).encode("utf-8"), usedforsecurity=False
    ).hexdigest()[:12]


def _units(body: str) -> Iterable[str]:
    """Paragraphs of a text seed, where each line stands alone unless it plainly runs on."""
    for block in re.split(r"\n\s*\n", body):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        unit: list[str] = []
        for line in lines:
            if unit and not _runs_on(unit[-1], line):
                yield " ".join(unit)
                unit = []
            unit.append(line)
        if unit:
            yield " ".join(unit)


_RUN_ON_END = re.compile(r"(?:,|;|\b(?:the|a|an|of|to|and|or|in|on|at|by|for|with|from|that))$")


def _runs_on(previous: str, line: str) -> bool:
    # A hard-wrapped paragraph: the next line starts in lower case or the previous one stops
    # mid-phrase. Otherwise a line is a heading, a byline, a date or a caption of its own.
    return line[0].islower() or bool(_RUN_ON_END.search(previous))


def _unique(claims: Iterable[Claim]) -> list[Claim]:
    seen: set[str] = set()
    kept: list[Claim] = []
    for claim in claims:
        if claim.id not in seen:
            seen.add(claim.id)
            kept.append(claim)
    return kept


def claims_from_seed(path: Path) -> list[Claim]:
    """The checkable sentences of one seed document, each as a Claim sourced to the file name."""
    _title, body = read_seed(path)
    found = (
        Claim(claim_id(sentence), sentence, path.name)
        for unit in _units(body)
        for sentence in split_sentences(unit)
        if is_checkable(sentence)
    )
    return _unique(found)


def pinned_claims(texts: Sequence[str]) -> list[Claim]:
    """Claims written into the config, taken as they are."""
    return [Claim(claim_id(text), _collapse(text), "config") for text in texts if text.strip()]


def load_claims(seeds_dir: Path, pinned: Sequence[str]) -> list[Claim]:
    """Claims of every seed in `seeds_dir` (by file name), then the pinned ones, without repeats."""
    if not seeds_dir.is_dir():
        raise ConfigError(str(seeds_dir), "seeds folder not found")
    seeds = sorted(
        (path for path in seeds_dir.iterdir() if path.suffix.lower() in SEED_SUFFIXES),
        key=lambda path: path.name,
    )
    claims: list[Claim] = []
    for seed in seeds:
        claims.extend(claims_from_seed(seed))
    claims.extend(pinned_claims(pinned))
    unique = _unique(claims)
    log_event("claims.loaded", seeds_dir=seeds_dir, seeds=len(seeds), claims=len(unique))
    return unique
