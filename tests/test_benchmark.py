"""The benchmark: synthetic feeds and pages, one tiny real run on loopback, and its printout."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.benchmark import (
    BenchmarkResult,
    benchmark_as_dict,
    format_benchmark,
    run_benchmark,
)
from monitor.benchmark_corpus import MAX_PAGE_WORDS, MIN_PAGE_WORDS, build_feeds
from monitor.claims import load_claims
from monitor.demo import demo_keywords
from monitor.demo_cycle import bundled_seeds_dir
from monitor.keywords import KeywordGate, passes_gate

NOW = datetime(2016, 8, 24, 12, 0, tzinfo=UTC)
TINY_FEEDS, TINY_ENTRIES = 2, 3


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[BenchmarkResult, list[str]]:
    messages: list[str] = []
    result = run_benchmark(
        tmp_path_factory.mktemp("bench"),
        feeds=TINY_FEEDS,
        entries_per_feed=TINY_ENTRIES,
        now=NOW,
        progress=messages.append,
        stage_sample=2,
    )
    return result, messages


def _sample_result() -> BenchmarkResult:
    return BenchmarkResult(
        feeds=20,
        entries=500,
        articles=300,
        claims=22,
        cold_seconds=123.456,
        articles_per_second=2.43,
        warm_poll_seconds=0.187,
        extract_ms_per_page=17.26,
        match_ms_per_article=812.5,
        digest_seconds=0.042,
        findings=77,
        peak_rss_mb=512.3,
        open_seconds=1.5,
        matcher="fnc-two-stage v1",
        stage_sample=30,
        feed_errors=1,
        warm_not_modified=19,
        warm_page_requests=0,
    )


def test_build_feeds_is_the_same_for_the_same_seed() -> None:
    assert build_feeds(3, 4, NOW, seed=7) == build_feeds(3, 4, NOW, seed=7)


def test_build_feeds_differs_for_another_seed() -> None:
    assert build_feeds(3, 4, NOW, seed=7) != build_feeds(3, 4, NOW, seed=8)


def test_build_feeds_gives_unique_page_paths() -> None:
    paths = [story.path for feed in build_feeds(5, 10, NOW) for story in feed.stories]
    assert len(set(paths)) == 50


def test_pages_have_400_to_800_words() -> None:
    words = [story.words for feed in build_feeds(6, 25, NOW) for story in feed.stories]
    assert min(words) >= MIN_PAGE_WORDS
    assert max(words) <= MAX_PAGE_WORDS


def test_feeds_mix_rss_and_atom() -> None:
    assert {feed.atom for feed in build_feeds(4, 1, NOW)} == {True, False}


def test_only_on_topic_entries_pass_the_keyword_gate() -> None:
    gate = KeywordGate(tuple(demo_keywords()["any"]))
    stories = [story for feed in build_feeds(10, 25, NOW) for story in feed.stories]
    passed = [passes_gate(f"{story.title}\n{story.summary}", gate) for story in stories]
    assert passed == [story.on_topic for story in stories]
    assert 0 < sum(passed) < len(stories)


def test_tiny_run_processes_every_entry_that_passes_the_gate(
    tiny_run: tuple[BenchmarkResult, list[str]],
) -> None:
    result, _ = tiny_run
    on_topic = sum(
        story.on_topic
        for feed in build_feeds(TINY_FEEDS, TINY_ENTRIES, NOW)
        for story in feed.stories
    )
    assert on_topic == 4
    assert result.articles == on_topic


def test_tiny_run_counts_feeds_entries_and_claims(
    tiny_run: tuple[BenchmarkResult, list[str]],
) -> None:
    result, _ = tiny_run
    claims = load_claims(bundled_seeds_dir(), ())
    assert (result.feeds, result.entries, result.claims) == (2, 6, len(claims))
    assert result.feed_errors == 0


def test_warm_poll_fetches_no_page(tiny_run: tuple[BenchmarkResult, list[str]]) -> None:
    result, _ = tiny_run
    assert result.warm_page_requests == 0
    assert result.warm_not_modified == TINY_FEEDS


def test_tiny_run_times_the_stages_on_the_sample(
    tiny_run: tuple[BenchmarkResult, list[str]],
) -> None:
    result, _ = tiny_run
    assert result.stage_sample == 2
    assert result.extract_ms_per_page > 0
    assert result.match_ms_per_article > 0


def test_tiny_run_reports_progress_for_every_phase(
    tiny_run: tuple[BenchmarkResult, list[str]],
) -> None:
    _, messages = tiny_run
    phases = [message.split()[0] for message in messages]
    assert phases == ["serving", "opened", "cold", "warm", "digest:", "stages:"]


def test_format_names_every_figure() -> None:
    lines = format_benchmark(_sample_result()).splitlines()
    assert lines == [
        "feeds               20  (1 failed)",
        "entries            500",
        "articles           300  passed the keyword gate",
        "claims              22",
        "open              1.50  s (matcher fnc-two-stage v1)",
        "cold poll       123.46  s fetch+parse+extract+match+store",
        "throughput        2.43  articles/s",
        "warm poll        0.187  s (19 feeds 304, 0 pages fetched)",
        "extract           17.3  ms/page (30 pages)",
        "match            812.5  ms/article (30)",
        "digest           0.042  s",
        "findings            77",
        "peak RSS         512.3  MiB",
    ]


def test_benchmark_as_dict_is_json_with_every_field() -> None:
    values = json.loads(json.dumps(benchmark_as_dict(_sample_result())))
    assert list(values) == [field.name for field in dataclasses.fields(BenchmarkResult)]
    assert values["cold_seconds"] == 123.456
    assert values["matcher"] == "fnc-two-stage v1"


def test_run_writes_its_config_and_database_in_workdir(tmp_path: Path) -> None:
    run_benchmark(tmp_path, feeds=1, entries_per_feed=1, now=NOW, stage_sample=0)
    assert (tmp_path / "bench.yaml").is_file()
    assert (tmp_path / "bench.db").is_file()
