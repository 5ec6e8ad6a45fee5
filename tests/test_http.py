"""fetch against a real loopback server: caps, redirects, timeouts and the private-address guard."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator

import httpx
import pytest

from monitor import http
from monitor.errors import FetchError


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with http.make_client("claim-monitor-test/1", connect_timeout=2.0, timeout=2.0) as made:
        yield made


def test_fetch_returns_body_status_and_lower_case_headers(http_server, client) -> None:
    url = http_server.add("/a", b"hello", headers={"Content-Type": "text/plain", "X-Thing": "1"})
    response = http.fetch(client, url, max_bytes=1000)
    assert (response.status, response.body, response.final_url) == (200, b"hello", url)
    assert response.headers["x-thing"] == "1"
    assert response.content_type == "text/plain"


def test_fetch_sends_user_agent_and_extra_headers(http_server, client) -> None:
    url = http_server.add("/a", b"x")
    http.fetch(client, url, max_bytes=1000, headers={"If-None-Match": '"v1"'})
    seen = http_server.hits("/a")[0].headers
    assert (seen["user-agent"], seen["if-none-match"]) == ("claim-monitor-test/1", '"v1"')


def test_non_2xx_status_is_returned_not_raised(http_server, client) -> None:
    url = http_server.add("/missing", b"gone away", status=404)
    response = http.fetch(client, url, max_bytes=1000)
    assert (response.status, response.body) == (404, b"gone away")


def test_elapsed_ms_covers_the_server_delay(http_server, client) -> None:
    url = http_server.add("/slowish", b"x", delay=0.05)
    assert http.fetch(client, url, max_bytes=1000).elapsed_ms >= 50


def test_content_length_over_cap_is_refused_before_reading(http_server, client) -> None:
    url = http_server.add("/big", b"x" * 5000)
    with pytest.raises(FetchError, match=r"too large: Content-Length 5000 > 1000") as caught:
        http.fetch(client, url, max_bytes=1000)
    assert caught.value.url == url


def test_decoded_body_over_cap_is_refused_while_streaming(http_server, client) -> None:
    packed = gzip.compress(b"a" * 200_000)
    url = http_server.add("/bomb", packed, headers={"Content-Encoding": "gzip"})
    assert len(packed) < 10_000
    with pytest.raises(FetchError, match="too large: body passed 10000 bytes"):
        http.fetch(client, url, max_bytes=10_000)


def test_body_at_exactly_the_cap_is_kept(http_server, client) -> None:
    url = http_server.add("/edge", b"y" * 1000)
    assert len(http.fetch(client, url, max_bytes=1000).body) == 1000


def _redirect(http_server, path: str, status: int, target: str) -> str:
    return http_server.add(path, status=status, headers={"Location": target})


def test_temporary_redirect_is_followed_without_permanent_mark(http_server, client) -> None:
    final = http_server.add("/final", b"done")
    start = _redirect(http_server, "/start", 302, "/final")
    response = http.fetch(client, start, max_bytes=1000)
    assert (response.url, response.final_url, response.body) == (start, final, b"done")
    assert response.permanent_redirect is None


def test_chain_of_301_and_308_sets_permanent_redirect(http_server, client) -> None:
    final = http_server.add("/c", b"done")
    _redirect(http_server, "/b", 308, "/c")
    start = _redirect(http_server, "/a", 301, "/b")
    assert http.fetch(client, start, max_bytes=1000).permanent_redirect == final


def test_chain_with_one_temporary_hop_is_not_permanent(http_server, client) -> None:
    http_server.add("/c", b"done")
    _redirect(http_server, "/b", 307, "/c")
    start = _redirect(http_server, "/a", 301, "/b")
    assert http.fetch(client, start, max_bytes=1000).permanent_redirect is None


def test_redirects_past_the_limit_raise(http_server, client) -> None:
    for hop in range(4):
        _redirect(http_server, f"/r{hop}", 302, f"/r{hop + 1}")
    http_server.add("/r4", b"end")
    start = http_server.url("/r0")
    assert http.fetch(client, start, max_bytes=100, max_redirects=4).body == b"end"
    with pytest.raises(FetchError, match="more than 3 redirects"):
        http.fetch(client, start, max_bytes=100, max_redirects=3)


def test_redirect_to_a_non_http_scheme_is_refused(http_server, client) -> None:
    start = _redirect(http_server, "/evil", 302, "file:///etc/passwd")
    with pytest.raises(FetchError, match="only http and https") as caught:
        http.fetch(client, start, max_bytes=100)
    assert caught.value.url == "file:///etc/passwd"


def test_non_http_url_is_refused(client) -> None:
    with pytest.raises(FetchError, match=r"^ftp://example\.org/feed: only http and https"):
        http.fetch(client, "ftp://example.org/feed", max_bytes=100)


def test_read_timeout_gives_clear_error_naming_url(http_server) -> None:
    url = http_server.add("/slow", b"x", delay=3.0)
    quick = http.make_client("t", connect_timeout=1.0, timeout=0.3)
    with quick, pytest.raises(FetchError) as caught:
        http.fetch(quick, url, max_bytes=100)
    assert str(caught.value) == f"{url}: timed out after 0.3s"


def test_total_timeout_bounds_the_whole_fetch(http_server, client) -> None:
    url = http_server.add("/slow", b"x", delay=3.0)
    with pytest.raises(FetchError) as caught:
        http.fetch(client, url, max_bytes=100, total_timeout=0.2)
    assert str(caught.value) == f"{url}: timed out: total time limit of 0.2s passed"


def test_refused_connection_gives_fetch_error(client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed"
    with pytest.raises(FetchError, match="connection failed") as caught:
        http.fetch(client, url, max_bytes=100)
    assert caught.value.url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.1.2.3/feed",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a00:1]/",  # NAT64 form of 10.0.0.1
        "http://[2002:7f00:1::]/",  # 6to4 form of 127.0.0.1
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://2130706433/",  # 127.0.0.1 written as one decimal number
    ],
)
def test_check_public_url_refuses_non_public_addresses(url: str) -> None:
    with pytest.raises(FetchError, match=r"refused: .* resolves to non-public address") as caught:
        http.check_public_url(url)
    assert caught.value.url == url


def test_check_public_url_accepts_a_public_address() -> None:
    assert http.check_public_url("https://93.184.215.14/feed") is None


def test_fetch_without_private_refuses_loopback_before_connecting(http_server, client) -> None:
    url = http_server.add("/feed", b"x")
    with pytest.raises(FetchError, match="refused"):
        http.fetch(client, url, max_bytes=100, allow_private=False)
    assert http_server.hits("/feed") == []


def test_redirect_hop_to_loopback_is_refused(http_server, client, monkeypatch) -> None:
    # The first hop's host must pass the check to reach the redirect: let "localhost" look public.
    real = http.resolve_host

    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.215.14"] if host == "localhost" else real(host, port)

    monkeypatch.setattr(http, "resolve_host", resolve)
    inner = http_server.add("/inner", b"secret")
    _redirect(http_server, "/outer", 302, inner)
    start = f"http://localhost:{http_server.port}/outer"
    with pytest.raises(FetchError, match="refused") as caught:
        http.fetch(client, start, max_bytes=100, allow_private=False)
    assert caught.value.url == inner
    assert (len(http_server.hits("/outer")), http_server.hits("/inner")) == (1, [])
