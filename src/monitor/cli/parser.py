"""The argument parser of the `monitor` command: one subcommand per handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from monitor import __version__
from monitor.cli.commands import (
    cmd_check,
    cmd_claims,
    cmd_demo,
    cmd_digest,
    cmd_findings,
    cmd_match,
    cmd_poll,
    cmd_run,
    cmd_status,
)
from monitor.cli.tools import cmd_bench, cmd_eval, cmd_feeds, cmd_train
from monitor.config import DATABASE_URL_ENV, DEFAULT_CONFIG_PATH

Handler = Callable[[argparse.Namespace], int]


def _add(sub: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The parser of the `monitor` command, each subcommand bound to its handler."""
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
    stance.add_argument(
        "--lexical", action="store_true", help="score the transparent lexical model instead"
    )

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
    train.add_argument(
        "--members",
        type=int,
        choices=range(1, 5),
        metavar="N",
        help="cross-encoders (1-4) to train from seeds SEED, SEED+1, ... and average "
        "(default: as many as the shipped model has)",
    )
    train.add_argument(
        "--calibration-from",
        metavar="DIR",
        help="train on topic train and dev pairs together, keeping the decision rule and dev "
        "scores of DIR, a model trained without this option (how the shipped model is made)",
    )
    return parser


def _parse_date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
