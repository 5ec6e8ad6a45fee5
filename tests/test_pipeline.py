"""The stages composed, run for real: loopback feeds and pages, SQLite, aiosmtpd."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest

from conftest import LoopbackServer, SmtpServer, free_port
from monitor.config import Settings, parse_settings
from monitor.pipeline import Pipeline
from monitor.types import Claim, Stance

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SEED = (
    "Harbour strike\n\n"
    "Officials said 40 people were killed when jets bombed the Harbour district of Port Vale "
    "on Monday.\n"
)
FILLER = " ".join(["The reporters spoke to residents who described the night in detail."] * 12)


class CueMatcher:
    """A stand-in model with an obvious rule, so these tests check the plumbing, not the model."""

    name = "cue"

    def match(self, claims: Sequence[Claim], article_text: str) -> list[Stance]:
        sentences = [s.strip() for s in article_text.split(".") if s.strip()]
        for cue, label in (("confirmed", "corroborates"), ("denied", "contradicts")):
            hits = [s for s in sentences if cue in s]
            if hits:
                return [Stance(label, 0.9, (hits[0] + ".",)) for _ in claims]  # type: ignore[arg-type]
        return [Stance("unrelated", 0.8) for _ in claims]


def page(title: str, sentence: str) -> str:
    return (
        f"<html lang='en'><head><title>{title}</title>"
        "<meta property='og:site_name' content='Port Vale Times'></head><body><article>"
        f"<h1>{title}</h1><p>{sentence}</p><p>{FILLER}</p></article></body></html>"
    )


def rss(server: LoopbackServer, items: Sequence[tuple[str, str]]) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>{server.url(path)}</link><guid>{path}</guid>"
        f"<description>{title} in Port Vale harbour.</description></item>"
        for title, path in items
    )
    channel = f"<channel><title>Vale wire</title>{body}</channel>"
    return f"<?xml version='1.0'?><rss version='2.0'>{channel}</rss>"


def settings_for(tmp_path: Path, feeds: Sequence[str], smtp_port: int | None) -> Settings:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    smtp = (
        f"smtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n  security: none\n  timeout_seconds: 5\n"
        if smtp_port
        else ""
    )
    feed_lines = "".join(f"  - url: {url}\n" for url in feeds)
    text = (
        f"seeds_dir: {seeds}\ndatabase_url: sqlite:///{tmp_path / 'monitor.db'}\n"
        f"keywords:\n  any: [Port Vale]\nfeeds:\n{feed_lines}"
        "extraction:\n  allow_private_addresses: true\n  min_words: 20\n  max_page_bytes: 200000\n"
        "polling:\n  jitter_seconds: 0\n  timeout_seconds: 5\n"
        f"digest:\n  recipients: [desk@example.org]\n  outbox: {tmp_path / 'outbox'}\n{smtp}"
    )
    return parse_settings(text, "test.yaml", {})


def open_pipeline(settings: Settings) -> Pipeline:
    return Pipeline.open(settings, matcher=CueMatcher())


@pytest.fixture
def wire(http_server: LoopbackServer) -> str:
    http_server.add(
        "/a.html", page("Strike confirmed", "The army confirmed the jets bombed the harbour.")
    )
    http_server.add(
        "/b.html", page("Ministry responds", "The ministry denied that any jets flew that night.")
    )
    http_server.add("/c.html", page("Ferry timetable", "Ferries leave every hour from the pier."))
    items = [
        ("Strike confirmed", "/a.html"),
        ("Ministry responds", "/b.html"),
        ("Ferry times", "/c.html"),
    ]
    return http_server.add(
        "/feed.xml", rss(http_server, items), headers={"Content-Type": "application/rss+xml"}
    )


def parts(message: Message) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


def test_poll_records_one_finding_per_stance_taken(tmp_path: Path, wire: str) -> None:
    pipeline = open_pipeline(settings_for(tmp_path, [wire], None))
    [summary] = pipeline.poll_due(NOW)
    findings = pipeline.store.unsent_findings()
    pipeline.close()
    assert (summary.status, summary.entries, summary.new, summary.findings) == (200, 3, 3, 2)
    assert sorted(f.stance for f in findings) == ["contradicts", "corroborates"]


def test_digest_is_mailed_with_both_parts_and_never_twice(
    tmp_path: Path, wire: str, smtp_server: SmtpServer
) -> None:
    pipeline = open_pipeline(settings_for(tmp_path, [wire], smtp_server.port))
    pipeline.poll_due(NOW)
    first = pipeline.deliver_digest(NOW)
    second = pipeline.deliver_digest(NOW + timedelta(days=1))
    pipeline.close()
    assert (first.findings, first.error) == (2, None)
    assert second.findings == 0
    assert len(smtp_server.inbox.messages) == 1
    body = parts(message_from_bytes(smtp_server.inbox.messages[0]))
    assert set(body) == {"text/plain", "text/html"}
    for text in body.values():
        assert "jets bombed the Harbour district" in text
        assert "The ministry denied that any jets flew that night." in text
    assert body["text/plain"].index("denied") < body["text/plain"].index("army confirmed")


def test_smtp_outage_keeps_findings_for_the_next_run(
    tmp_path: Path, wire: str, smtp_server: SmtpServer
) -> None:
    closed_port = free_port()
    pipeline = open_pipeline(settings_for(tmp_path, [wire], closed_port))
    pipeline.poll_due(NOW)
    failed = pipeline.deliver_digest(NOW)
    pipeline.close()
    assert failed.error is not None and str(closed_port) in failed.error
    retry = open_pipeline(settings_for(tmp_path, [wire], smtp_server.port))
    sent = retry.deliver_digest(NOW + timedelta(hours=1))
    again = retry.deliver_digest(NOW + timedelta(hours=2))
    retry.close()
    assert (sent.findings, sent.error, again.findings) == (2, None, 0)
    assert len(smtp_server.inbox.messages) == 1


def test_outbox_gets_an_eml_when_no_smtp_is_set(tmp_path: Path, wire: str) -> None:
    pipeline = open_pipeline(settings_for(tmp_path, [wire], None))
    pipeline.poll_due(NOW)
    outcome = pipeline.deliver_digest(NOW)
    pipeline.close()
    assert outcome.delivered_to is not None and outcome.delivered_to.endswith(".eml")
    assert "ministry denied" in Path(outcome.delivered_to).read_text(encoding="utf-8")


def test_restart_between_polls_repeats_nothing(
    tmp_path: Path, http_server: LoopbackServer, wire: str
) -> None:
    settings = settings_for(tmp_path, [wire], None)
    first = open_pipeline(settings)
    first.poll_due(NOW)
    first.close()
    http_server.add(
        "/d.html", page("Witness account", "A witness confirmed the jets came at dawn.")
    )
    items = [
        ("Strike confirmed", "/a.html"),
        ("Ministry responds", "/b.html"),
        ("Ferry times", "/c.html"),
        ("Witness account", "/d.html"),
    ]
    http_server.add("/feed.xml", rss(http_server, items))
    second = open_pipeline(settings)
    [summary] = second.poll_due(NOW, force=True)
    findings = second.store.unsent_findings()
    second.close()
    assert (summary.entries, summary.new, summary.findings) == (4, 1, 1)
    assert len(findings) == 3
    assert len(http_server.hits("/a.html")) == 1


def test_repeated_poll_is_a_conditional_get_answered_304(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    def etagged(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if headers.get("if-none-match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return (
            200,
            {"ETag": '"v1"', "Content-Type": "application/rss+xml"},
            rss(http_server, []).encode(),
        )

    url = http_server.add("/etag.xml", handler=etagged)
    pipeline = open_pipeline(settings_for(tmp_path, [url], None))
    first = pipeline.poll_due(NOW, force=True)
    second = pipeline.poll_due(NOW + timedelta(hours=1), force=True)
    pipeline.close()
    assert [first[0].status, second[0].status] == [200, 304]
    assert http_server.hits("/etag.xml")[1].headers.get("if-none-match") == '"v1"'


def test_broken_feed_does_not_stop_the_others(
    tmp_path: Path, http_server: LoopbackServer, wire: str
) -> None:
    broken = http_server.add("/broken.xml", "oops", status=500)
    pipeline = open_pipeline(settings_for(tmp_path, [broken, wire], None))
    summaries = {s.feed_url: s for s in pipeline.poll_due(NOW)}
    states = {s.feed_url: s for s in pipeline.store.feed_states()}
    pipeline.close()
    assert summaries[broken].error is not None and "500" in summaries[broken].error
    assert summaries[wire].findings == 2
    assert states[broken].error_count == 1
    assert states[broken].next_poll is not None and states[broken].next_poll > NOW


def test_page_over_size_cap_falls_back_to_feed_text(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/huge.html", "<html><body>" + "x " * 300_000 + "</body></html>")
    feed = http_server.add("/huge.xml", rss(http_server, [("Port Vale huge page", "/huge.html")]))
    pipeline = open_pipeline(settings_for(tmp_path, [feed], None))
    [summary] = pipeline.poll_due(NOW)
    pipeline.close()
    [outcome] = summary.outcomes
    assert outcome.article.text_source == "feed"
    assert "Port Vale harbour" in outcome.article.text


def test_thin_real_page_falls_back_to_feed_summary_in_pipeline(
    tmp_path: Path, http_server: LoopbackServer, shared_dir: Path
) -> None:
    page_bytes = (shared_dir / "corpus" / "pages" / "scmp.com.playbook.html").read_bytes()
    http_server.add("/scmp.html", page_bytes, headers={"Content-Type": "text/html; charset=utf-8"})
    feed = http_server.add("/scmp.xml", rss(http_server, [("Port Vale playbook", "/scmp.html")]))
    settings = settings_for(tmp_path, [feed], None)
    settings = settings.model_copy(
        update={
            "extraction": settings.extraction.model_copy(
                update={"min_words": 50, "max_page_bytes": 2_000_000}
            )
        }
    )
    pipeline = open_pipeline(settings)
    [summary] = pipeline.poll_due(NOW)
    pipeline.close()
    [outcome] = summary.outcomes
    assert outcome.article.text_source == "feed"
    assert outcome.article.fallback_reason is not None
    assert outcome.article.fallback_reason.startswith("thin page")


def test_article_link_to_private_address_is_refused_unless_allowed(
    tmp_path: Path, http_server: LoopbackServer, wire: str
) -> None:
    settings = settings_for(tmp_path, [wire], None)
    settings = settings.model_copy(
        update={
            "extraction": settings.extraction.model_copy(update={"allow_private_addresses": False})
        }
    )
    pipeline = open_pipeline(settings)
    [summary] = pipeline.poll_due(NOW)
    pipeline.close()
    assert {o.article.text_source for o in summary.outcomes} == {"feed"}
    assert {o.article.fallback_reason for o in summary.outcomes} == {"fetch failed"}
    assert http_server.hits("/a.html") == []


def test_page_in_another_language_is_recorded_and_not_matched(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    german = (
        "<html lang='de'><head><title>Angriff auf Port Vale</title></head><body><article>"
        "<p>Das Ministerium hat bestätigt, dass die Flugzeuge den Hafen bombardiert haben. "
        + " ".join(["Die Bewohner berichteten den Reportern von der Nacht."] * 12)
        + "</p></article></body></html>"
    )
    http_server.add("/de.html", german, headers={"Content-Type": "text/html; charset=utf-8"})
    feed = http_server.add("/de.xml", rss(http_server, [("Port Vale Angriff", "/de.html")]))
    pipeline = open_pipeline(settings_for(tmp_path, [feed], None))
    [summary] = pipeline.poll_due(NOW)
    findings = pipeline.store.unsent_findings()
    pipeline.close()
    [outcome] = summary.outcomes
    assert (outcome.status, outcome.article.language) == ("skipped", "de")
    assert findings == []


def test_matching_text_holds_the_headline_once() -> None:
    from monitor.pipeline import matching_text
    from monitor.types import Article

    opening = Article("u", "Strike confirmed", "Strike confirmed\nThe army said so.", None, "page")
    bare = Article("u", "Strike confirmed", "The army said so.", None, "page")
    assert matching_text(opening) == "Strike confirmed\nThe army said so."
    assert matching_text(bare) == "Strike confirmed\nThe army said so."


class BrokenMatcher:
    """A model whose files went bad: it raises the error the real model raises."""

    name = "broken"

    def match(self, claims: Sequence[Claim], article_text: str) -> list[Stance]:
        from monitor.errors import ModelError

        raise ModelError("stance.onnx: cannot run model")


def test_model_error_marks_article_failed_and_poll_goes_on(tmp_path: Path, wire: str) -> None:
    pipeline = Pipeline.open(settings_for(tmp_path, [wire], None), matcher=BrokenMatcher())
    [summary] = pipeline.poll_due(NOW)
    counts = pipeline.store.stats()
    pipeline.close()
    assert (summary.status, summary.new, summary.findings) == (200, 3, 0)
    assert counts["articles_failed"] == 3
