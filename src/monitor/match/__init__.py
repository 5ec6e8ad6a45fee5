"""Matching claims with articles: evidence retrieval and a stance model.

The pipeline uses only `load_matcher` and `Matcher.match`; everything else in this package is
how the matcher decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from monitor.errors import ModelError
from monitor.logs import log_event
from monitor.match.lexical import LexicalMatcher
from monitor.match.model import REQUIRED_FILES, has_model, load_two_stage
from monitor.match.text import split_sentences, tokens
from monitor.types import Claim, Stance

MODEL_DIR = Path(__file__).resolve().parent / "model"
MIN_CLAIM_WORDS = 4
# One-sentence articles are matched: a tenth of FNC-1's related dev pairs have a one-sentence
# body, and feed summaries are often one sentence. Only a few words are too few to judge.
MIN_ARTICLE_WORDS = 8
# English running text is about half function words; other languages score near zero.
MIN_ENGLISH_SHARE = 0.12
_ENGLISH_TEXT = (
    "the of and to a in is that for it was on with as he be by at are this have from or had not "
    "but his they an were which she has been their will would there its who said after also more "
    "than we about when you i can one all her new some what"
)
_ENGLISH = frozenset(_ENGLISH_TEXT.split())

__all__ = ["MODEL_DIR", "Matcher", "load_matcher", "skip_reason"]


class StanceBackend(Protocol):
    """A stance model that works on an article already split into sentences."""

    name: str

    def match_sentences(
        self, claims: Sequence[Claim], sentences: Sequence[str]
    ) -> list[Stance]: ...


def english_share(sentences: Sequence[str], limit: int = 2000) -> float:
    """Share of the first `limit` words that are common English function words."""
    words: list[str] = []
    for sentence in sentences:
        words.extend(tokens(sentence))
        if len(words) >= limit:
            break
    words = words[:limit]
    return sum(word in _ENGLISH for word in words) / len(words) if words else 0.0


def skip_reason(sentences: Sequence[str]) -> str | None:
    """Why an article cannot be matched at all, or None when it can."""
    if not sentences:
        return "article has no text"
    if english_share(sentences) < MIN_ENGLISH_SHARE:
        return "article does not look like English text"
    words = sum(len(tokens(sentence)) for sentence in sentences[:MIN_ARTICLE_WORDS])
    if words < MIN_ARTICLE_WORDS:
        return f"article has {words} word(s), fewer than {MIN_ARTICLE_WORDS}"
    return None


def claim_skip_reason(claim: Claim) -> str | None:
    """Why a claim is too thin to match, or None."""
    count = len(tokens(claim.text))
    if count < MIN_CLAIM_WORDS:
        return f"claim has {count} word(s), fewer than {MIN_CLAIM_WORDS}"
    return None


class Matcher:
    """Decides the stance of an article toward each of some claims."""

    def __init__(self, backend: StanceBackend) -> None:
        self._backend = backend

    @property
    def name(self) -> str:
        return self._backend.name

    def match(self, claims: Sequence[Claim], article_text: str) -> list[Stance]:
        """One stance per claim, in order; unmatchable inputs give `unrelated` with a reason."""
        sentences = split_sentences(article_text)
        article_reason = skip_reason(sentences)
        reasons = [article_reason or claim_skip_reason(claim) for claim in claims]
        ready = [claim for claim, reason in zip(claims, reasons, strict=True) if reason is None]
        decided = iter(self._backend.match_sentences(ready, sentences) if ready else [])
        return [
            next(decided) if reason is None else Stance("unrelated", 0.0, (), reason)
            for reason in reasons
        ]


def load_matcher(model_dir: Path | None = None, *, lexical: bool = False) -> Matcher:
    """The trained model from `model_dir` (default: the package's), else the lexical model."""
    if lexical:
        backend: StanceBackend = LexicalMatcher()
    elif model_dir is not None and not has_model(model_dir):
        missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
        raise ModelError(f"{model_dir}: not a stance model folder (missing {', '.join(missing)})")
    elif has_model(model_dir or MODEL_DIR):
        backend = load_two_stage(model_dir or MODEL_DIR)
    else:
        backend = LexicalMatcher()
    where = "-" if isinstance(backend, LexicalMatcher) else str(model_dir or MODEL_DIR)
    log_event("match.model_loaded", name=backend.name, path=where)
    return Matcher(backend)
