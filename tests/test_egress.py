"""The SSRF guard: 40+ bypass attempts refused; dev reaches loopback; allow-lists; real requests pin."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest

from patchbay.egress import EgressBlocked, EgressPolicy, Guard, is_public
from patchbay.http import HttpClientFactory

# Each resolves (by the system resolver, no network needed) to a non-public address, or is a scheme
# we never speak, or a name that does not resolve (refused closed).
BYPASSES = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8787/admin",
    "http://localhost/",
    "http://LOCALHOST/",
    "http://localhost./",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://127.255.255.254/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254./latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://[2001:0:4136:e378:8000:63bf:56fe:5601]/",  # Teredo (2001::/32 is not global)
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://[fc00::1]/",
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.0.1/",
    "http://100.64.0.1/",
    "http://192.0.0.170/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata.invalid/",
    "http://user:pass@127.0.0.1/",
    "http://127.0.0.1:80@unresolvable.invalid/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "ftp://127.0.0.1/",
    "dict://127.0.0.1:11211/",
]


def https(url: str) -> str:
    return url.replace("http://", "https://", 1) if url.startswith("http://") else url


def test_corpus_is_large_enough() -> None:
    assert len(BYPASSES) >= 40


@pytest.mark.parametrize("url", BYPASSES)
async def test_bypass_attempts_are_refused_even_when_http_is_allowed(url: str) -> None:
    guard = Guard(EgressPolicy(allow_http=True))
    for candidate in (url, https(url)):
        # httpx's own URL parser already refuses some spellings (e.g. octal dotted quads): also a refusal.
        with pytest.raises((EgressBlocked, httpx.InvalidURL)):
            await guard.check(httpx.URL(candidate))


async def test_https_only_by_default() -> None:
    with pytest.raises(EgressBlocked, match="only https"):
        await Guard(EgressPolicy()).check(httpx.URL("http://93.184.215.14/"))
    assert await Guard(EgressPolicy()).check(httpx.URL("https://93.184.215.14/")) is not None


def test_public_address_classification() -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address("93.184.215.14"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("64:ff9b::7f00:1"))


async def test_allow_list_by_network_and_by_host() -> None:
    guard = Guard(EgressPolicy(allow=["10.20.0.0/16", "jira.internal"]))
    await guard.check(httpx.URL("https://10.20.3.4/"))
    assert await guard.check(httpx.URL("https://jira.internal/")) is None  # not resolved at all
    with pytest.raises(EgressBlocked):
        await guard.check(httpx.URL("https://10.21.0.1/"))


def test_defaults_by_environment() -> None:
    dev = EgressPolicy.for_environment("dev")
    assert dev.allow_http and "127.0.0.0/8" in dev.allow
    prod = EgressPolicy.for_environment("prod")
    assert not prod.allow_http and prod.allow == []
    configured = EgressPolicy(allow=["10.0.0.0/8"])
    assert EgressPolicy.for_environment("prod", configured) is configured


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[str]]]:
    hosts: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}", hosts
    server.shutdown()


async def test_real_request_in_dev_reaches_loopback_and_connects_to_the_checked_address(
    local_server: tuple[str, list[str]],
) -> None:
    url, hosts = local_server
    factory = HttpClientFactory(egress=EgressPolicy.for_environment("dev"))
    resp = await factory.client("t").get(url + "/x")
    assert resp.status_code == 200 and resp.text == "ok"
    assert hosts == [url.removeprefix("http://")]  # the Host header keeps the name; the socket used the IP
    await factory.aclose()


async def test_real_request_in_prod_is_refused_before_connecting(local_server: tuple[str, list[str]]) -> None:
    url, hosts = local_server
    factory = HttpClientFactory(egress=EgressPolicy.for_environment("prod"))
    with pytest.raises(EgressBlocked):
        await factory.client("t").get(url.replace("http://", "https://") + "/x")
    with pytest.raises(EgressBlocked, match="only https"):
        await factory.client("t").get(url + "/x")
    assert hosts == []
    await factory.aclose()


async def test_ip_literals_are_checked_without_a_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain IP address skips DNS (a local model server on every request) and is judged the same way;
    other spellings of an address still go through the resolver."""
    lookups: list[str] = []

    async def fake_getaddrinfo(self: object, host: str, port: int, **_: object) -> list[object]:
        lookups.append(host)
        return [(2, 1, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr("asyncio.base_events.BaseEventLoop.getaddrinfo", fake_getaddrinfo)
    guard = Guard(EgressPolicy(allow_http=True, allow=["127.0.0.0/8"]))
    assert str(await guard.check(httpx.URL("http://127.0.0.1:8080/v1"))) == "127.0.0.1"
    with pytest.raises(EgressBlocked, match=r"10\.1\.2\.3"):
        await guard.check(httpx.URL("http://10.1.2.3/"))
    with pytest.raises(EgressBlocked, match="::1"):
        await guard.check(httpx.URL("http://[::1]:11434/api"))
    assert lookups == []
    with pytest.raises(EgressBlocked, match="not a public address"):
        await Guard(EgressPolicy(allow_http=True)).check(httpx.URL("http://2130706433/"))
    assert lookups == ["2130706433"]  # not a canonical address: resolved, and the answer checked


async def test_a_passed_ip_literal_is_remembered_and_a_refused_one_stays_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The verdict on a host written as an address cannot change, so it is worked out once per guard
    (a run asks the same local model and target several times); names are not remembered."""
    guard = Guard(EgressPolicy(allow_http=True, allow=["127.0.0.0/8"]))
    first = await guard.check(httpx.URL("http://127.0.0.1:8080/v1"))
    judged: list[object] = []
    monkeypatch.setattr("patchbay.egress._literal", lambda host: judged.append(host))  # would fail if asked
    assert await guard.check(httpx.URL("http://127.0.0.1:8080/v1/other")) is first
    assert judged == []
    monkeypatch.undo()
    for _ in range(2):
        with pytest.raises(EgressBlocked, match=r"10\.1\.2\.3"):
            await guard.check(httpx.URL("http://10.1.2.3/"))


async def test_a_request_to_an_ip_literal_goes_out_unchanged(local_server: tuple[str, list[str]]) -> None:
    url, hosts = local_server
    literal = url.replace("localhost", "127.0.0.1")
    factory = HttpClientFactory(egress=EgressPolicy.for_environment("dev"))
    for _ in range(2):
        resp = await factory.client("t").get(literal + "/x")
        assert resp.status_code == 200
    assert hosts == [literal.removeprefix("http://")] * 2
    await factory.aclose()
