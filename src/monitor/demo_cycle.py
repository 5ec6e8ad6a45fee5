"""`monitor demo`: one full offline cycle against the bundled seed and demo feeds on loopback."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

from monitor.config import load_settings
from monitor.demo import demo_config_yaml, serve_demo
from monitor.errors import ConfigError
from monitor.pipeline import ArticleOutcome, DigestOutcome, Pipeline, PollSummary
from monitor.types import Claim, Stance

_ORDER = {"contradicts": 0, "corroborates": 1, "discusses": 2}


def bundled_seeds_dir() -> Path:
    """The project's `seeds/` folder: in the working directory, else beside the source tree."""
    for candidate in (Path("seeds"), Path(__file__).resolve().parents[2] / "seeds"):
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    raise ConfigError("seeds", "no seeds folder with a seed article found for the demo")


def run_demo(workdir: Path, now: datetime) -> str:
    """Serve the demo feeds, run poll -> extract -> match -> store -> digest once, and report."""
    workdir.mkdir(parents=True, exist_ok=True)
    with serve_demo() as base_url:
        config_path = workdir / "monitor.yaml"
        config_path.write_text(
            demo_config_yaml(base_url, workdir, bundled_seeds_dir()), encoding="utf-8"
        )
        pipeline = Pipeline.open(load_settings(config_path))
        try:
            summaries = pipeline.poll_due(now, force=True)
            digest = pipeline.deliver_digest(now)
            claims = pipeline.claims
        finally:
            pipeline.close()
    return format_report(claims, summaries, digest, workdir)


def _outlet(outcome: ArticleOutcome) -> str:
    return outcome.article.site_name or outcome.article.url.split("/")[2]


def _claim_lines(claim: Claim, rows: list[tuple[Stance, ArticleOutcome]]) -> list[str]:
    lines = [f"\nclaim {claim.id}: {claim.text}"]
    if not rows:
        lines.append("    (no story took a stance)")
    for stance, outcome in sorted(rows, key=lambda row: (_ORDER[row[0].label], -row[0].confidence)):
        lines.append(
            f"    {stance.label.upper():<12} {stance.confidence:4.0%}  "
            f"{_outlet(outcome)}: {outcome.article.title}"
        )
        if stance.evidence:
            lines.append(f'        "{stance.evidence[0]}"')
    return lines


def format_report(
    claims: list[Claim], summaries: list[PollSummary], digest: DigestOutcome, workdir: Path
) -> str:
    """The demo's printout: feeds, then per claim every stance taken, then the digest."""
    lines = ["claim-monitor demo: one offline cycle", "", "feeds:"]
    lines += [f"  {summary.line()}" for summary in summaries]
    by_claim: dict[str, list[tuple[Stance, ArticleOutcome]]] = defaultdict(list)
    unrelated, skipped = [], []
    for outcome in (o for summary in summaries for o in summary.outcomes):
        if outcome.status == "skipped":
            skipped.append(f"  skipped {outcome.article.title}: {outcome.reason}")
            continue
        taken = [(c, s) for c, s in outcome.stances if s.label != "unrelated"]
        for claim, stance in taken:
            by_claim[claim.id].append((stance, outcome))
        if not taken:
            unrelated.append(
                f"  UNRELATED to every claim: {_outlet(outcome)}: {outcome.article.title}"
            )
    for claim in claims:
        lines += _claim_lines(claim, by_claim[claim.id])
    lines += ["", *unrelated, *skipped, ""]
    counts: dict[str, int] = defaultdict(int)
    for rows in by_claim.values():
        for stance, _ in rows:
            counts[stance.label] += 1
    lines.append(
        "stances: "
        + ", ".join(f"{label} {counts[label]}" for label in _ORDER)
        + f", unrelated stories {len(unrelated)}, skipped {len(skipped)}"
    )
    if digest.delivered_to:
        lines.append(f"digest: {digest.findings} findings written to {digest.delivered_to}")
    else:
        lines.append(f"digest: not written ({digest.error or 'no findings'})")
    lines.append(f"workspace: {workdir}")
    return "\n".join(lines)
