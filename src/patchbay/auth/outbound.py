"""Outbound auth as ``httpx.Auth`` classes: how Patchbay proves itself to the systems it calls.

* :class:`BearerToken` - ``Authorization: Bearer <token>`` (or any header/prefix: API keys);
* ``httpx.BasicAuth`` - used as is;
* :class:`ClientCredentials` - OAuth 2.0 client credentials: the short-lived token is cached and
  renewed ``refresh_margin_s`` before it expires, one refresh at a time however many requests wait,
  and a 401 forces one refresh and one retry (the server may have revoked the token early).

:data:`AuthConfig` is the config union components embed (``auth: {kind: ..., ...}``) and
:func:`build_auth` turns it into an ``httpx.Auth``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from patchbay.errors import Permanent, Retryable


class TokenUnavailable(Retryable):
    """The token endpoint could not be reached or answered 429/5xx."""

    code = "token_unavailable"


class TokenRejected(Permanent):
    """The token endpoint refused the client's credentials (4xx): fix client id/secret or scope."""

    code = "token_rejected"


class BearerToken(httpx.Auth):
    """A static token in a header: ``Authorization: Bearer ...`` by default, or e.g. ``api-key: ...``."""

    def __init__(self, token: str, *, header: str = "Authorization", prefix: str = "Bearer ") -> None:
        self._header = header
        self._value = f"{prefix}{token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._value
        yield request


class ClientCredentials(httpx.Auth):
    """OAuth 2.0 client credentials with a cached token (async clients only)."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        audience: str | None = None,
        refresh_margin_s: float = 60.0,
        client: Callable[[], httpx.AsyncClient],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_url = token_url
        self._form = {"grant_type": "client_credentials"}
        if scope:
            self._form["scope"] = scope
        if audience:
            self._form["audience"] = audience
        self._basic = httpx.BasicAuth(client_id, client_secret)
        self._margin = refresh_margin_s
        self._client = client
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._locks: dict[int, asyncio.Lock] = {}
        self.fetches = 0  # how many times a token was fetched (observability and tests)

    def _lock(self) -> asyncio.Lock:
        # One lock per event loop: durable runs use their own loop, and a lock belongs to one loop.
        return self._locks.setdefault(id(asyncio.get_running_loop()), asyncio.Lock())

    async def token(self, *, stale: str | None = None) -> str:
        """A valid access token; ``stale`` (the one a 401 refused) forces a refresh unless already done."""
        async with self._lock():
            fresh = self._token is not None and self._clock() < self._expires_at - self._margin
            if self._token is not None and fresh and self._token != stale:
                return self._token
            if stale is not None and self._token is not None and self._token != stale:
                return self._token  # another request already refreshed it
            return await self._fetch()

    async def _fetch(self) -> str:
        request = self._client().build_request("POST", self._token_url, data=self._form)
        request = next(self._basic.auth_flow(request))
        try:
            response = await self._client().send(request)
        except httpx.HTTPError as exc:
            raise TokenUnavailable(f"cannot reach the OAuth token endpoint ({type(exc).__name__})") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise TokenUnavailable(
                f"the OAuth token endpoint answered {response.status_code}", status_code=response.status_code
            )
        if response.status_code >= 400:
            raise TokenRejected(
                f"the OAuth token endpoint refused the client credentials ({response.status_code}); check "
                "client_id, client_secret and scope",
                status_code=response.status_code,
            )
        try:
            data: Any = response.json()
            token = data["access_token"]
            expires_in = float(data.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise TokenRejected("the OAuth token endpoint's answer has no access_token") from None
        if not isinstance(token, str) or not token:
            raise TokenRejected("the OAuth token endpoint's answer has no access_token")
        self.fetches += 1
        self._token = token
        self._expires_at = self._clock() + expires_in
        return token

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            token = await self.token(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("ClientCredentials works with httpx.AsyncClient only")


# --- config -------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BearerConfig(_Strict):
    """A static bearer token or API key."""

    kind: Literal["bearer"] = Field(description="Static token in a header.")
    token: SecretStr = Field(description="The token. Use ${secret:...}.")
    header: str = Field(default="Authorization", description="Header name (e.g. 'api-key' for Azure).")
    prefix: str = Field(default="Bearer ", description="Text before the token ('' for raw API keys).")


class BasicConfig(_Strict):
    """HTTP Basic authentication."""

    kind: Literal["basic"] = Field(description="HTTP Basic.")
    username: str = Field(description="User name (Jira Cloud: the account email).")
    password: SecretStr = Field(description="Password or API token. Use ${secret:...}.")


class OAuth2Config(_Strict):
    """OAuth 2.0 client credentials (the playbook's OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET)."""

    kind: Literal["oauth2"] = Field(description="OAuth 2.0 client credentials grant.")
    token_url: str = Field(description="The identity provider's token endpoint.")
    client_id: str = Field(description="Client id, e.g. ${OAUTH_CLIENT_ID}.")
    client_secret: SecretStr = Field(description="Client secret, e.g. ${secret:OAUTH_CLIENT_SECRET}.")
    scope: str | None = Field(default=None, description="Space-separated scopes to request.")
    audience: str | None = Field(default=None, description="Audience parameter (Auth0, Okta custom AS).")
    refresh_margin_s: float = Field(
        default=60.0, ge=0, le=3600, description="Renew the token this long before it expires."
    )


AuthConfig = Annotated[BearerConfig | BasicConfig | OAuth2Config, Field(discriminator="kind")]


def build_auth(config: Any, *, token_client: Callable[[], httpx.AsyncClient]) -> httpx.Auth:
    """The ``httpx.Auth`` for one :data:`AuthConfig`; ``token_client`` reaches the token endpoint."""
    if isinstance(config, BearerConfig):
        return BearerToken(config.token.get_secret_value(), header=config.header, prefix=config.prefix)
    if isinstance(config, BasicConfig):
        return httpx.BasicAuth(config.username, config.password.get_secret_value())
    assert isinstance(config, OAuth2Config)
    return ClientCredentials(
        token_url=config.token_url,
        client_id=config.client_id,
        client_secret=config.client_secret.get_secret_value(),
        scope=config.scope,
        audience=config.audience,
        refresh_margin_s=config.refresh_margin_s,
        client=token_client,
    )
