"""Who is calling an API route, and may they: API keys, the admin token, OIDC bearer tokens, local dev.

``Authorizer.check(request, scope)`` answers ``None`` (go ahead) or the 401/403 response in the one
JSON error format. What it accepts, in order:

1. ``Authorization: Bearer pb_live_...`` / ``pb_test_...``: an API key (scopes, IP allow-list, expiry,
   revocation; looked up through a 30 s cache, so revocation applies within a minute everywhere).
2. ``Authorization: Bearer <JWT>`` when ``auth.oidc`` is configured: roles mapped to scopes.
3. ``Authorization: Bearer <server.admin_token>``: every scope (the bootstrap credential).
4. No credentials, environment ``dev``, client on the loopback interface: every scope.

``admin.manage`` implies every other admin scope (``runs.replay``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from patchbay.auth.apikeys import ApiKey, ApiKeyStore, parse_key
from patchbay.intake.errors import error_response
from patchbay.intake.ratelimit import client_address

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
KEY_CACHE_S = 30.0
_CACHE_MAX = 10_000


@dataclass(frozen=True)
class Caller:
    """An authenticated caller and what it may do."""

    kind: str  # api_key | oidc | admin_token | local
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """Whether this caller holds ``scope`` (``admin.manage`` holds every admin scope)."""
        return scope in self.scopes or "admin.manage" in self.scopes or "*" in self.scopes


class Denied(Exception):
    """The request is not allowed: status, machine code and a message that says how to fix it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class TokenValidator(Protocol):
    """Validates a non-API-key bearer token (OIDC); raises ``Denied``."""

    def caller(self, token: str) -> Caller: ...


class ApiKeyAuthenticator:
    """Checks presented API keys against the store, through a short cache."""

    def __init__(
        self,
        store: ApiKeyStore,
        *,
        environment: str,
        cache_s: float = KEY_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.environment = environment
        self.cache_s = cache_s
        self._clock = clock
        self._now = now
        # Keyed by the key's hash (the key itself is never kept); bounded against floods of bad keys.
        self._cache: OrderedDict[str, tuple[ApiKey | None, float]] = OrderedDict()

    def _lookup(self, token: str) -> ApiKey | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        hit = self._cache.get(digest)
        if hit is not None and self._clock() - hit[1] < self.cache_s:
            return hit[0]
        record = self.store.find(token)
        self._cache[digest] = (record, self._clock())
        self._cache.move_to_end(digest)
        while len(self._cache) > _CACHE_MAX:
            self._cache.popitem(last=False)
        return record

    def authenticate(self, token: str, client_ip: str) -> Caller:
        """The caller behind a key; ``Denied`` (401/403) saying why not."""
        parsed = parse_key(token)
        if parsed is None:
            raise Denied(
                401, "invalid_api_key", "the API key is malformed; keys look like pb_live_<id>_<secret>"
            )
        if parsed[0] == "test" and self.environment == "prod":
            raise Denied(
                401, "invalid_api_key", "pb_test_ keys are not accepted in prod; create a pb_live_ key"
            )
        record = self._lookup(token)
        if record is None:
            raise Denied(401, "invalid_api_key", "unknown API key; create one with 'patchbay keys create'")
        now = self._now()
        status = record.status(now)
        if status != "active":
            raise Denied(401, f"api_key_{status}", f"API key {record.prefix} is {status}; ask for a new one")
        if not record.allows_ip(client_ip):
            raise Denied(
                403,
                "ip_not_allowed",
                f"API key {record.prefix} may not be used from {client_ip}; its allow-list is "
                f"{', '.join(record.allow_ips)}",
            )
        return Caller("api_key", record.name, frozenset(record.scopes))


class Authorizer:
    """Decides, per request and scope, whether a caller may go ahead."""

    def __init__(
        self,
        *,
        environment: str,
        keys: ApiKeyAuthenticator | None = None,
        admin_token: Callable[[], str | None] = lambda: None,
        oidc: TokenValidator | None = None,
        trusted_proxies: list[str] | None = None,
    ) -> None:
        self.environment = environment
        self.keys = keys
        self.admin_token = admin_token
        self.oidc = oidc
        self.trusted = [ipaddress.ip_network(c, strict=False) for c in trusted_proxies or []]

    def caller(self, request: Request) -> Caller:
        """The authenticated caller, or ``Denied``."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if header and (scheme.lower() != "bearer" or not token):
            raise Denied(401, "unauthorized", "send 'Authorization: Bearer <API key or token>'")
        if token:
            if token.startswith("pb_"):
                if self.keys is None:
                    raise Denied(401, "invalid_api_key", "API keys are not enabled on this server")
                return self.keys.authenticate(token, client_address(request, self.trusted))
            expected = self.admin_token()
            if expected and hmac.compare_digest(token.encode(), expected.encode()):
                return Caller("admin_token", "server.admin_token", frozenset({"*"}))
            if self.oidc is not None and token.count(".") == 2:
                return self.oidc.caller(token)
            raise Denied(401, "unauthorized", "the bearer token is not a valid API key or token")
        peer = request.client.host if request.client else ""
        if self.environment == "dev" and peer in LOOPBACK:
            return Caller("local", "localhost (dev)", frozenset({"*"}))
        raise Denied(
            401,
            "unauthorized",
            "this API needs 'Authorization: Bearer <API key>' (patchbay keys create) or an OIDC token",
        )

    def check(self, request: Request, scope: str) -> Response | None:
        """``None`` when the caller holds ``scope``, else the 401/403 answer."""
        try:
            caller = self.caller(request)
        except Denied as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return error_response(request, exc.status, exc.code, exc.message, headers=headers)
        if not caller.allows(scope):
            return error_response(
                request,
                403,
                "insufficient_scope",
                f"{caller.name} lacks the scope {scope!r} this route needs "
                f"(it has: {', '.join(sorted(caller.scopes)) or 'none'})",
            )
        request.state.caller = caller
        return None
