"""The digest: render unsent findings as text and HTML, then deliver by SMTP or to an outbox.

`build_digest` and `compose_message` are pure; `send_smtp` and `write_outbox` are the edges.
The service marks findings sent only after `send_smtp` returned, so a refused message is
retried on the next run and an accepted one is never sent again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitor.errors import DeliveryError
from monitor.logs import log_event
from monitor.types import Digest, Finding

Security = Literal["starttls", "ssl", "none"]

_TEMPLATES = Environment(
    loader=PackageLoader("monitor", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One finding as the templates show it."""

    stance: str
    headline: str
    outlet: str
    date: str
    url: str
    linkable: bool  # only http(s) links become <a href>
    confidence: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClaimSection:
    """The findings about one claim, contradictions first."""

    claim_id: str
    claim_text: str
    items: tuple[DigestItem, ...]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def digest_subject(findings: Sequence[Finding], subject: str) -> str:
    """The subject line with the counts, e.g. 'digest: 2 contradictions, 3 corroborations'."""
    if not findings:
        return f"{subject}: no new findings"
    contradictions = sum(1 for finding in findings if finding.stance == "contradicts")
    corroborations = len(findings) - contradictions
    counts = [_plural(contradictions, "contradiction"), _plural(corroborations, "corroboration")]
    return f"{subject}: {', '.join(counts)}"


def _item(finding: Finding) -> DigestItem:
    return DigestItem(
        stance=finding.stance,
        headline=finding.headline or finding.article_url,
        outlet=finding.outlet or "unknown outlet",
        date=finding.published.strftime("%Y-%m-%d") if finding.published else "date unknown",
        url=finding.article_url,
        linkable=finding.article_url.lower().startswith(("http://", "https://")),
        confidence=f"{round(finding.confidence * 100)}%",
        evidence=finding.evidence,
    )


def group_findings(findings: Sequence[Finding]) -> list[ClaimSection]:
    """Sections by claim: claims with contradictions first; in each, contradictions first."""
    by_claim: dict[str, list[Finding]] = {}
    for finding in findings:
        by_claim.setdefault(finding.claim_id, []).append(finding)
    sections = []
    for claim_id, group in by_claim.items():
        ordered = sorted(
            group, key=lambda f: (f.stance != "contradicts", -f.confidence, f.headline)
        )
        sections.append(
            ClaimSection(claim_id, group[0].claim_text, tuple(_item(f) for f in ordered))
        )
    sections.sort(key=lambda s: (s.items[0].stance != "contradicts", s.claim_id))
    return sections


def build_digest(findings: Sequence[Finding], now: datetime, subject: str) -> Digest:
    """Render the findings as one digest, text and HTML."""
    context = {
        "subject": digest_subject(findings, subject),
        "created": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "sections": group_findings(findings),
        "count": len(findings),
    }
    return Digest(
        findings=tuple(findings),
        created_at=now,
        subject=str(context["subject"]),
        text=_TEMPLATES.get_template("digest.txt.j2").render(context),
        html=_TEMPLATES.get_template("digest.html.j2").render(context),
        finding_ids=tuple(finding.id for finding in findings if finding.id is not None),
    )


def compose_message(digest: Digest, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """A multipart/alternative message: the text part, then the HTML part."""
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(digest.created_at.astimezone(UTC))
    # An explicit domain: make_msgid would otherwise look up this host's name.
    domain = sender.rpartition("@")[2].strip("<> ") or "localhost"
    message["Message-ID"] = make_msgid("digest", domain=domain)
    message.set_content(digest.text)
    message.add_alternative(digest.html, subtype="html")
    return message


def _open(
    host: str, port: int, security: Security, timeout: float, context: ssl.SSLContext
) -> smtplib.SMTP:
    if security == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    client = smtplib.SMTP(host, port, timeout=timeout)
    if security == "starttls":
        try:
            client.starttls(context=context)
        except (smtplib.SMTPException, OSError):
            client.close()
            raise
    return client


def _reply(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = exc.recipients.items()
        return "recipients refused: " + "; ".join(
            f"{rcpt} ({code} {_text(reply)})" for rcpt, (code, reply) in refused
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"server replied {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def send_smtp(
    message: EmailMessage,
    *,
    host: str,
    port: int,
    security: Security,
    username: str | None,
    password: str | None,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Hand the message to an SMTP server; DeliveryError names host:port and the server's reply."""
    where = f"{host}:{port}"
    context = ssl_context or ssl.create_default_context()
    try:
        client = _open(host, port, security, timeout, context)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {where}: {_reply(exc)}") from exc
    try:
        if username:
            client.login(username, password or "")
        refused = client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {where}: {_reply(exc)}") from exc
    finally:
        _quit(client)
    if refused:
        # The server took the message for the other recipients, so it must not be sent again.
        log_event(
            "digest.recipients_refused",
            logging.WARNING,
            server=where,
            refused=",".join(sorted(refused)),
        )


def _quit(client: smtplib.SMTP) -> None:
    # Once DATA was accepted, a failed QUIT changes nothing for the message.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def write_outbox(message: EmailMessage, folder: Path, now: datetime) -> Path:
    """Write the message as a .eml file in `folder`, atomically; returns its path."""
    token = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:8]
    target = folder / f"digest-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{token}.eml"
    temporary: Path | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=folder, prefix=".digest-", suffix=".tmp", delete=False
        ) as handle:
            temporary = Path(handle.name)
            handle.write(message.as_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise DeliveryError(f"outbox {folder}: {exc.strerror or exc}") from exc
    return target
