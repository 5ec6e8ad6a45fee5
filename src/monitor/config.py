"""YAML -> validated, frozen settings. Errors name the file, the line and the key."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.errors import ConfigError
from monitor.types import FeedSource

DEFAULT_CONFIG_PATH = Path("config/monitor.yaml")
DATABASE_URL_ENV = "MONITOR_DATABASE_URL"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Model):
    url: str
    title: str | None = None
    interval_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value


class KeywordConfig(_Model):
    """The keyword gate: an entry passes when it meets every list that is set."""

    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return value


class PollingConfig(_Model):
    interval_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    jitter_seconds: int = Field(default=60, ge=0)
    timeout_seconds: float = Field(default=20.0, gt=0)
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    max_feed_bytes: int = Field(default=5_000_000, ge=1024)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    per_host_concurrency: int = Field(default=1, ge=1, le=16)
    backoff_max_minutes: int = Field(default=24 * 60, ge=1)
    failing_after_days: int = Field(default=3, ge=1)
    user_agent: str = "claim-monitor/0.1 (+https://example.invalid/claim-monitor)"


class ExtractionConfig(_Model):
    max_page_bytes: int = Field(default=5_000_000, ge=1024)
    timeout_seconds: float = Field(default=20.0, gt=0)
    min_words: int = Field(default=50, ge=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    allow_private_addresses: bool = False
    languages: tuple[str, ...] = ("en",)


class MatchingConfig(_Model):
    threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    model_dir: str | None = None  # None: the model shipped in the package
    evidence_sentences: int = Field(default=3, ge=1, le=10)


class SmtpConfig(_Model):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)


class DigestConfig(_Model):
    time: str = "08:00"
    timezone: str = "UTC"
    sender: str = "claim-monitor@localhost"
    recipients: tuple[str, ...] = ()
    subject: str = "claim-monitor digest"
    outbox: str = "var/outbox"

    @field_validator("time", mode="before")
    @classmethod
    def _sexagesimal(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted 07:30 as the base-60 integer 450.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return f"{value // 60:02d}:{value % 60:02d}"
        return value

    @field_validator("time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("must be a 24-hour time like 08:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Settings(_Model):
    """The whole configuration, validated once at start-up."""

    seeds_dir: str = "seeds"
    database_url: str = "sqlite:///var/monitor.db"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    keywords: KeywordConfig = KeywordConfig()
    claims: tuple[str, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    polling: PollingConfig = PollingConfig()
    extraction: ExtractionConfig = ExtractionConfig()
    matching: MatchingConfig = MatchingConfig()
    digest: DigestConfig = DigestConfig()
    smtp: SmtpConfig | None = None
    config_path: str = ""  # set by the loader, not by the file
    smtp_password: str | None = Field(default=None, repr=False)  # from the environment

    @model_validator(mode="after")
    def _unique_feeds(self) -> Settings:
        seen: set[str] = set()
        for feed in self.feeds:
            if feed.url in seen:
                raise ValueError(f"feed listed twice: {feed.url}")
            seen.add(feed.url)
        return self

    def feed_sources(self) -> list[FeedSource]:
        """The configured feeds as pipeline values."""
        return [
            FeedSource(feed.url, feed.title, feed.interval_minutes)
            for feed in self.feeds
            if feed.enabled
        ]

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the directory the service runs in."""
        return Path(path).expanduser()


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that remembers the line of every mapping key."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        lines[str(key)] = key_node.start_mark.line + 1
    mapping["__lines__"] = lines
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k not in ("__lines__", "__line__")}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _line_of(raw: Any, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest key of `loc` that the YAML has."""
    node, line = raw, None
    for part in loc:
        if isinstance(node, dict):
            line = node.get("__lines__", {}).get(str(part), line)
            node = node.get(part) if part in node else None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, dict):
                line = node.get("__line__", line)
        else:
            break
    return line


def parse_settings(text: str, path: str, environ: dict[str, str] | None = None) -> Settings:
    """Validate YAML text into Settings; the environment may override the database URL."""
    environ = dict(os.environ) if environ is None else environ
    try:
        raw = yaml.load(text, Loader=_LineLoader) or {}  # noqa: S506 - _LineLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, f"YAML syntax error: {problem}", line) from exc
    if not isinstance(raw, dict):
        raise ConfigError(path, "the top level must be a mapping of keys", 1)
    data = _strip_lines(raw)
    if environ.get(DATABASE_URL_ENV):
        data["database_url"] = environ[DATABASE_URL_ENV]
    try:
        settings = Settings.model_validate({**data, "config_path": path})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc) or "(top level)"
        reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        more = len(exc.errors()) - 1
        if more:
            reason += f" (and {more} more error{'s' if more > 1 else ''})"
        raise ConfigError(path, reason, _line_of(raw, loc), key) from exc
    smtp = settings.smtp
    if smtp is not None and smtp.password_env:
        password = environ.get(smtp.password_env)
        settings = settings.model_copy(update={"smtp_password": password})
    return settings


def load_settings(path: Path | str = DEFAULT_CONFIG_PATH) -> Settings:
    """Read and validate a config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "config file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read config file: {exc}") from exc
    return parse_settings(text, str(path))
