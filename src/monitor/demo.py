"""The offline demo: a loopback server for the bundled feeds and pages, and a config to use it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from monitor.errors import ConfigError
from monitor.logs import log_event

DEMO_DATA_DIR = Path(__file__).resolve().parent / "demo_data"
BASE_PLACEHOLDER = "{{BASE}}"
DEMO_FEEDS: tuple[tuple[str, str], ...] = (
    ("feeds/wire.xml", "Wire Desk: World"),
    ("feeds/gazette.atom", "The Harbour Gazette: News"),
    ("feeds/world.xml", "World Report: Latest"),
)
CONTENT_TYPES: dict[str, str] = {
    ".xml": "application/rss+xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".html": "text/html; charset=utf-8",
}
DEMO_KEYWORDS: tuple[str, ...] = (
    "Omran",
    "Daqneesh",
    "Aleppo",
    "Qaterji",
    "Syria",
    "Syrian",
    "Russia",
    "Russian",
    "Moscow",
    "Doctors Without Borders",
    "MSF",
    "incendiary",
    "cluster munitions",
)


@dataclass(frozen=True, slots=True)
class DemoFile:
    """One file as the demo server sends it: the placeholder already replaced."""

    body: bytes
    content_type: str
    etag: str
    last_modified: str  # an HTTP date
    modified: datetime  # whole seconds, UTC, to compare with If-Modified-Since


def load_demo_files(data_dir: Path, base_url: str) -> dict[str, DemoFile]:
    """Every servable file under `data_dir`, keyed by its URL path, with `{{BASE}}` substituted."""
    if not data_dir.is_dir():
        raise ConfigError(str(data_dir), "demo data folder not found")
    files: dict[str, DemoFile] = {}
    for path in sorted(data_dir.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix.lower())
        if content_type is None or not path.is_file():
            continue
        body = path.read_bytes().replace(BASE_PLACEHOLDER.encode(), base_url.encode())
        modified = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
        files["/" + path.relative_to(data_dir).as_posix()] = DemoFile(
            body=body,
            content_type=content_type,
            etag='"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"',
            last_modified=format_datetime(modified, usegmt=True),
            modified=modified,
        )
    return files


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def is_not_modified(demo_file: DemoFile, request_headers: Mapping[str, str]) -> bool:
    """Does a conditional request already hold this version? If-None-Match wins over the date."""
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        tags = _etags(if_none_match)
        return "*" in tags or demo_file.etag in tags
    if_modified_since = request_headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return demo_file.modified <= since


def _handler_for(files: Mapping[str, DemoFile]) -> type[BaseHTTPRequestHandler]:
    class DemoHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def _answer(self, send_body: bool) -> None:
            demo_file = files.get(unquote(urlsplit(self.path).path))
            if demo_file is None:
                self._send(
                    404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found\n", send_body
                )
                return
            headers = {"ETag": demo_file.etag, "Last-Modified": demo_file.last_modified}
            request_headers = {name.lower(): value for name, value in self.headers.items()}
            if is_not_modified(demo_file, request_headers):
                self._send(304, headers, b"", send_body=False)
                return
            headers["Content-Type"] = demo_file.content_type
            self._send(200, headers, demo_file.body, send_body)

        def _send(self, status: int, headers: dict[str, str], body: bytes, send_body: bool) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body and body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # the demo prints its own summary; a line per request would drown it

    return DemoHandler


@contextlib.contextmanager
def serve_demo(data_dir: Path | None = None) -> Iterator[str]:
    """Serve the demo feeds and pages on 127.0.0.1 (a free port) and yield the base URL."""
    files: dict[str, DemoFile] = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(files))
    httpd.daemon_threads = True
    base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        files.update(load_demo_files(data_dir or DEMO_DATA_DIR, base_url))
    except BaseException:
        httpd.server_close()
        raise
    # A short poll interval lets the server stop promptly when the demo ends.
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-server", daemon=True
    )
    thread.start()
    log_event("demo.serving", base_url=base_url, files=len(files))
    try:
        yield base_url
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def demo_feed_urls(base_url: str) -> list[str]:
    """The URLs of the demo feeds on a server at `base_url`."""
    return [f"{base_url.rstrip('/')}/{path}" for path, _title in DEMO_FEEDS]


def demo_keywords() -> dict[str, list[str]]:
    """The keyword gate of the demo: any mention of the story's people, places or weapons."""
    return {"any": list(DEMO_KEYWORDS)}


def _yaml_list(items: list[str], indent: str) -> str:
    return "\n".join(f"{indent}- {json.dumps(item)}" for item in items)


def demo_config_yaml(base_url: str, workdir: Path, seeds_dir: Path) -> str:
    """Config YAML for one demo run: loopback feeds, the given seeds, files kept in `workdir`."""
    feeds = "\n".join(
        f"  - url: {json.dumps(url)}\n    title: {json.dumps(title)}"
        for url, (_path, title) in zip(demo_feed_urls(base_url), DEMO_FEEDS, strict=True)
    )
    # JSON strings are valid YAML scalars, which quotes paths and URLs safely without a YAML writer.
    return f"""\
# claim-monitor demo configuration, written by `monitor demo`.
seeds_dir: {json.dumps(seeds_dir.as_posix())}
database_url: {json.dumps("sqlite:///" + (workdir / "monitor.db").as_posix())}
log_level: INFO
keywords:
  any:
{_yaml_list(demo_keywords()["any"], "    ")}
feeds:
{feeds}
polling:
  jitter_seconds: 0
extraction:
  allow_private_addresses: true
  languages: ["en"]
digest:
  outbox: {json.dumps((workdir / "outbox").as_posix())}
  recipients: ["newsroom@example.invalid"]
  subject: "claim-monitor demo digest"
"""
