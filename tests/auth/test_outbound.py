"""Outbound auth: tokens are cached, renewed before expiry, refreshed once under concurrency and on a 401."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from patchbay.auth.outbound import (
    AuthConfig,
    ClientCredentials,
    TokenRejected,
    TokenUnavailable,
    build_auth,
)


class IdP:
    """A token endpoint and an API in one MockTransport; the API accepts only the latest token."""

    def __init__(self, *, expires_in: int = 300, token_status: int = 200) -> None:
        self.issued = 0
        self.expires_in = expires_in
        self.token_status = token_status
        self.revoked: set[str] = set()
        self.api_calls: list[str] = []
        self.token_forms: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            await asyncio.sleep(0.01)  # let concurrent callers pile up
            assert request.headers["authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
            self.token_forms.append(request.content.decode())
            if self.token_status != 200:
                return httpx.Response(self.token_status, json={"error": "invalid_client"})
            self.issued += 1
            return httpx.Response(
                200, json={"access_token": f"tok-{self.issued}", "expires_in": self.expires_in}
            )
        auth = request.headers.get("authorization", "")
        self.api_calls.append(auth)
        if auth != f"Bearer tok-{self.issued}" or auth.removeprefix("Bearer ") in self.revoked:
            return httpx.Response(401)
        return httpx.Response(200, json={"ok": True})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def setup(
    idp: IdP, clock: Clock | None = None, **options: Any
) -> tuple[httpx.AsyncClient, ClientCredentials]:
    transport = httpx.MockTransport(idp)
    token_client = httpx.AsyncClient(transport=transport)
    auth = ClientCredentials(
        token_url="https://idp.example/oauth/token",
        client_id="cid",
        client_secret="csecret",
        client=lambda: token_client,
        clock=clock or Clock(),
        **options,
    )
    return httpx.AsyncClient(transport=transport, auth=auth, base_url="https://api.example"), auth


async def test_one_token_fetch_for_many_concurrent_requests() -> None:
    idp = IdP()
    client, auth = setup(idp)
    answers = await asyncio.gather(*(client.get("/x") for _ in range(20)))
    assert {r.status_code for r in answers} == {200}
    assert idp.issued == 1 and auth.fetches == 1


async def test_token_is_renewed_before_it_expires() -> None:
    idp, clock = IdP(expires_in=300), Clock()
    client, _ = setup(idp, clock, refresh_margin_s=60)
    assert (await client.get("/x")).status_code == 200
    clock.now += 200  # 100 s left > margin: cached
    assert (await client.get("/x")).status_code == 200
    assert idp.issued == 1
    clock.now += 50  # 50 s left < 60 s margin: renewed before the server would refuse it
    assert (await client.get("/x")).status_code == 200
    assert idp.issued == 2
    assert idp.api_calls == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]  # never a refused call


async def test_a_401_forces_one_refresh_and_one_retry() -> None:
    idp = IdP()
    client, _ = setup(idp)
    assert (await client.get("/x")).status_code == 200
    idp.revoked.add("tok-1")  # revoked early by the IdP
    resp = await client.get("/x")
    assert resp.status_code == 200
    assert idp.issued == 2
    assert idp.api_calls[-2:] == ["Bearer tok-1", "Bearer tok-2"]


async def test_persistent_401_is_returned_after_one_retry_not_a_loop() -> None:
    idp = IdP()

    async def always_401(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return await idp(request)
        idp.api_calls.append("x")
        return httpx.Response(401)

    transport = httpx.MockTransport(always_401)
    token_client = httpx.AsyncClient(transport=transport)
    auth = ClientCredentials(
        token_url="https://idp/oauth/token",
        client_id="cid",
        client_secret="csecret",
        client=lambda: token_client,
    )
    async with httpx.AsyncClient(transport=transport, auth=auth) as c:
        assert (await c.get("https://api/x")).status_code == 401
    assert len(idp.api_calls) == 2 and idp.issued == 2


async def test_scope_and_audience_are_sent() -> None:
    idp = IdP()
    client, _ = setup(idp, scope="write:jira", audience="https://api.example")
    await client.get("/x")
    assert "grant_type=client_credentials" in idp.token_forms[0]
    assert "scope=write%3Ajira" in idp.token_forms[0] and "audience=" in idp.token_forms[0]


@pytest.mark.parametrize(
    ("status", "error"), [(401, TokenRejected), (400, TokenRejected), (503, TokenUnavailable)]
)
async def test_token_endpoint_failures_are_typed_and_do_not_leak_the_secret(status: int, error: type) -> None:
    client, _ = setup(IdP(token_status=status))
    with pytest.raises(error) as info:
        await client.get("/x")
    assert "csecret" not in str(info.value)


def test_config_union_builds_each_kind() -> None:
    adapter = TypeAdapter(AuthConfig)
    token_client = lambda: httpx.AsyncClient()  # noqa: E731
    bearer = build_auth(
        adapter.validate_python({"kind": "bearer", "token": "t", "header": "api-key", "prefix": ""}),
        token_client=token_client,
    )
    request = next(bearer.auth_flow(httpx.Request("GET", "https://x")))
    assert request.headers["api-key"] == "t"
    basic = build_auth(
        adapter.validate_python({"kind": "basic", "username": "u", "password": "p"}),
        token_client=token_client,
    )
    assert isinstance(basic, httpx.BasicAuth)
    oauth = adapter.validate_python(
        {
            "kind": "oauth2",
            "token_url": "https://idp/t",
            "client_id": "${OAUTH_CLIENT_ID}",
            "client_secret": "s",
        }
    )
    assert isinstance(build_auth(oauth, token_client=token_client), ClientCredentials)
    assert "s" not in repr(oauth.client_secret)
