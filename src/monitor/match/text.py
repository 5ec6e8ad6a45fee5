"""Plain-text helpers for matching: HTML stripping, sentence splitting, word tokens."""

from __future__ import annotations

import html
import re

MAX_SENTENCES = 2000
MAX_SENTENCE_WORDS = 400
MAX_SENTENCE_CHARS = 4000  # a "word" of thousands of characters is a data blob, not prose
# A 200,000-word article is cut here before splitting, so time and memory stay bounded.
MAX_TEXT_CHARS = 400_000

_TAG = re.compile(r"<[^>]{0,2000}>")
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_LOOKS_LIKE_HTML = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_BLOCK_TAG = re.compile(r"</?(p|div|br|li|h[1-6]|tr|blockquote|section|article)\b[^>]*>", re.I)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# Chinese and Japanese full stops end a sentence with no space after them.
_CJK_STOP = re.compile(r"([。！？]+)")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")

# Words that end in a full stop without ending the sentence.
_ABBREVIATIONS_TEXT = (
    "mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres rev hon "
    "inc ltd co corp bros dept univ assn est fig no vol vs etc al approx jan feb mar apr jun jul "
    "aug sep sept oct nov dec u.s u.k u.n e.g i.e a.m p.m d.c"
)
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
# Candidate boundary: . ! ? (possibly repeated), optional closing quotes/brackets, then space.
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’)\]]*)\s+")


def strip_html(text: str) -> str:
    """Remove tags and decode entities from text holding HTML; plain text passes unchanged."""
    if not _LOOKS_LIKE_HTML.search(text) and "&" not in text:
        return text
    if _LOOKS_LIKE_HTML.search(text):
        text = _SCRIPT.sub(" ", text)
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    return html.unescape(text)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits, inner apostrophes kept)."""
    return [match.group(0).replace("’", "'") for match in _WORD.finditer(text.lower())]


def _ends_sentence(before: str, after: str) -> bool:
    """Decide whether a full stop between `before` and `after` ends a sentence."""
    last_word = before.rsplit(None, 1)[-1] if before.strip() else ""
    stem = last_word.rstrip(".").lower().lstrip("(\"'“‘")
    if stem in _ABBREVIATIONS:
        return False
    # Single initials ("J. Smith") and dotted acronyms ("U.S.") rarely end a sentence
    # before a capital letter; numbers like "3." before a lower-case word neither.
    if len(stem) == 1 and stem.isalpha():
        return False
    return not (after[:1].islower())


def _split_block(block: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(block):
        end = match.end(2)
        before = block[start : match.start(1)]
        after = block[match.end() : match.end() + 1]
        if match.group(1) == "." and not _ends_sentence(before, after):
            continue
        if after and not after.islower():
            sentences.append(block[start:end])
            start = match.end()
    sentences.append(block[start:])
    return sentences


def _cap_words(sentence: str) -> list[str]:
    words = sentence.split()
    pieces = [
        " ".join(words[i : i + MAX_SENTENCE_WORDS])
        for i in range(0, len(words), MAX_SENTENCE_WORDS)
    ]
    return [piece[:MAX_SENTENCE_CHARS] for piece in pieces]


def split_sentences(text: str) -> list[str]:
    """Split news text into sentences (newlines are boundaries), capped in count and size."""
    text = _CJK_STOP.sub("\\1\n", strip_html(text[:MAX_TEXT_CHARS]))
    out: list[str] = []
    for block in text.splitlines():
        block = _SPACES.sub(" ", block).strip()
        if not block:
            continue
        for sentence in _split_block(block):
            for piece in _cap_words(sentence.strip()):
                if piece and any(ch.isalnum() for ch in piece):
                    out.append(piece)
                    if len(out) >= MAX_SENTENCES:
                        return out
    return out
