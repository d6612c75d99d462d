"""The outbound HTTP seam keeps no cookies: a cookie a target sets never rides along on later calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from patchbay.http import HttpClientFactory


class _CookieSetter(BaseHTTPRequestHandler):
    """Sets a session cookie on every answer and echoes the Cookie header it was sent."""

    def do_GET(self) -> None:
        body = (self.headers.get("Cookie") or "-").encode()
        self.send_response(200)
        self.send_header("Set-Cookie", "atlassian.xsrf.token=abc123; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def cookie_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CookieSetter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_cookie_set_by_a_target_is_not_sent_back(cookie_server: str) -> None:
    factory = HttpClientFactory()
    client = factory.client("jira", base_url=cookie_server)
    try:
        first = await client.get("/rest/api/2/myself")
        assert first.headers["set-cookie"].startswith("atlassian.xsrf.token=")
        second = await client.get("/rest/api/2/myself")
        assert second.text == "-", "the cookie from the first answer was sent back"
        assert len(client.cookies) == 0
        # A cookie a caller passes for one request is still sent with that request, and only it.
        explicit = await client.get("/rest/api/2/myself", cookies={"session": "s1"})
        assert explicit.text == "session=s1"
        assert (await client.get("/rest/api/2/myself")).text == "-"
    finally:
        await factory.aclose()


async def test_setting_cookies_on_a_client_is_refused_with_a_hint(cookie_server: str) -> None:
    factory = HttpClientFactory()
    client = factory.client("jira", base_url=cookie_server)
    try:
        with pytest.raises(TypeError, match="keep no cookies"):
            client.cookies = {"session": "s1"}
        with pytest.raises(TypeError, match="pass cookies="):
            client.cookies.set("session", "s1")
    finally:
        await factory.aclose()
