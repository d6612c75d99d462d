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


def test_clients_on_another_loop_close_when_that_loop_shuts_down() -> None:
    """DBOS's loop (another thread) is closed at shutdown, after the in-flight runs: its clients must
    be closed by then, or aiohttp reports each as an unclosed session on every graceful stop."""
    import asyncio
    import gc

    factory = HttpClientFactory()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def make() -> list[object]:
        return [factory.client("model", base_url="http://127.0.0.1:9"), factory.client("jira")]

    clients = asyncio.run_coroutine_threadsafe(make(), loop).result(5)
    factory.close_when_loops_stop()
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(5)  # the closer is waiting now
    gc.collect()  # and must survive a collection (asyncio holds tasks weakly)
    assert not any(c.is_closed for c in clients)  # type: ignore[attr-defined]  # runs still use them

    async def shutdown() -> None:  # what DBOS's BackgroundEventLoop does when it stops
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()
    assert all(c.is_closed for c in clients)  # type: ignore[attr-defined]
