"""The `monitor` command: parses arguments, calls the stages or the service, prints."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from monitor.cli.parser import Handler, build_parser
from monitor.errors import MonitorError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `monitor` command; the exit status: 0 ok, 1 error, 130 interrupted."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
