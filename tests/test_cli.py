"""The `monitor` command run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SEED = PROJECT / "seeds" / "omran-daqneesh-2016-08-19.txt"
DEMO_PAGES = PROJECT / "src" / "monitor" / "demo_data" / "pages"


def monitor(
    *args: str, cwd: Path = PROJECT, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_help_lists_every_command() -> None:
    out = monitor("--help").stdout
    for command in (
        "run",
        "poll",
        "claims",
        "findings",
        "feeds",
        "digest",
        "match",
        "check",
        "demo",
    ):
        assert command in out


def test_check_passes_on_example_config() -> None:
    assert "ok" in monitor("check").stdout


def test_check_names_file_line_and_key_of_a_typo(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("seeds_dir: seeds\nfeeds:\n  - url: https://example.org/rss\n    titel: x\n")
    result = monitor("--config", str(config), "check", check=False)
    assert result.returncode == 1
    assert f"{config}:4: feeds.0.titel: unknown key" in result.stderr


def test_check_reports_missing_seed_folder(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"seeds_dir: {tmp_path / 'nowhere'}\nfeeds:\n  - url: https://example.org/rss\n"
    )
    result = monitor("--config", str(config), "check", check=False)
    assert result.returncode == 1
    assert "nowhere" in result.stderr


def test_claims_json_lists_stable_ids_from_the_seed() -> None:
    first = json.loads(monitor("claims", "--json").stdout)
    second = json.loads(monitor("claims", "--json").stdout)
    assert first == second
    assert {"id", "text", "source"} == set(first[0])
    sources = {claim["source"] for claim in first}
    assert sources == {"omran-daqneesh-2016-08-19.txt", "config"}


def test_feeds_json_has_the_documented_keys(tmp_path: Path) -> None:
    env_db = f"sqlite:///{tmp_path / 'feeds.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "feeds", "--json"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MONITOR_DATABASE_URL": env_db},
    )
    assert result.returncode == 0, result.stderr
    feeds = json.loads(result.stdout)
    assert len(feeds) == 4
    assert set(feeds[0]) == {
        "url",
        "title",
        "enabled",
        "last_polled",
        "last_status",
        "entries",
        "error_count",
        "last_error",
        "next_poll",
    }
    assert (tmp_path / "feeds.db").exists()


def test_match_json_gives_a_stance_per_claim() -> None:
    pages = sorted(DEMO_PAGES.glob("*.html"))
    if not pages:
        pytest.fail(f"no demo pages in {DEMO_PAGES}")
    rows = json.loads(
        monitor("match", "--seed", str(SEED), "--article", str(pages[0]), "--json").stdout
    )
    assert rows
    for row in rows:
        assert set(row) == {"claim_id", "claim", "stance", "confidence", "evidence"}
        assert row["stance"] in {"corroborates", "contradicts", "discusses", "unrelated"}
        assert 0.0 <= row["confidence"] <= 1.0


def test_demo_prints_every_kind_of_stance_and_writes_an_eml(tmp_path: Path) -> None:
    out = monitor("demo", "--workdir", str(tmp_path / "demo")).stdout
    for kind in ("CORROBORATES", "CONTRADICTS", "DISCUSSES", "UNRELATED"):
        assert kind in out, out
    eml = [line.split(" written to ")[1] for line in out.splitlines() if " written to " in line]
    assert eml and eml[0].endswith(".eml") and Path(eml[0]).is_file()


def isolated(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `monitor` on the example config with a database of the test's own."""
    env = {**os.environ, "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_opml_import_adds_feeds_and_export_lists_them(tmp_path: Path) -> None:
    opml = tmp_path / "list.opml"
    opml.write_text(
        "<?xml version='1.0'?><opml version='2.0'><head><title>desk</title></head><body>"
        "<outline text='Syria'><outline type='rss' text='Relief' "
        "xmlUrl='https://relief.example.org/syria.xml'/></outline></body></opml>",
        encoding="utf-8",
    )
    imported = isolated(tmp_path, "feeds", "import", str(opml))
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 feeds" in imported.stdout
    exported = isolated(tmp_path, "feeds", "export")
    assert exported.returncode == 0, exported.stderr
    assert 'xmlUrl="https://relief.example.org/syria.xml"' in exported.stdout
    assert "feeds.bbci.co.uk" in exported.stdout


def test_opml_import_of_broken_file_names_it(tmp_path: Path) -> None:
    opml = tmp_path / "broken.opml"
    opml.write_text("<opml><body><outline", encoding="utf-8")
    result = isolated(tmp_path, "feeds", "import", str(opml))
    assert result.returncode == 1
    assert str(opml) in result.stderr


def test_eval_extraction_json_has_the_documented_keys(shared_dir: Path) -> None:
    pages = shared_dir / "corpus" / "pages"
    result = monitor("eval", "extraction", "--pages", str(pages), "--json")
    score = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(score) == {
        "with_found",
        "with_total",
        "without_leaked",
        "without_total",
        "precision",
        "recall",
        "f1",
        "pages_per_second",
    }
    assert score["with_found"] >= 189 and score["without_leaked"] <= 27


def test_status_counts_feeds_of_the_config(tmp_path: Path) -> None:
    result = isolated(tmp_path, "status", "--json")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert (counts["feeds"], counts["feeds_enabled"], counts["findings"]) == (4, 4, 0)
