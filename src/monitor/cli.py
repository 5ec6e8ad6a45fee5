"""The `monitor` command: parses arguments, calls the stages or the service, prints."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.config import DATABASE_URL_ENV, DEFAULT_CONFIG_PATH, Settings, load_settings
from monitor.errors import MonitorError
from monitor.logs import setup_logging
from monitor.types import FeedState, Finding

Handler = Callable[[argparse.Namespace], int]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    setup_logging(args.log_level or settings.log_level)
    return settings


def _open(args: argparse.Namespace) -> Any:
    from monitor.pipeline import Pipeline

    return Pipeline.open(_settings(args))


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


# -- commands ------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.service import Service

    Service(_open(args)).run()
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    pipeline = _open(args)
    try:
        summaries = pipeline.poll_due(_now(), force=args.all)
        for summary in summaries:
            print(summary.line())
        if not summaries:
            print("no feed is due (use --all to poll every feed now)")
    finally:
        pipeline.close()
    return 1 if summaries and all(summary.error for summary in summaries) else 0


def cmd_claims(args: argparse.Namespace) -> int:
    from monitor.claims import load_claims

    settings = _settings(args)
    claims = load_claims(Path(settings.seeds_dir), settings.claims)
    if args.json:
        _print_json([{"id": c.id, "text": c.text, "source": c.source} for c in claims])
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
        "published": _iso(finding.published),
        "found_at": _iso(finding.found_at),
        "sent_at": _iso(finding.sent_at),
    }


def cmd_findings(args: argparse.Namespace) -> int:
    from monitor.store import Store

    settings = _settings(args)
    store = Store(settings.database_url)
    store.upgrade()
    try:
        findings = store.findings(claim_id=args.claim, since=args.since)
    finally:
        store.close()
    if args.json:
        _print_json([_finding_dict(finding) for finding in findings])
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


def _feed_dict(state: FeedState) -> dict[str, object]:
    return {
        "url": state.feed_url,
        "title": state.title,
        "enabled": state.enabled,
        "last_polled": _iso(state.last_polled),
        "last_status": state.last_status,
        "entries": state.entries,
        "error_count": state.error_count,
        "last_error": state.last_error,
        "next_poll": _iso(state.next_poll),
    }


def _feed_status(state: FeedState, failing_after_days: int, now: datetime) -> str:
    from monitor.feeds import is_failing

    if not state.enabled:
        return "disabled"
    if state.error_count and is_failing(state.first_error_at, now, failing_after_days):
        return "failing"
    if state.error_count:
        return f"backoff({state.error_count})"
    return "ok" if state.last_polled else "new"


def cmd_feeds(args: argparse.Namespace) -> int:
    if args.feeds_command == "import":
        return cmd_feeds_import(args)
    if args.feeds_command == "export":
        return cmd_feeds_export(args)
    from monitor.store import Store

    settings = _settings(args)
    store = Store(settings.database_url)
    store.upgrade()
    store.sync_feeds(settings.feed_sources())
    states = store.feed_states()
    store.close()
    if args.json:
        _print_json([_feed_dict(state) for state in states])
        return 0
    now = _now()
    for state in states:
        status = _feed_status(state, settings.polling.failing_after_days, now)
        print(
            f"{status:<11} {state.feed_url}\n"
            f"            title={state.title or '-'} entries={state.entries} "
            f"last_status={state.last_status or '-'} last_polled={_iso(state.last_polled) or '-'} "
            f"next_poll={_iso(state.next_poll) or 'now'}"
        )
        if state.last_error:
            print(f"            last_error={state.last_error} errors={state.error_count}")
    print(f"{len(states)} feeds")
    return 0


def cmd_feeds_import(args: argparse.Namespace) -> int:
    from monitor.opml import read_opml
    from monitor.store import Store

    settings = _settings(args)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MonitorError(f"{path}: cannot read OPML file: {exc.strerror}") from exc
    sources = read_opml(data, str(path))
    store = Store(settings.database_url)
    store.upgrade()
    for source in sources:
        store.add_feed(source)
    store.close()
    print(f"imported {len(sources)} feeds from {path}")
    return 0


def cmd_feeds_export(args: argparse.Namespace) -> int:
    from monitor.opml import write_opml
    from monitor.store import Store

    settings = _settings(args)
    store = Store(settings.database_url)
    store.upgrade()
    store.sync_feeds(settings.feed_sources())
    text = write_opml(store.feed_states())
    store.close()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.store import Store

    settings = _settings(args)
    store = Store(settings.database_url)
    store.upgrade()
    store.sync_feeds(settings.feed_sources())
    counts = store.stats()
    store.close()
    if args.json:
        _print_json(counts)
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
    pipeline = _open(args)
    try:
        outcome = pipeline.deliver_digest(_now(), dry_run=args.dry_run)
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
    from monitor.claims import claims_from_seed
    from monitor.match import load_matcher
    from monitor.pipeline import read_article_file

    setup_logging(args.log_level or "WARNING")
    claims = claims_from_seed(Path(args.seed))
    article = read_article_file(Path(args.article))
    matcher = load_matcher(Path(args.model) if args.model else None)
    stances = matcher.match(claims, f"{article.title}\n{article.text}")
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
        _print_json(rows)
        return 0
    print(f"article: {article.title} ({article.text_source}, {len(article.text.split())} words)")
    for row in rows:
        print(f"\n[{row['stance']} {row['confidence']:.0%}] {row['claim']}")
        for sentence in row["evidence"]:  # type: ignore[attr-defined]
            print(f'    "{sentence}"')
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from monitor.claims import load_claims

    settings = _settings(args)
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
    from monitor.demo_cycle import run_demo

    setup_logging(args.log_level or "WARNING")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    print(run_demo(workdir, _now()))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    setup_logging(args.log_level or "WARNING")
    if args.eval_command == "extraction":
        from monitor.extraction_eval import (
            evaluate_extraction,
            format_extraction_score,
            score_as_dict,
        )

        score = evaluate_extraction(Path(args.pages))
        print(json.dumps(score_as_dict(score)) if args.json else format_extraction_score(score))
        return 0
    from monitor.match.evaluate import evaluate_stance, evaluation_as_dict, format_evaluation

    model = Path(args.model) if args.model else None
    evaluation = evaluate_stance(Path(args.stances), Path(args.bodies), model)
    print(format_evaluation(evaluation))
    if args.json:
        print(json.dumps(evaluation_as_dict(evaluation)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from monitor.benchmark import benchmark_as_dict, format_benchmark, run_benchmark

    setup_logging(args.log_level or "WARNING")
    workdir = (
        Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    )
    result = run_benchmark(
        workdir,
        feeds=args.feeds,
        entries_per_feed=args.entries,
        now=_now(),
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(json.dumps(benchmark_as_dict(result)) if args.json else format_benchmark(result))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from monitor.match.train import train_model

    setup_logging(args.log_level or "INFO")
    out = Path(args.out) if args.out else Path(__file__).parent / "match" / "model"
    train_model(Path(args.data), out, args.seed, lambda line: print(line, flush=True))
    print(f"model written to {out}")
    return 0


# -- the parser ----------------------------------------------------------------------------------


def _add(sub: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="Watch news feeds for stories that corroborate or contradict seed claims.",
        epilog=f"The environment variable {DATABASE_URL_ENV}, when set, overrides database_url.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config", default=str(DEFAULT_CONFIG_PATH), help="config file (default: %(default)s)"
    )
    parser.add_argument(
        "--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="override log_level"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add(sub, "run", cmd_run, "run the service in the foreground until SIGTERM/SIGINT")
    poll = _add(sub, "poll", cmd_poll, "poll due feeds once and print one line per feed")
    poll.add_argument("--once", action="store_true", help="poll once and exit (the only mode)")
    poll.add_argument("--all", action="store_true", help="poll every enabled feed, due or not")

    claims = _add(sub, "claims", cmd_claims, "list the claims taken from the seeds and the config")
    claims.add_argument("--json", action="store_true", help="print a JSON list")

    findings = _add(sub, "findings", cmd_findings, "list recorded findings")
    findings.add_argument("--json", action="store_true", help="print a JSON list")
    findings.add_argument("--claim", metavar="ID", help="only findings for this claim id")
    findings.add_argument(
        "--since", type=_parse_date, metavar="DATE", help="only findings found since DATE (ISO)"
    )

    feeds = _add(sub, "feeds", cmd_feeds, "show each feed's state, or import/export OPML")
    feeds.add_argument("--json", action="store_true", help="print a JSON list")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION")
    feeds_import = feeds_sub.add_parser("import", help="add the feeds of an OPML file")
    feeds_import.add_argument("file", help="OPML file")
    feeds_export = feeds_sub.add_parser("export", help="write every feed as OPML")
    feeds_export.add_argument("-o", "--output", help="file to write (default: stdout)")

    status = _add(sub, "status", cmd_status, "counts of feeds, articles, findings and digests")
    status.add_argument("--json", action="store_true", help="print one JSON object")

    digest = _add(sub, "digest", cmd_digest, "send the digest of every finding not yet sent")
    digest.add_argument("--dry-run", action="store_true", help="print the digest, send nothing")

    match = _add(sub, "match", cmd_match, "stance of one article toward each claim of one seed")
    match.add_argument("--seed", required=True, help="seed article (.txt, .md or .html)")
    match.add_argument("--article", required=True, help="article (plain text or HTML)")
    match.add_argument("--model", metavar="DIR", help="model folder (default: the shipped model)")
    match.add_argument("--json", action="store_true", help="print a JSON list")

    _add(sub, "check", cmd_check, "validate the config and seeds; exit 1 on errors")

    demo = _add(sub, "demo", cmd_demo, "run one offline cycle on bundled demo feeds (loopback)")
    demo.add_argument("--workdir", help="folder for the demo database and outbox (default: temp)")

    evaluate = _add(sub, "eval", cmd_eval, "measure extraction or stance accuracy")
    eval_sub = evaluate.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    extraction = eval_sub.add_parser("extraction", help="score extraction on annotated pages")
    extraction.add_argument("--pages", required=True, help="folder with evaldata-pages.json")
    extraction.add_argument("--json", action="store_true", help="print one JSON object")
    stance = eval_sub.add_parser("stance", help="score the stance model on FNC-format CSVs")
    stance.add_argument("--stances", required=True, help="CSV: Headline, Body ID, Stance")
    stance.add_argument("--bodies", required=True, help="CSV: Body ID, articleBody")
    stance.add_argument("--model", metavar="DIR", help="model folder (default: the shipped model)")
    stance.add_argument("--json", action="store_true", help="also print one JSON object last")

    bench = _add(sub, "bench", cmd_bench, "time the whole pipeline on generated loopback feeds")
    bench.add_argument("--feeds", type=int, default=20, help="feeds (default: %(default)s)")
    bench.add_argument(
        "--entries", type=int, default=25, help="entries per feed (default: %(default)s)"
    )
    bench.add_argument("--workdir", help="folder for the database and outbox (default: temp)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")

    train = _add(sub, "train", cmd_train, "train the stance model from FNC-1 CSVs (train extra)")
    train.add_argument("--data", required=True, help="folder with train_bodies.csv and splits/")
    train.add_argument("--out", help="model folder to write (default: the package's model)")
    train.add_argument("--seed", type=int, default=13, help="random seed (default: %(default)s)")
    return parser


def _parse_date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
