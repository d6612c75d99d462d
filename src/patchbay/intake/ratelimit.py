"""Rate limits applied by intake before reading the body: per integration and per client (429 + Retry-After).

Token buckets in process memory: each process limits what it sees, which is what protects it. The
bucket table is bounded so that a flood of distinct client addresses cannot grow memory without limit.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from patchbay.config.limits import LimitsConfig, RateLimit
from patchbay.intake.errors import error_response

MAX_BUCKETS = 10_000


class TokenBuckets:
    """One token bucket per key, all with the same rate."""

    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float | None:
        """Spend one token for ``key``: ``None`` when allowed, else the seconds until one is free."""
        now = self._clock()
        tokens, stamp = self._buckets.pop(key, (float(self.limit.burst), now))
        tokens = min(float(self.limit.burst), tokens + (now - stamp) * self.limit.per_second)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            self._trim()
            return None
        self._buckets[key] = (tokens, now)
        self._trim()
        return (1.0 - tokens) / self.limit.per_second

    def _trim(self) -> None:
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


def client_address(request: Request, trusted: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """The caller's address: the socket peer, or the right-most untrusted X-Forwarded-For hop."""
    peer = request.client.host if request.client else "unknown"
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop
    return peer


def _in(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


class RequestLimits:
    """The configured limits; :meth:`check` answers 429 or lets the request through."""

    def __init__(self, config: LimitsConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._per_integration: dict[str, TokenBuckets] = {}
        self._per_client = TokenBuckets(config.per_client, clock=clock) if config.per_client else None
        self.trusted = [ipaddress.ip_network(c, strict=False) for c in config.trusted_proxies]

    def _integration_buckets(self, name: str) -> TokenBuckets | None:
        limit = self.config.integrations.get(name, self.config.per_integration)
        if limit is None:
            return None
        if name not in self._per_integration:
            self._per_integration[name] = TokenBuckets(limit, clock=self._clock)
        return self._per_integration[name]

    def check(self, request: Request, integration: str, *, client_key: str | None = None) -> Response | None:
        """``None`` when within limits, else the 429 answer (one JSON error format, ``Retry-After``)."""
        checks: list[tuple[TokenBuckets | None, str, str]] = [
            (self._per_client, client_key or client_address(request, self.trusted), "this client"),
            (self._integration_buckets(integration), integration, f"integration {integration!r}"),
        ]
        for buckets, key, who in checks:
            if buckets is None:
                continue
            wait = buckets.take(key)
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                return error_response(
                    request,
                    429,
                    "rate_limited",
                    f"too many requests for {who} (limit {buckets.limit.per_second:g}/s, burst "
                    f"{buckets.limit.burst}); retry after {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )
        return None
