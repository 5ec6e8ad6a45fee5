"""HTTP fetching: capped bodies, redirects followed by hand, private addresses refused."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx

from monitor.errors import FetchError
from monitor.types import HttpResponse

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
# Cloud metadata services. Both are non-global already; they are named so the rule is explicit.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class _Hop:
    """One request of a redirect chain, before the body is kept."""

    status: int
    headers: dict[str, str]
    body: bytes


def make_client(user_agent: str, connect_timeout: float, timeout: float) -> httpx.Client:
    """An httpx client with our User-Agent and timeouts; redirects are left to `fetch`."""
    return httpx.Client(
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        follow_redirects=False,
    )


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: IPAddress) -> bool:
    """False for private, loopback, link-local, reserved, multicast and metadata addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by that address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not (
        address in METADATA_ADDRESSES
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _split_http_url(url: str) -> tuple[SplitResult, int]:
    """The parts of an http(s) URL and its port; FetchError for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(url, f"invalid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise FetchError(url, "only http and https URLs are fetched")
    if not parts.hostname:
        raise FetchError(url, "URL has no host")
    return parts, port or (443 if parts.scheme == "https" else 80)


def check_public_url(url: str) -> None:
    """Raise FetchError unless `url` is http(s) and every address of its host is public."""
    parts, port = _split_http_url(url)
    host = parts.hostname or ""
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError) as exc:
        raise FetchError(url, f"cannot resolve host {host}: {exc}") from exc
    if not addresses:
        raise FetchError(url, f"cannot resolve host {host}")
    for text in addresses:
        # getaddrinfo adds the zone to link-local IPv6 addresses ("fe80::1%eth0").
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not is_public_address(address):
            raise FetchError(url, f"refused: {host} resolves to non-public address {address}")


@dataclass(frozen=True, slots=True)
class _Limits:
    """What one fetch may spend: body bytes, and wall time when a total is set."""

    max_bytes: int
    total_timeout: float | None
    deadline: float | None

    def passed(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def total_reason(self) -> str:
        return f"timed out: total time limit of {self.total_timeout:.3g}s passed"

    def hop_timeout(self, timeout: httpx.Timeout) -> httpx.Timeout:
        """The client's timeout, shortened to the time left when that is less."""
        if self.deadline is None:
            return timeout
        left = max(self.deadline - time.monotonic(), 0.001)
        return httpx.Timeout(
            min(timeout.read or left, left), connect=min(timeout.connect or left, left)
        )


def _read_capped(response: httpx.Response, url: str, limits: _Limits) -> bytes:
    """The decoded body, or FetchError once it passes the byte cap or the deadline."""
    declared = response.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limits.max_bytes:
        raise FetchError(
            url, f"too large: Content-Length {int(declared)} > {limits.max_bytes} bytes"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limits.max_bytes:
            raise FetchError(url, f"too large: body passed {limits.max_bytes} bytes")
        if limits.passed():
            raise FetchError(url, limits.total_reason())
        chunks.append(chunk)
    return b"".join(chunks)


def _timeout_reason(timeout: httpx.Timeout, exc: httpx.TimeoutException) -> str:
    def seconds(value: float | None) -> str:
        return "?" if value is None else f"{value:.3g}"

    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out connecting after {seconds(timeout.connect)}s"
    if isinstance(exc, httpx.PoolTimeout):
        return f"timed out waiting for a connection after {seconds(timeout.pool)}s"
    if isinstance(exc, httpx.WriteTimeout):
        return f"timed out sending the request after {seconds(timeout.write)}s"
    return f"timed out after {seconds(timeout.read)}s"


def _request_once(
    client: httpx.Client, url: str, headers: dict[str, str] | None, limits: _Limits
) -> _Hop:
    """One GET; a redirect's body is not read."""
    timeout = limits.hop_timeout(client.timeout)
    try:
        with client.stream("GET", url, headers=headers, timeout=timeout) as response:
            lower = {name.lower(): value for name, value in response.headers.items()}
            if response.status_code in REDIRECT_STATUSES and "location" in lower:
                return _Hop(response.status_code, lower, b"")
            return _Hop(response.status_code, lower, _read_capped(response, url, limits))
    except httpx.TimeoutException as exc:
        reason = limits.total_reason() if limits.passed() else _timeout_reason(timeout, exc)
        raise FetchError(url, reason) from exc
    except httpx.ConnectError as exc:
        raise FetchError(url, f"connection failed: {exc}") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc


def fetch(
    client: httpx.Client,
    url: str,
    *,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    allow_private: bool = True,
    max_redirects: int = 5,
    total_timeout: float | None = None,
) -> HttpResponse:
    """GET `url`, following up to `max_redirects` redirects; non-2xx statuses are returned."""
    started = time.monotonic()
    deadline = None if total_timeout is None else started + total_timeout
    limits = _Limits(max_bytes, total_timeout, deadline)
    current = url
    every_hop_permanent = True
    for hops in range(max_redirects + 1):
        _split_http_url(current)
        if not allow_private:
            check_public_url(current)
        if limits.passed():
            raise FetchError(current, limits.total_reason())
        hop = _request_once(client, current, headers, limits)
        if hop.status not in REDIRECT_STATUSES or "location" not in hop.headers:
            return HttpResponse(
                url=url,
                final_url=current,
                status=hop.status,
                headers=hop.headers,
                body=hop.body,
                permanent_redirect=current if hops and every_hop_permanent else None,
                elapsed_ms=round((time.monotonic() - started) * 1000),
            )
        every_hop_permanent = every_hop_permanent and hop.status in PERMANENT_REDIRECT_STATUSES
        current = urljoin(current, hop.headers["location"].strip())
    raise FetchError(url, f"more than {max_redirects} redirects (last to {current})")
