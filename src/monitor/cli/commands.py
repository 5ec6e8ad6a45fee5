"""The everyday commands: run, poll, claims, findings, status, digest, match, check, demo."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from monitor.cli.common import (
    iso,
    open_pipeline,
    open_store,
    print_json,
    settings_for,
    utc_now,
)
from monitor.logs import setup_logging
from monitor.types import Finding


def cmd_run(args: argparse.Namespace) -> int:
    """Run the service in the foreground until SIGTERM or SIGINT."""
    from monitor.service import Service

    Service(open_pipeline(args)).run()
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    """Poll the due feeds once and print one line per feed."""
    pipeline = open_pipeline(args)
    try:
        summaries = pipeline.poll_due(utc_now(), force=args.all)
        for summary in summaries:
            print(summary.line())
        if not summaries:
            print("no feed is due (use --all to poll every feed now)")
    finally:
        pipeline.close()
    return 1 if summaries and all(summary.error for summary in summaries) else 0


def cmd_claims(args: argparse.Namespace) -> int:
    """List the claims taken from the seeds and the config."""
    from monitor.claims import load_claims

    settings = settings_for(args)
    claims = load_claims(Path(settings.seeds_dir), settings.claims)
    if args.json:
        print_json([{"id": c.id, "text": c.text, "source": c.source} for c in claims])
        return 0
    for claim in claims:
        print(f"{claim.id}  [{claim.source}]  {claim.text}")
    print(f"{len(claims)} claims")
    return 0


def _finding_dict(finding: Finding) -> dict[str, object]:
    return {
        "id": finding.id,
        "claim_id": finding.claim_id,
        "claim": finding.claim_text,
        "stance": finding.stance,
        "confidence": round(finding.confidence, 3),
        "evidence": list(finding.evidence),
        "url": finding.article_url,
        "headline": finding.headline,
        "outlet": finding.outlet,
        "published": iso(finding.published),
        "found_at": iso(finding.found_at),
        "sent_at": iso(finding.sent_at),
    }


def cmd_findings(args: argparse.Namespace) -> int:
    """List the recorded findings."""
    settings = settings_for(args)
    with open_store(settings, sync_feeds=False) as store:
        findings = store.findings(claim_id=args.claim, since=args.since)
    if args.json:
        print_json([_finding_dict(finding) for finding in findings])
        return 0
    for finding in findings:
        sent = "sent" if finding.sent_at else "unsent"
        print(
            f"#{finding.id} {finding.stance} {finding.confidence:.0%} [{sent}] "
            f"claim {finding.claim_id}: {finding.headline} ({finding.outlet or '?'})"
        )
        print(f"    {finding.article_url}")
        for sentence in finding.evidence[:1]:
            print(f'    "{sentence}"')
    print(f"{len(findings)} findings")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the counts of feeds, articles, findings and digests."""
    settings = settings_for(args)
    with open_store(settings) as store:
        counts = store.stats()
    if args.json:
        print_json(counts)
        return 0
    print(f"database {settings.database_url}")
    print(
        f"  feeds: {counts.get('feeds_enabled', 0)} enabled of {counts.get('feeds', 0)}, "
        f"{counts.get('feeds_failing', 0)} with errors"
    )
    statuses = ", ".join(
        f"{name.removeprefix('articles_')} {number}"
        for name, number in sorted(counts.items())
        if name.startswith("articles_")
    )
    print(f"  articles: {counts.get('articles', 0)} ({statuses or 'none yet'})")
    print(
        f"  claims: {counts.get('claims_active', 0)} active; "
        f"relations: {counts.get('relations', 0)}"
    )
    print(
        f"  findings: {counts.get('findings', 0)}, unsent {counts.get('findings_unsent', 0)}; "
        f"digests: {counts.get('digests', 0)}"
    )
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    """Send the digest of every finding not yet sent, or print it."""
    pipeline = open_pipeline(args)
    try:
        outcome = pipeline.deliver_digest(utc_now(), dry_run=args.dry_run)
    finally:
        pipeline.close()
    if outcome.findings == 0:
        print("no unsent findings: nothing to send")
    elif outcome.dry_run_text is not None:
        print(outcome.dry_run_text)
    elif outcome.error:
        print(
            f"digest not sent ({outcome.findings} findings kept for the next run): {outcome.error}"
        )
        return 1
    else:
        print(f"digest with {outcome.findings} findings sent to {outcome.delivered_to}")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    """Print the stance of one article toward each claim of one seed."""
    from monitor.claims import claims_from_seed
    from monitor.match import load_matcher
    from monitor.pipeline import matching_text, read_article_file

    setup_logging(args.log_level or "WARNING")
    claims = claims_from_seed(Path(args.seed))
    article = read_article_file(Path(args.article))
    matcher = load_matcher(Path(args.model) if args.model else None)
    stances = matcher.match(claims, matching_text(article))
    rows = [
        {
            "claim_id": claim.id,
            "claim": claim.text,
            "stance": stance.label,
            "confidence": round(stance.confidence, 3),
            "evidence": list(stance.evidence),
        }
        for claim, stance in zip(claims, stances, strict=True)
    ]
    if args.json:
        print_json(rows)
        return 0
    print(f"article: {article.title} ({article.text_source}, {len(article.text.split())} words)")
    for row in rows:
        print(f"\n[{row['stance']} {row['confidence']:.0%}] {row['claim']}")
        for sentence in row["evidence"]:  # type: ignore[attr-defined]
            print(f'    "{sentence}"')
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config and seeds; exit 1 on errors."""
    from monitor.claims import load_claims

    settings = settings_for(args)
    claims = load_claims(Path(settings.seeds_dir), settings.claims)
    problems = []
    if not claims:
        problems.append(f"{settings.seeds_dir}: no claims found in the seeds or the config")
    if not settings.feeds:
        problems.append(f"{args.config}: feeds: no feeds configured")
    smtp = settings.smtp
    if smtp is not None and smtp.password_env and settings.smtp_password is None:
        problems.append(
            f"{args.config}: smtp.password_env: environment variable {smtp.password_env} is not set"
        )
    if smtp is not None and not settings.digest.recipients:
        problems.append(f"{args.config}: digest.recipients: SMTP is set but no recipient is")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    delivery = (
        f"smtp {smtp.host}:{smtp.port} ({smtp.security})"
        if smtp
        else (f"outbox {settings.digest.outbox}")
    )
    print(f"config {args.config}: ok")
    print(
        f"  feeds: {len(settings.feeds)}  claims: {len(claims)}  database: {settings.database_url}"
    )
    print(f"  digest: daily at {settings.digest.time} {settings.digest.timezone} via {delivery}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run one offline cycle on the bundled demo feeds."""
    from monitor.demo_cycle import run_demo

    setup_logging(args.log_level or "WARNING")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    print(run_demo(workdir, utc_now()))
    return 0
