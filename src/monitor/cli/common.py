"""What every command shares: the clock, the settings, the pipeline and JSON output."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.config import Settings, load_settings
from monitor.logs import setup_logging

if TYPE_CHECKING:
    from monitor.store import Store


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """The time as ISO 8601 to the second, or None."""
    return value.isoformat(timespec="seconds") if value else None


def settings_for(args: argparse.Namespace) -> Settings:
    """Load the config named on the command line and set up logging from it."""
    settings = load_settings(args.config)
    setup_logging(args.log_level or settings.log_level)
    return settings


def open_pipeline(args: argparse.Namespace) -> Any:
    """The pipeline for the config named on the command line; the caller closes it."""
    from monitor.pipeline import Pipeline

    return Pipeline.open(settings_for(args))


@contextlib.contextmanager
def open_store(settings: Settings, sync_feeds: bool = True) -> Iterator[Store]:
    """The migrated database, with the configured feeds synced unless asked not to; closed after."""
    from monitor.store import Store

    store = Store(settings.database_url)
    try:
        store.upgrade()
        if sync_feeds:
            store.sync_feeds(settings.feed_sources())
        yield store
    finally:
        store.close()


def print_json(value: object) -> None:
    """Print a value as indented JSON, non-ASCII text kept as it is."""
    print(json.dumps(value, indent=2, ensure_ascii=False))
