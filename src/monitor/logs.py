"""One log line per event: a dotted event name, then key=value fields."""

from __future__ import annotations

import logging
import sys

_LOGGER = logging.getLogger("monitor")


def _format_value(value: object) -> str:
    text = str(value)
    if text == "" or any(ch.isspace() or ch in '"=' for ch in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def format_event(event: str, fields: dict[str, object]) -> str:
    """Render `event key=value ...` with values quoted when they hold spaces."""
    parts = [event] + [f"{key}={_format_value(value)}" for key, value in fields.items()]
    return " ".join(parts)


def log_event(event: str, level: int = logging.INFO, **fields: object) -> None:
    """Log one event line through the stdlib logger named `monitor`."""
    _LOGGER.log(level, format_event(event, fields))


def setup_logging(level: str = "INFO") -> None:
    """Send log lines to stderr with a timestamp and level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("monitor")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = True
