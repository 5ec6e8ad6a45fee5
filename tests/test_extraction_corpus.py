"""The project's extraction on the shared corpus of 67 annotated news pages.

The baselines are trafilatura 2.3.1's plain `extract()` on the same pages, as measured in the
corpus NOTICE: 189/196 "with" snippets found, 27/205 "without" snippets leaked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.extract import extract_article
from monitor.extraction_eval import (
    ExtractionScore,
    PageScore,
    evaluate_extraction,
    format_extraction_score,
    score_as_dict,
)
from monitor.types import Entry, HttpResponse

PAGES = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "pages"
BASELINE_WITH_FOUND = 189
BASELINE_WITHOUT_LEAKED = 27


def _baseline_per_page() -> dict[str, tuple[int, int]]:
    """(with found, without leaked) per page with trafilatura defaults, from the NOTICE."""
    notice = PAGES / "NOTICE.txt"
    if not notice.is_file():
        return {}
    baseline = {}
    for line in notice.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) == 7 and fields[0].endswith(".html"):
            found = int(fields[5].split("/")[0])
            absent, total = (int(part) for part in fields[6].split("/"))
            baseline[fields[0]] = (found, total - absent)
    return baseline


BASELINE = _baseline_per_page()


@pytest.fixture(scope="module")
def score() -> ExtractionScore:
    if not (PAGES / "evaldata-pages.json").is_file():
        pytest.skip(f"shared corpus not found at {PAGES}")
    return evaluate_extraction(PAGES)


def _page(score: ExtractionScore, file: str) -> PageScore:
    return next(page for page in score.pages if page.file == file)


def test_corpus_finds_at_least_the_baseline_with_snippets(score: ExtractionScore) -> None:
    assert score.with_found >= BASELINE_WITH_FOUND


def test_corpus_leaks_at_most_the_baseline_without_snippets(score: ExtractionScore) -> None:
    assert score.without_leaked <= BASELINE_WITHOUT_LEAKED


def test_corpus_scores_every_annotated_page(score: ExtractionScore) -> None:
    annotations = json.loads((PAGES / "evaldata-pages.json").read_text(encoding="utf-8"))
    assert len(score.pages) == len(annotations) == 67


def test_corpus_measures_follow_the_counts(score: ExtractionScore) -> None:
    assert score.recall == pytest.approx(score.with_found / score.with_total)
    assert score.precision == pytest.approx(
        score.with_found / (score.with_found + score.without_leaked)
    )


@pytest.mark.parametrize("file", sorted(BASELINE), ids=str)
def test_page_does_no_worse_than_trafilatura_defaults(score: ExtractionScore, file: str) -> None:
    page = _page(score, file)
    found, leaked = BASELINE[file]
    assert page.with_found >= found, f"{file}: {page.with_found} 'with' found, baseline {found}"
    assert page.without_leaked <= leaked, f"{file}: {page.without_leaked} leaked, baseline {leaked}"


def test_score_as_dict_has_the_headline_keys(score: ExtractionScore) -> None:
    assert list(score_as_dict(score)) == [
        "with_found",
        "with_total",
        "without_leaked",
        "without_total",
        "precision",
        "recall",
        "f1",
        "pages_per_second",
    ]


def test_format_extraction_score_names_the_counts(score: ExtractionScore) -> None:
    text = format_extraction_score(score)
    assert f"'with' snippets found: {score.with_found}/{score.with_total}" in text


def test_scmp_paywalled_page_falls_back_to_feed_summary() -> None:
    page = PAGES / "scmp.com.playbook.html"
    if not page.is_file():
        pytest.skip(f"shared corpus not found at {PAGES}")
    url = "https://www.scmp.com/comment/opinion/article/3046526/taiwanese-president-tsai"
    summary = (
        "While both Tsai and Lam faced a challenging year, the Taiwanese leader shrewdly "
        "capitalised on the crisis in Hong Kong to claim herself a massive election win."
    )
    entry = Entry(
        feed_url="https://www.scmp.com/rss/91/feed",
        entry_id=url,
        title="Carrie Lam should study Tsai Ing-wen’s playbook",
        link=url,
        published=datetime(2020, 1, 20, 1, 0, tzinfo=UTC),
        summary=summary,
    )
    response = HttpResponse(url, url, 200, {"content-type": "text/html"}, page.read_bytes())
    article = extract_article(response, entry, min_words=50)
    assert (article.text_source, article.text) == ("feed", summary)
    assert (article.fallback_reason or "").startswith("thin page: ")
