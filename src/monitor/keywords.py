"""The keyword gate: does a feed entry mention what the user watches?"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class KeywordGate:
    """Case-insensitive whole-word phrases, plus optional regular expressions.

    An entry passes when it contains at least one `any` phrase (if any are set), every `all` phrase,
    no `none` phrase, and matches every `regex`.
    """

    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()


@lru_cache(maxsize=1024)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _mentions(text: str, phrase: str) -> bool:
    return bool(phrase.strip()) and _phrase_pattern(phrase).search(text) is not None


def _mentions_any(text: str, phrases: Sequence[str]) -> bool:
    return any(_mentions(text, phrase) for phrase in phrases)


def passes_gate(text: str, gate: KeywordGate) -> bool:
    """True when `text` meets every list of the gate that is set."""
    if gate.any and not _mentions_any(text, gate.any):
        return False
    if not all(_mentions(text, phrase) for phrase in gate.all):
        return False
    if _mentions_any(text, gate.none):
        return False
    return all(re.search(pattern, text, re.IGNORECASE) for pattern in gate.regex)
