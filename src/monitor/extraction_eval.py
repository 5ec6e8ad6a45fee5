"""Score the project's extraction on a folder of annotated news pages.

The folder holds saved pages and `evaldata-pages.json`, which lists for each page snippets that must
appear in the main text ("with") and snippets that must not ("without"): navigation, bylines,
captions, teasers, newsletter and paywall boilerplate. A snippet counts when it is a substring of
the extracted text.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from monitor.extract import extract_article
from monitor.types import Entry, HttpResponse

ANNOTATIONS_FILE = "evaldata-pages.json"
# Below this many words a page counts as thin. boingboing.net.millenials.html is a real 58-word
# post; the paywalled scmp.com page gives 24 words of photo caption.
EVAL_MIN_WORDS = 50


@dataclass(frozen=True, slots=True)
class PageScore:
    """The snippet counts of one page."""

    file: str
    with_found: int
    with_total: int
    without_leaked: int
    without_total: int
    text_source: str


@dataclass(frozen=True, slots=True)
class ExtractionScore:
    """Snippet counts over a corpus and the measures drawn from them.

    recall = with_found / with_total: the share of must-appear snippets that the text holds.
    precision = with_found / (with_found + without_leaked): of the annotated snippets present in
    the text, the share that belong there (trafilatura's evaluation counts found "with" snippets as
    true positives and leaked "without" snippets as false positives in the same way).
    f1 = the harmonic mean of the two.
    """

    with_found: int
    with_total: int
    without_leaked: int
    without_total: int
    precision: float
    recall: float
    f1: float
    pages_per_second: float
    pages: tuple[PageScore, ...]


def evaluate_extraction(pages_dir: Path, *, min_words: int = EVAL_MIN_WORDS) -> ExtractionScore:
    """Run extract_article over every annotated page in `pages_dir` and count its snippets."""
    annotations = json.loads((pages_dir / ANNOTATIONS_FILE).read_text(encoding="utf-8"))
    pages: list[PageScore] = []
    started = time.perf_counter()
    for key, annotation in annotations.items():
        pages.append(_score_page(pages_dir, key, annotation, min_words))
    elapsed = time.perf_counter() - started
    return _summarise(pages, elapsed)


def _score_page(
    pages_dir: Path, key: str, annotation: dict[str, object], min_words: int
) -> PageScore:
    file = str(annotation["file"])
    url = key if key.startswith("http") else f"https://example.invalid/{file}"
    response = HttpResponse(
        url=url,
        final_url=url,
        status=200,
        headers={"content-type": "text/html"},
        body=(pages_dir / file).read_bytes(),
    )
    entry = Entry(
        feed_url="https://example.invalid/feed",
        entry_id=url,
        title="",
        link=url,
        published=None,
        summary="",
    )
    article = extract_article(response, entry, min_words=min_words)
    with_snippets = _snippets(annotation, "with")
    without_snippets = _snippets(annotation, "without")
    return PageScore(
        file=file,
        with_found=sum(snippet in article.text for snippet in with_snippets),
        with_total=len(with_snippets),
        without_leaked=sum(snippet in article.text for snippet in without_snippets),
        without_total=len(without_snippets),
        text_source=article.text_source,
    )


def _snippets(annotation: dict[str, object], key: str) -> list[str]:
    value = annotation.get(key) or []
    return [str(item) for item in value] if isinstance(value, list) else []


def _summarise(pages: list[PageScore], elapsed: float) -> ExtractionScore:
    with_found = sum(page.with_found for page in pages)
    with_total = sum(page.with_total for page in pages)
    leaked = sum(page.without_leaked for page in pages)
    recall = with_found / with_total if with_total else 0.0
    precision = with_found / (with_found + leaked) if with_found + leaked else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ExtractionScore(
        with_found=with_found,
        with_total=with_total,
        without_leaked=leaked,
        without_total=sum(page.without_total for page in pages),
        precision=precision,
        recall=recall,
        f1=f1,
        pages_per_second=len(pages) / elapsed if elapsed > 0 else 0.0,
        pages=tuple(pages),
    )


def score_as_dict(score: ExtractionScore) -> dict[str, float | int]:
    """The headline figures, for JSON output."""
    return {
        "with_found": score.with_found,
        "with_total": score.with_total,
        "without_leaked": score.without_leaked,
        "without_total": score.without_total,
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
        "f1": round(score.f1, 4),
        "pages_per_second": round(score.pages_per_second, 2),
    }


def format_extraction_score(score: ExtractionScore) -> str:
    """Human-readable lines: the counts, the measures, and the pages that missed or leaked."""
    lines = [
        f"pages: {len(score.pages)} ({score.pages_per_second:.1f} pages/s)",
        f"'with' snippets found: {score.with_found}/{score.with_total}",
        f"'without' snippets leaked: {score.without_leaked}/{score.without_total}",
        f"precision {score.precision:.3f}  recall {score.recall:.3f}  f1 {score.f1:.3f}",
    ]
    for page in score.pages:
        if page.with_found < page.with_total or page.without_leaked:
            lines.append(
                f"  {page.file}: with {page.with_found}/{page.with_total}, "
                f"leaked {page.without_leaked}/{page.without_total} ({page.text_source})"
            )
    return "\n".join(lines)
