"""Every exception claim-monitor raises derives from MonitorError.

MonitorError
├── ConfigError       a config or seed file is wrong: names file, line and key
├── FetchError        an HTTP fetch failed (timeout, refused, too large, blocked address)
│   └── FeedError     a feed poll failed: names the feed URL
├── ModelError        the stance model cannot be loaded or run
└── DeliveryError     the digest could not be delivered (SMTP refusal, outbox not writable)
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(MonitorError):
    def __init__(
        self, path: str, reason: str, line: int | None = None, key: str | None = None
    ) -> None:
        where = path if line is None else f"{path}:{line}"
        what = f"{where}: {key}: {reason}" if key else f"{where}: {reason}"
        super().__init__(what)
        self.path = path
        self.line = line
        self.key = key


class FetchError(MonitorError):
    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


class FeedError(FetchError):
    """A feed poll failed; `retry_after` is set when the server asked for a pause."""

    def __init__(
        self,
        feed_url: str,
        reason: str,
        status: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(feed_url, reason, status)
        self.feed_url = feed_url
        self.retry_after_seconds = retry_after_seconds


class ModelError(MonitorError):
    pass


class DeliveryError(MonitorError):
    pass
