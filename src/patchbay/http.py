"""The one outbound HTTP seam: every provider and target gets its clients from here.

Clients are ``httpx.AsyncClient`` objects (the API tests program against) backed by an aiohttp
transport, which stays flat under concurrency where httpx's own pool does not (see DESIGN.md). An
``httpx.AsyncClient`` belongs to the event loop it was first used on, and durable runs execute on
DBOS's own loop in another thread, so the factory keeps one client per (loop, key).

Tests pass ``transport=httpx.MockTransport(handler)`` to the factory, or point components at a real
server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from typing import Any

import httpx

from patchbay import __version__
from patchbay.egress import EgressPolicy, GuardedTransport

USER_AGENT = f"patchbay/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _default_transport() -> httpx.AsyncBaseTransport:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:  # pragma: no cover - httpx-aiohttp is a dependency; keep httpx's pool as a fallback
        return httpx.AsyncHTTPTransport()
    return AiohttpTransport()  # type: ignore[no-any-return]


_NO_COOKIES = "outbound clients keep no cookies; pass cookies=... on the request that needs them"


class _NoCookieJar(httpx.Cookies):
    """A cookie jar that never takes a cookie from a response: an API client has no session to keep,
    and a cookie a target sets (Jira's XSRF token, a load balancer's affinity) must not ride along on
    later calls, least of all another integration's. It also skips httpx's per-response cookie
    parsing (~2% of a worker's CPU per run)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError(_NO_COOKIES)


class CookielessClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose jar stays empty (see :class:`_NoCookieJar`); cookies passed
    to a single request are still sent with it."""

    def __init__(self, **kwargs: Any) -> None:
        self._no_cookies = _NoCookieJar()
        self.cookies = kwargs.pop("cookies", None)  # refuses a non-empty jar
        super().__init__(**kwargs)

    @property  # type: ignore[override]
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        if cookies:
            raise TypeError(_NO_COOKIES)
        self._no_cookies = _NoCookieJar()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class HttpClientFactory:
    """Creates (and caches, per event loop) the ``httpx.AsyncClient`` objects components use."""

    def __init__(
        self, *, transport: httpx.AsyncBaseTransport | None = None, egress: EgressPolicy | None = None
    ) -> None:
        self._transport = transport
        # The SSRF guard (patchbay.egress); None: unguarded, for unit tests that inject a transport.
        self._egress = egress
        self._clients: dict[tuple[int, str], httpx.AsyncClient] = {}
        self._loops: dict[int, asyncio.AbstractEventLoop] = {}
        self._closers: list[concurrent.futures.Future[None]] = []  # see close_when_loops_stop

    def client(
        self,
        key: str,
        *,
        base_url: str = "",
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> httpx.AsyncClient:
        """The client for ``key`` on the running event loop, created on first use."""
        loop_id = id(asyncio.get_running_loop())
        cache_key = (loop_id, key)
        client = self._clients.get(cache_key)
        if client is None or client.is_closed:
            all_headers = {"User-Agent": USER_AGENT}
            all_headers.update(headers or {})
            kwargs: dict[str, Any] = {}
            if auth is not None:
                kwargs["auth"] = auth
            transport = self._transport if self._transport is not None else _default_transport()
            if self._egress is not None:
                transport = GuardedTransport(transport, self._egress)
                kwargs["trust_env"] = self._egress.trust_env_proxy
            client = CookielessClient(
                base_url=base_url,
                headers=all_headers,
                timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
                transport=transport,
                follow_redirects=False,
                **kwargs,
            )
            self._clients[cache_key] = client
            self._loops[loop_id] = asyncio.get_running_loop()
        return client

    async def aclose(self) -> None:
        """Close the clients that belong to the running loop."""
        loop_id = id(asyncio.get_running_loop())
        for key in [k for k in self._clients if k[0] == loop_id]:
            client = self._clients.pop(key)
            if self._transport is None:
                await client.aclose()

    def close_when_loops_stop(self) -> None:
        """From synchronous code, before another thread's loop is shut down (DBOS's, at shutdown):
        have each such loop close its clients when its shutdown cancels the tasks left on it.

        DBOS closes its loop once the in-flight runs are done; a closed loop cannot close its
        clients any more, and aiohttp then printed an "Unclosed client session" error for each
        one on every graceful stop of a worker.
        """
        for loop_id, loop in list(self._loops.items()):
            if loop.is_running() and not loop.is_closed() and loop is not _running_loop():
                # Held here: a task is otherwise only weakly referenced, and the garbage collector
                # would end the waiting coroutine long before the loop shuts down.
                self._closers.append(asyncio.run_coroutine_threadsafe(self._close_on_cancel(loop_id), loop))

    async def _close_on_cancel(self, loop_id: int) -> None:
        try:
            await asyncio.Event().wait()  # until the loop's shutdown cancels every task left
        finally:
            # A snapshot: clients of other loops may be added meanwhile, from their own threads.
            for key in [k for k in list(self._clients) if k[0] == loop_id]:
                client = self._clients.pop(key)
                if self._transport is None:
                    with contextlib.suppress(Exception):  # the process is stopping anyway
                        await client.aclose()
