"""Features between a claim and an article, for the related-vs-unrelated stage.

An article is prepared once (`ArticleView`: sentences, TF-IDF vectors, sentence embeddings on
demand) and then compared with many claims (`ClaimView`), in training and in the service alike.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol

import numpy as np

from monitor.match.encoder import DIMENSION
from monitor.match.lexical import Cues, count_cues
from monitor.match.retrieval import SentenceIndex, rank, terms

LEAD_SENTENCES = 5
EVIDENCE_SENTENCES = 3
CANDIDATE_SENTENCES = 10
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# Terms at least this rare (global idf) are the claim's names and key words.
RARE_IDF = 4.0


class Encoder(Protocol):
    """Anything that turns texts into unit-length embedding rows."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


FEATURE_NAMES: tuple[str, ...] = (
    "tfidf_max",
    "tfidf_top3_mean",
    "tfidf_body",
    "embedding_max",
    "embedding_top3_mean",
    "embedding_lead",
    "coverage_body",
    "coverage_best",
    "coverage_lead",
    "coverage_idf",
    "coverage_rare",
    "bigram_coverage",
    "numbers_claim",
    "numbers_coverage",
    "claim_terms",
    "body_tokens_log",
    "sentences_log",
    "refuting_claim",
    "refuting_evidence",
    "refuting_body_rate",
    "hedging_evidence",
    "confirming_evidence",
    "best_position",
)


def numbers(text: str) -> set[str]:
    """Numbers written in a text, with thousands separators dropped."""
    return {match.group(0).replace(",", "") for match in _NUMBER.finditer(text)}


def bigrams(words: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent term pairs."""
    return set(pairwise(words))


@dataclass(frozen=True, slots=True)
class GlobalIdf:
    """Document frequencies from the training bodies, for whole-article weighting."""

    documents: int
    frequency: dict[str, int]

    def idf(self, term: str) -> float:
        return math.log((1 + self.documents) / (1 + self.frequency.get(term, 0))) + 1.0

    def vector(self, words: Sequence[str]) -> dict[str, float]:
        counts = Counter(words)
        vector = {term: (1.0 + math.log(n)) * self.idf(term) for term, n in counts.items()}
        norm = math.sqrt(sum(value * value for value in vector.values()))
        return {term: value / norm for term, value in vector.items()} if norm else {}

    @classmethod
    def fit(cls, documents: Sequence[Sequence[str]]) -> GlobalIdf:
        frequency: Counter[str] = Counter()
        for words in documents:
            frequency.update(set(words))
        return cls(len(documents), dict(frequency))


@dataclass(slots=True)
class ClaimView:
    """A claim (or headline) prepared for comparison."""

    text: str
    terms: list[str]
    bigrams: set[tuple[str, str]]
    numbers: set[str]
    cues: Cues
    embedding: np.ndarray | None = None


def claim_view(text: str) -> ClaimView:
    """Prepare a claim's terms, numbers and cue counts."""
    words = terms(text)
    return ClaimView(text, words, bigrams(words), numbers(text), count_cues([text]))


@dataclass(slots=True)
class ArticleView:
    """An article prepared once for many claims; embeddings are filled in as claims need them."""

    index: SentenceIndex
    idf_vector: dict[str, float]
    term_set: set[str]
    lead_terms: set[str]
    bigrams: set[tuple[str, str]]
    numbers: set[str]
    token_count: int
    refuting_rate: float
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, DIMENSION), np.float32))
    encoded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def article_view(sentences: Sequence[str], global_idf: GlobalIdf) -> ArticleView:
    """Prepare an article's sentence index, term sets and cue rate."""
    index = SentenceIndex(sentences)
    all_terms = [term for words in index.terms for term in words]
    lead = {term for words in index.terms[:LEAD_SENTENCES] for term in words}
    pairs = {pair for words in index.terms for pair in bigrams(words)}
    refuting = count_cues(sentences).refuting
    return ArticleView(
        index=index,
        idf_vector=global_idf.vector(all_terms),
        term_set=set(all_terms),
        lead_terms=lead,
        bigrams=pairs,
        numbers={n for sentence in sentences for n in numbers(sentence)},
        token_count=sum(len(sentence.split()) for sentence in sentences),
        refuting_rate=refuting / max(len(sentences), 1),
        embeddings=np.zeros((len(sentences), DIMENSION), np.float32),
        encoded=np.zeros(len(sentences), dtype=bool),
    )


def candidates(article: ArticleView, tfidf: Sequence[float]) -> list[int]:
    """The sentences whose embeddings a claim needs: the lead and its best TF-IDF matches."""
    lead = range(min(LEAD_SENTENCES, len(tfidf)))
    best = [position for position, _ in rank(tfidf, CANDIDATE_SENTENCES)]
    return sorted(set(lead) | set(best))


def encode_sentences(article: ArticleView, positions: Sequence[int], encoder: Encoder) -> None:
    """Encode the given sentences of an article, skipping those already encoded."""
    missing = [position for position in positions if not article.encoded[position]]
    if missing:
        article.embeddings[missing] = encoder.encode([article.index.sentences[i] for i in missing])
        article.encoded[missing] = True


def _top_mean(values: Sequence[float], k: int = 3) -> float:
    best = sorted(values, reverse=True)[:k]
    return sum(best) / len(best) if best else 0.0


def _embedding_features(claim: ClaimView, article: ArticleView, pool: list[int]) -> list[float]:
    if claim.embedding is None or not pool:
        return [0.0, 0.0, 0.0]
    similarity = article.embeddings[pool] @ claim.embedding
    lead = [i for i, position in enumerate(pool) if position < LEAD_SENTENCES]
    lead_value = float(similarity[lead].max()) if lead else 0.0
    return [float(similarity.max()), _top_mean(similarity.tolist()), lead_value]


def _overlap_features(
    claim: ClaimView, article: ArticleView, best_terms: set[str], global_idf: GlobalIdf
) -> list[float]:
    """coverage_body .. numbers_coverage: how much of the claim the article repeats."""
    claim_terms = claim.terms
    weights = [global_idf.idf(term) for term in claim_terms]
    rare = [term for term, weight in zip(claim_terms, weights, strict=True) if weight >= RARE_IDF]
    covered_weight = sum(
        weight
        for term, weight in zip(claim_terms, weights, strict=True)
        if term in article.term_set
    )
    return [
        _coverage(claim_terms, article.term_set),
        _coverage(claim_terms, best_terms),
        _coverage(claim_terms, article.lead_terms),
        covered_weight / max(sum(weights), 1e-9),
        _coverage(rare, article.term_set) if rare else -1.0,
        _coverage(list(claim.bigrams), article.bigrams) if claim.bigrams else -1.0,
        float(len(claim.numbers)),
        _coverage(list(claim.numbers), article.numbers) if claim.numbers else -1.0,
    ]


def pair_features(
    claim: ClaimView, article: ArticleView, tfidf: Sequence[float], global_idf: GlobalIdf
) -> list[float]:
    """The feature vector of FEATURE_NAMES for one claim against one article."""
    best = rank(tfidf, 3)
    cues = count_cues([article.index.sentences[position] for position, _ in best])
    best_terms = set(article.index.terms[best[0][0]]) if best else set()
    body_cosine = sum(
        value * article.idf_vector.get(term, 0.0)
        for term, value in global_idf.vector(claim.terms).items()
    )
    return [
        best[0][1] if best else 0.0,
        _top_mean([score for _, score in best]),
        body_cosine,
        *_embedding_features(claim, article, candidates(article, tfidf)),
        *_overlap_features(claim, article, best_terms, global_idf),
        float(len(claim.terms)),
        math.log1p(article.token_count),
        math.log1p(len(article.index.sentences)),
        float(claim.cues.refuting),
        float(cues.refuting),
        article.refuting_rate,
        float(cues.hedging),
        float(cues.confirming),
        float(best[0][0]) / max(len(tfidf), 1) if best else 1.0,
    ]


def _coverage(
    items: Sequence[object], pool: set[object] | set[str] | set[tuple[str, str]]
) -> float:
    if not items:
        return 0.0
    return sum(item in pool for item in items) / len(items)


def claim_features(
    claims: Sequence[ClaimView],
    article: ArticleView,
    encoder: Encoder,
    global_idf: GlobalIdf,
    k: int = EVIDENCE_SENTENCES,
) -> tuple[np.ndarray, list[list[int]]]:
    """Feature rows for claims against an article, and each claim's k best sentences, best first."""
    scores = [article.index.scores(claim.text) for claim in claims]
    needed = sorted({p for tfidf in scores for p in candidates(article, tfidf)})
    encode_sentences(article, needed, encoder)
    missing = [claim for claim in claims if claim.embedding is None]
    if missing:
        vectors = encoder.encode([claim.text for claim in missing])
        for claim, vector in zip(missing, vectors, strict=True):
            claim.embedding = vector
    rows = [
        pair_features(claim, article, tfidf, global_idf)
        for claim, tfidf in zip(claims, scores, strict=True)
    ]
    best = [[p for p, _ in rank(tfidf, k)] for tfidf in scores]
    return np.array(rows, dtype=np.float64).reshape(len(claims), len(FEATURE_NAMES)), best
