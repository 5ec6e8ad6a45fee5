"""The feed list and the tool commands: feeds (with OPML import/export), eval, bench, train."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from monitor.cli.common import iso, open_store, print_json, settings_for, utc_now
from monitor.errors import MonitorError
from monitor.logs import setup_logging
from monitor.types import FeedState


def _feed_dict(state: FeedState) -> dict[str, object]:
    return {
        "url": state.feed_url,
        "title": state.title,
        "enabled": state.enabled,
        "last_polled": iso(state.last_polled),
        "last_status": state.last_status,
        "entries": state.entries,
        "error_count": state.error_count,
        "last_error": state.last_error,
        "next_poll": iso(state.next_poll),
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
    """Show each feed's state, or hand over to OPML import or export."""
    if args.feeds_command == "import":
        return cmd_feeds_import(args)
    if args.feeds_command == "export":
        return cmd_feeds_export(args)
    settings = settings_for(args)
    with open_store(settings) as store:
        states = store.feed_states()
    if args.json:
        print_json([_feed_dict(state) for state in states])
        return 0
    now = utc_now()
    for state in states:
        status = _feed_status(state, settings.polling.failing_after_days, now)
        print(
            f"{status:<11} {state.feed_url}\n"
            f"            title={state.title or '-'} entries={state.entries} "
            f"last_status={state.last_status or '-'} last_polled={iso(state.last_polled) or '-'} "
            f"next_poll={iso(state.next_poll) or 'now'}"
        )
        if state.last_error:
            print(f"            last_error={state.last_error} errors={state.error_count}")
    print(f"{len(states)} feeds")
    return 0


def cmd_feeds_import(args: argparse.Namespace) -> int:
    """Add the feeds of an OPML file."""
    from monitor.opml import read_opml

    settings = settings_for(args)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MonitorError(f"{path}: cannot read OPML file: {exc.strerror}") from exc
    sources = read_opml(data, str(path))
    with open_store(settings, sync_feeds=False) as store:
        for source in sources:
            store.add_feed(source)
    print(f"imported {len(sources)} feeds from {path}")
    return 0


def cmd_feeds_export(args: argparse.Namespace) -> int:
    """Write every feed as OPML, to a file or stdout."""
    from monitor.opml import write_opml

    settings = settings_for(args)
    with open_store(settings) as store:
        text = write_opml(store.feed_states())
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Measure extraction or stance accuracy and print the scores."""
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
    evaluation = evaluate_stance(
        Path(args.stances),
        Path(args.bodies),
        model,
        lexical=args.lexical,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(format_evaluation(evaluation))
    if args.json:
        print(json.dumps(evaluation_as_dict(evaluation)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Time the whole pipeline on generated loopback feeds and print the figures."""
    from monitor.benchmark import benchmark_as_dict, format_benchmark, run_benchmark

    setup_logging(args.log_level or "WARNING")
    workdir = (
        Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    )
    result = run_benchmark(
        workdir,
        feeds=args.feeds,
        entries_per_feed=args.entries,
        now=utc_now(),
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(json.dumps(benchmark_as_dict(result)) if args.json else format_benchmark(result))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train the stance model from FNC-1 CSVs."""
    from monitor.match.train import MEMBERS, train_model

    setup_logging(args.log_level or "INFO")
    out = Path(args.out) if args.out else Path(__file__).parent.parent / "match" / "model"
    reference = Path(args.calibration_from) if args.calibration_from else None
    train_model(
        Path(args.data),
        out,
        args.seed,
        lambda line: print(line, flush=True),
        calibration_from=reference,
        members=args.members or MEMBERS,
    )
    print(f"model written to {out}")
    return 0
