"""Retrieval: the article sentences most similar to a claim, which are also the evidence."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from monitor.match.text import split_sentences, tokens

_STOPWORDS_TEXT = (
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "am it its it's this that these those there here he she they them his her their we us our "
    "you your i me my mine so than then too very can could will would shall should may might "
    "must do does did has have had having not no nor just also about into over after before "
    "under again more most such only own same other some any all each both few which who whom "
    "whose what when where why how up down out off once while during through until against "
    "between because s t"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def stem(word: str) -> str:
    """A light suffix stripper: enough to match 'claims'/'claimed'/'claiming'."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: len(word) - len(suffix)] + keep
    return word


def terms(text: str) -> list[str]:
    """Stemmed content-word tokens of a text."""
    return [stem(word) for word in tokens(text) if word not in STOPWORDS]


def _idf(documents: Sequence[Sequence[str]]) -> dict[str, float]:
    document_count = len(documents)
    frequency: Counter[str] = Counter()
    for document in documents:
        frequency.update(set(document))
    return {
        term: math.log((1 + document_count) / (1 + count)) + 1.0
        for term, count in frequency.items()
    }


def _vector(words: Sequence[str], idf: dict[str, float], default: float) -> dict[str, float]:
    counts = Counter(words)
    vector = {term: (1.0 + math.log(n)) * idf.get(term, default) for term, n in counts.items()}
    norm = math.sqrt(sum(value * value for value in vector.values()))
    return {term: value / norm for term, value in vector.items()} if norm else {}


class SentenceIndex:
    """TF-IDF vectors of an article's sentences, built once and queried by many claims."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self.sentences = list(sentences)
        self.terms = [terms(sentence) for sentence in self.sentences]
        self.idf = _idf(self.terms)
        self.default_idf = math.log(1 + len(self.terms)) + 1.0
        self.vectors = [_vector(words, self.idf, self.default_idf) for words in self.terms]

    def scores(self, claim: str) -> list[float]:
        """TF-IDF cosine of the claim with each sentence."""
        claim_vector = _vector(terms(claim), self.idf, self.default_idf)
        return [
            sum(value * vector.get(term, 0.0) for term, value in claim_vector.items())
            for vector in self.vectors
        ]


def cosine_scores(claim: str, sentences: Sequence[str]) -> list[float]:
    """TF-IDF cosine of the claim with each sentence; idf comes from the sentences themselves."""
    return SentenceIndex(sentences).scores(claim)


def rank(scores: Sequence[float], k: int) -> list[tuple[int, float]]:
    """Indices of the k best scores, best first; ties go to the earlier position."""
    order = sorted(range(len(scores)), key=lambda index: (-scores[index], index))
    return [(index, float(scores[index])) for index in order[: max(k, 0)]]


def top_sentences(claim: str, sentences: Sequence[str], k: int = 3) -> list[tuple[int, float]]:
    """Indices and scores of the sentences most similar to the claim, best first."""
    return rank(cosine_scores(claim, sentences), k)


def evidence_text(claim: str, body: str, k: int = 3) -> tuple[list[str], str]:
    """The k sentences of the body closest to the claim (best first) and them joined by spaces."""
    sentences = split_sentences(body)
    chosen = [sentences[index] for index, _ in top_sentences(claim, sentences, k)]
    return chosen, " ".join(chosen)
