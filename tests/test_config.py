from pathlib import Path

import pytest

from monitor.config import load_settings, parse_settings
from monitor.errors import ConfigError

PROJECT = Path(__file__).resolve().parents[1]


def test_example_config_is_valid() -> None:
    settings = load_settings(PROJECT / "config" / "monitor.yaml")
    assert settings.feeds
    assert settings.digest.timezone == "Europe/London"
    assert settings.smtp is None


def test_unknown_key_names_file_line_and_key() -> None:
    text = "feeds:\n  - url: https://example.org/rss\n    intervall_minutes: 5\n"
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "monitor.yaml", {})
    assert str(info.value) == "monitor.yaml:3: feeds.0.intervall_minutes: unknown key"


def test_yaml_syntax_error_names_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings("feeds:\n  - url: [https://x\n", "monitor.yaml", {})
    assert info.value.line == 3
    assert "YAML syntax error" in str(info.value)


def test_out_of_range_value_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings("matching:\n  threshold: 1.5\n", "c.yaml", {})
    assert info.value.key == "matching.threshold"
    assert info.value.line == 2


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings("digest:\n  timezone: Mars/Olympus\n", "c.yaml", {})
    assert "unknown time zone" in str(info.value)


def test_database_url_comes_from_environment_when_set() -> None:
    settings = parse_settings(
        "database_url: sqlite:///a.db\n", "c.yaml", {"MONITOR_DATABASE_URL": "sqlite:///b.db"}
    )
    assert settings.database_url == "sqlite:///b.db"


def test_smtp_password_is_read_from_named_variable() -> None:
    text = "smtp:\n  host: mail.example.org\n  password_env: MAIL_PW\n"
    settings = parse_settings(text, "c.yaml", {"MAIL_PW": "s3cret"})
    assert settings.smtp_password == "s3cret"  # noqa: S105 - the test's own value
    assert "s3cret" not in repr(settings)


def test_feed_url_must_be_http() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings("feeds:\n  - url: ftp://example.org/rss\n", "c.yaml", {})
    assert info.value.key == "feeds.0.url"


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")


def test_unquoted_digest_time_is_read_as_clock_time() -> None:
    assert parse_settings("digest:\n  time: 07:30\n", "c.yaml", {}).digest.time == "07:30"


def test_digest_time_out_of_range_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings('digest:\n  time: "25:00"\n', "c.yaml", {})
    assert info.value.key == "digest.time"
