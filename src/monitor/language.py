"""Language of a story: the page's declared <html lang>, else a guess from the text itself.

Pure Python on purpose: the guess only sorts stories for the language filter, so a check of the
script and a table of frequent function words do, with nothing to install or download.
"""

from __future__ import annotations

import re

# <html lang> opens the page, so only its first 16 KiB are searched.
_PRESCAN_CHARS = 4 * 4096
_HTML_LANG = re.compile(r"""<html\b[^>]*?\s(?:xml:)?lang\s*=\s*["']?([A-Za-z]{2,3})\b""", re.I)
_WORD = re.compile(r"\w+")

# Frequent function words per language; a text's language is the list it hits most often.
_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and of to in is that for it with was on as are by this be from have has not "
        "at but they which said were their will would",
        "de": "der die das und ist nicht ein eine zu den von mit sich des auf für im dem "
        "auch es wird sind wurde bei nach noch aus",
        "fr": "le la les et des est une du dans que pour qui pas sur au ce avec sont il "
        "elle aux ont mais cette été par",
        "es": "el la los las y de que en es del por con una para se su al lo como más "
        "pero fue sus ha este",
        "it": "il di che la è e per una del non della sono le gli con da si al ha anche "
        "questo nel alla dei",
        "pt": "o a os as e de que do da em um uma para com não no na se por mais foi "
        "são ao dos pelo",
        "nl": "de het een en van is dat niet op te in met voor zijn er aan ook als bij "
        "maar door werd om wordt",
    }.items()
}
_SCRIPTS = (  # (language, first code point, last code point) for languages told by their script
    ("ja", 0x3040, 0x30FF),  # kana: before Han, which Japanese also uses
    ("ko", 0xAC00, 0xD7AF),
    ("zh", 0x4E00, 0x9FFF),
    ("ru", 0x0400, 0x04FF),
    ("ar", 0x0600, 0x06FF),
    ("he", 0x0590, 0x05FF),
    ("el", 0x0370, 0x03FF),
)
_MIN_STOPWORD_HITS = 2


def html_language(html: str) -> str | None:
    """The primary language tag of <html lang>, lower-cased, or None."""
    match = _HTML_LANG.search(html[:_PRESCAN_CHARS])
    return match.group(1).lower() if match else None


def detect_language(text: str) -> str | None:
    """A two-letter language code for plain text, or None when it cannot tell."""
    letters = [ch for ch in text[:5000] if ch.isalpha()]
    if not letters:
        return None
    for language, first, last in _SCRIPTS:
        share = sum(first <= ord(ch) <= last for ch in letters) / len(letters)
        if share > (0.05 if language == "ja" else 0.3):
            return language
    words = [word.lower() for word in _WORD.findall(text[:20000])]
    hits = {lang: sum(word in stop for word in words) for lang, stop in _STOPWORDS.items()}
    best = max(hits, key=lambda lang: hits[lang])
    return best if hits[best] >= _MIN_STOPWORD_HITS else None
