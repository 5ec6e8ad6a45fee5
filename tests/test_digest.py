"""Digest rendering, message composition, and delivery to a real aiosmtpd server or an outbox."""

from __future__ import annotations

import email
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.digest import build_digest, compose_message, send_smtp, write_outbox
from monitor.errors import DeliveryError
from monitor.types import Finding

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SENDER = "claim-monitor@example.org"
RECIPIENTS = ("desk@example.org", "editor@example.org")
ACCOUNT = ("desk", "s3cret")  # the login the test SMTP server accepts


def make_finding(
    finding_id: int,
    stance: str = "corroborates",
    claim_id: str = "c-rates",
    headline: str = "Bank raises rates",
    **changes: Any,
) -> Finding:
    values: dict[str, Any] = {
        "claim_id": claim_id,
        "claim_text": f"Claim text of {claim_id}.",
        "article_url": f"https://news.example/{finding_id}",
        "headline": headline,
        "outlet": "News Example",
        "published": NOW - timedelta(days=1),
        "stance": stance,
        "confidence": 0.87,
        "evidence": (f"Evidence sentence {finding_id}.",),
        "found_at": NOW,
        "id": finding_id,
    }
    values.update(changes)
    return Finding(**values)


def sample_message() -> EmailMessage:
    digest = build_digest([make_finding(1), make_finding(2, "contradicts")], NOW, "digest")
    return compose_message(digest, SENDER, RECIPIENTS)


# -- rendering ----------------------------------------------------------------------------------


def test_subject_counts_contradictions_and_corroborations() -> None:
    findings = [make_finding(1, "contradicts"), make_finding(2, "contradicts")] + [
        make_finding(n) for n in (3, 4, 5)
    ]
    digest = build_digest(findings, NOW, "claim-monitor digest")
    assert digest.subject == "claim-monitor digest: 2 contradictions, 3 corroborations"


def test_subject_of_an_empty_digest_says_so() -> None:
    assert build_digest([], NOW, "claim-monitor digest").subject == (
        "claim-monitor digest: no new findings"
    )


def test_finding_ids_come_from_the_findings() -> None:
    findings = [make_finding(7), make_finding(3, "contradicts"), make_finding(0, id=None)]
    assert build_digest(findings, NOW, "d").finding_ids == (7, 3)


def test_contradictions_come_first_within_a_claim() -> None:
    findings = [
        make_finding(1, headline="A corroborating story", confidence=0.95),
        make_finding(2, "contradicts", headline="Z contradicting story", confidence=0.7),
    ]
    text = build_digest(findings, NOW, "d").text
    assert text.index("Z contradicting story") < text.index("A corroborating story")


def test_claims_with_contradictions_come_first() -> None:
    findings = [
        make_finding(1, claim_id="a-claim", headline="Only corroborated"),
        make_finding(2, "contradicts", claim_id="z-claim", headline="Contradicted"),
    ]
    html = build_digest(findings, NOW, "d").html
    assert html.index("Claim z-claim") < html.index("Claim a-claim")


def test_text_shows_headline_outlet_date_link_evidence_and_percentage() -> None:
    text = build_digest([make_finding(4, confidence=0.734)], NOW, "d").text
    for expected in (
        "Bank raises rates",
        "News Example, 2026-11-24",
        "https://news.example/4",
        "> Evidence sentence 4.",
        "CORROBORATES 73%",
        'CLAIM c-rates: "Claim text of c-rates."',
    ):
        assert expected in text


def test_html_escapes_headline_and_evidence() -> None:
    finding = make_finding(
        1, headline="<script>alert(1)</script>", evidence=("Rates & <b>taxes</b>",)
    )
    html = build_digest([finding], NOW, "d").html
    assert "<script>" not in html and "<b>taxes" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Rates &amp; &lt;b&gt;taxes&lt;/b&gt;" in html


def test_text_part_is_not_html_escaped() -> None:
    finding = make_finding(1, headline="Q&A: rates <explained>")
    assert "Q&A: rates <explained>" in build_digest([finding], NOW, "d").text


def test_html_links_only_http_urls() -> None:
    finding = make_finding(1, article_url="javascript:alert(1)")
    html = build_digest([finding], NOW, "d").html
    assert 'href="javascript' not in html
    assert "(javascript:alert(1))" in html


def test_unknown_date_and_outlet_are_named() -> None:
    text = build_digest([make_finding(1, published=None, outlet=None)], NOW, "d").text
    assert "unknown outlet, date unknown" in text


# -- message ------------------------------------------------------------------------------------


def test_message_is_multipart_alternative_with_text_then_html() -> None:
    message = sample_message()
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert (message.get_content_type(), parts) == (
        "multipart/alternative",
        ["text/plain", "text/html"],
    )


def test_message_headers_name_sender_recipients_date_and_id() -> None:
    message = sample_message()
    assert message["From"] == SENDER
    assert message["To"] == "desk@example.org, editor@example.org"
    assert message["Subject"] == "digest: 1 contradiction, 1 corroboration"
    assert message["Date"] == "Wed, 25 Nov 2026 08:00:00 +0000"
    assert str(message["Message-ID"]).endswith("@example.org>")


# -- SMTP ---------------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps what it receives and may refuse recipients."""

    def __init__(self, refuse_rcpt: str | None = None) -> None:
        self.refuse_rcpt = refuse_rcpt
        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_rcpt is not None:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


class Authenticator:
    def __init__(self, login: str, password: str) -> None:
        self.expected = (login.encode(), password.encode())

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login,
                auth_data.password,
            )
            == self.expected
        )
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def start_smtp() -> Iterator[Any]:
    """Start aiosmtpd on 127.0.0.1 with the handler and options a test gives."""
    controllers: list[Controller] = []

    def start(handler: Inbox, **options: Any) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", str(key), "-out", str(cert),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    except FileNotFoundError:
        pytest.skip("the openssl command is not installed; it makes the test certificate")
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def plain_send(port: int, **changes: Any) -> None:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": None,
        "password": None,
        "timeout": 10.0,
    }
    options.update(changes)
    send_smtp(sample_message(), **options)


def test_server_receives_both_parts(smtp_server: Any) -> None:
    plain_send(smtp_server.port)
    (raw,) = smtp_server.inbox.messages
    received = email.message_from_bytes(raw, policy=default_policy)
    assert [part.get_content_type() for part in received.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert "Evidence sentence 2." in received.get_body(("html",)).get_content()
    assert smtp_server.inbox.envelopes == [(SENDER, list(RECIPIENTS))]


def test_starttls_with_login_delivers(start_smtp: Any, certificate: tuple[Path, Path]) -> None:
    inbox = Inbox()
    port = start_smtp(
        inbox,
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=Authenticator(*ACCOUNT),
        auth_required=True,
    )
    plain_send(
        port,
        security="starttls",
        username="desk",
        password=ACCOUNT[1],
        ssl_context=client_tls(certificate),
    )
    assert [m["Subject"] for m in inbox.messages] == ["digest: 1 contradiction, 1 corroboration"]


def test_ssl_delivers(start_smtp: Any, certificate: tuple[Path, Path]) -> None:
    inbox = Inbox()
    port = start_smtp(inbox, ssl_context=server_tls(certificate))
    plain_send(port, security="ssl", ssl_context=client_tls(certificate))
    assert len(inbox.messages) == 1


def test_untrusted_certificate_is_a_delivery_error(
    start_smtp: Any, certificate: tuple[Path, Path]
) -> None:
    port = start_smtp(Inbox(), tls_context=server_tls(certificate), require_starttls=True)
    with pytest.raises(DeliveryError, match=f"127.0.0.1:{port}.*CERTIFICATE_VERIFY_FAILED"):
        plain_send(port, security="starttls")


def test_wrong_password_names_server_and_reply(
    start_smtp: Any, certificate: tuple[Path, Path]
) -> None:
    inbox = Inbox()
    port = start_smtp(
        inbox,
        tls_context=server_tls(certificate),
        authenticator=Authenticator(*ACCOUNT),
        auth_required=True,
    )
    with pytest.raises(DeliveryError, match=f"SMTP 127.0.0.1:{port}: server replied 535"):
        plain_send(
            port,
            security="starttls",
            username="desk",
            password=ACCOUNT[1] + "-wrong",
            ssl_context=client_tls(certificate),
        )
    assert inbox.messages == []


def test_refused_recipients_name_server_and_reply(start_smtp: Any) -> None:
    port = start_smtp(Inbox(refuse_rcpt="550 5.1.1 mailbox unavailable"))
    with pytest.raises(DeliveryError) as caught:
        plain_send(port)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "550 5.1.1 mailbox unavailable" in str(caught.value)


def test_closed_port_names_host_and_port() -> None:
    port = free_port()
    with pytest.raises(DeliveryError, match=f"SMTP 127.0.0.1:{port}: .*refused"):
        plain_send(port)


def test_silent_server_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(DeliveryError, match=f"SMTP 127.0.0.1:{port}: .*timed out"):
            plain_send(port, timeout=0.5)


def test_password_never_appears_in_the_error(
    start_smtp: Any, certificate: tuple[Path, Path]
) -> None:
    port = start_smtp(
        Inbox(), tls_context=server_tls(certificate), authenticator=Authenticator("a", "b")
    )
    with pytest.raises(DeliveryError) as caught:
        plain_send(
            port,
            security="starttls",
            username="desk",
            password=ACCOUNT[1] + "-hunter2",
            ssl_context=client_tls(certificate),
        )
    assert "hunter2" not in str(caught.value)


# -- outbox -------------------------------------------------------------------------------------


def test_outbox_file_holds_the_message(tmp_path: Path) -> None:
    message = sample_message()
    path = write_outbox(message, tmp_path / "outbox", NOW)
    stored = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert (path.suffix, stored["Message-ID"]) == (".eml", message["Message-ID"])
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [path.name]


def test_two_digests_in_one_second_get_two_files(tmp_path: Path) -> None:
    first = write_outbox(sample_message(), tmp_path, NOW)
    second = write_outbox(sample_message(), tmp_path, NOW)
    assert first != second and first.is_file() and second.is_file()


def test_unwritable_outbox_is_a_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the outbox should be")
    with pytest.raises(DeliveryError, match="not-a-folder"):
        write_outbox(sample_message(), blocker / "outbox", NOW)
