"""Shared fixtures: a real HTTP server on 127.0.0.1 and a temporary database URL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@dataclass
class Route:
    """What the server answers on one path; `handler` may compute it per request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    handler: Callable[[dict[str, str]], tuple[int, dict[str, str], bytes]] | None = None


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]


class LoopbackServer:
    """An HTTP server on 127.0.0.1, port 0, serving routes set by the test."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(SeenRequest(self.path, headers))
                route = server.routes.get(self.path)
                if route is None:
                    status, out_headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
                elif route.handler is not None:
                    status, out_headers, body = route.handler(headers)
                else:
                    status, out_headers, body = route.status, route.headers, route.body
                if route is not None and route.delay:
                    threading.Event().wait(route.delay)
                try:
                    self.send_response(status)
                    for name, value in out_headers.items():
                        self.send_header(name, value)
                    if "content-length" not in {k.lower() for k in out_headers}:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if status not in (204, 304):
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes | str = b"", status: int = 200, **kwargs: object) -> str:
        """Serve `body` at `path` and return the full URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(status=status, body=data, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared material not found at {SHARED}")
    return SHARED


class SmtpInbox:
    """An aiosmtpd handler keeping every message it accepted."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))  # type: ignore[attr-defined]
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: SmtpInbox


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (aiosmtpd cannot bind port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()
