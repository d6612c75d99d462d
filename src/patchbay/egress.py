"""The SSRF guard on outbound requests whose URLs come from config or templates.

Every client from :class:`patchbay.http.HttpClientFactory` built with a policy goes through
:class:`GuardedTransport`, which before each request:

1. refuses schemes other than https (http only when ``allow_http``);
2. resolves the host itself and refuses when **any** address is not public - loopback, private,
   link-local (169.254.169.254 cloud metadata), CGNAT, multicast, reserved, unspecified - also
   when hidden in IPv4-mapped, NAT64, 6to4 or Teredo IPv6 forms, or in numeric/short spellings
   (``2130706433``, ``0x7f.1``, ``127.1``) that the resolver turns into such addresses;
3. connects plain-http requests to the address it checked (no second lookup to rebind);
4. never follows redirects (the factory sets ``follow_redirects=False``) and ignores proxy
   environment variables unless ``trust_env_proxy`` is set.

Hosts and networks in ``allow`` skip the address check. Defaults: ``dev`` allows http and loopback
(local model servers, test doubles); every other environment is strict.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx
from pydantic import BaseModel, ConfigDict, Field

from patchbay.errors import Permanent

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
DEV_ALLOW = ["localhost", "127.0.0.0/8", "::1/128"]


class EgressBlocked(Permanent):
    """An outbound request was refused by the SSRF guard."""

    code = "egress_blocked"


class EgressPolicy(BaseModel):
    """Where Patchbay may send requests (``egress:`` in the project file)."""

    model_config = ConfigDict(extra="forbid")

    allow_http: bool = Field(default=False, description="Allow plain http:// URLs (default: https only).")
    allow: list[str] = Field(
        default_factory=list,
        description="Host names or CIDRs that may be non-public, e.g. ['jira.internal', '10.20.0.0/16'].",
    )
    trust_env_proxy: bool = Field(
        default=False, description="Use HTTP(S)_PROXY from the environment (default: ignore them)."
    )

    @classmethod
    def for_environment(cls, environment: str, configured: EgressPolicy | None = None) -> EgressPolicy:
        """The configured policy, else the default: permissive for loopback in ``dev``, strict elsewhere."""
        if configured is not None:
            return configured
        if environment == "dev":
            return cls(allow_http=True, allow=list(DEV_ALLOW))
        return cls()


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv6 one (mapped, NAT64, 6to4, Teredo), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` (and any IPv4 address embedded in it) is globally routable."""
    inner = embedded_ipv4(ip)
    if inner is not None and not is_public(inner):
        return False
    return ip.is_global and not ip.is_multicast


_MAX_LITERALS = 256  # remembered IP-literal hosts per guard (config names a handful)


class Guard:
    """Checks one URL against a policy; returns the address to connect to."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self._hosts = {h.lower().rstrip(".") for h in policy.allow if not _is_network(h)}
        self._networks = [ipaddress.ip_network(h, strict=False) for h in policy.allow if _is_network(h)]
        # Hosts written as IP addresses that passed: the verdict cannot change (no DNS involved),
        # and a local model or target is asked several times per run. Names are resolved every time.
        self._literals: dict[str, IPAddress] = {}

    def _allowed(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self._networks) or (
            (inner := embedded_ipv4(ip)) is not None and any(inner in net for net in self._networks)
        )

    async def check(self, url: httpx.URL) -> IPAddress | None:
        """Raise :class:`EgressBlocked` unless ``url`` may be fetched; the checked address, if pinned."""
        if url.scheme not in ("https", "http") or (url.scheme == "http" and not self.policy.allow_http):
            raise EgressBlocked(
                f"refused {url.scheme}:// URL to {url.host!r}: only https is allowed (egress.allow_http: "
                "true to allow http)"
            )
        host = url.host.lower().rstrip(".")
        if not host:
            raise EgressBlocked("refused a URL without a host")
        if host in self._hosts:
            return None
        known = self._literals.get(host)
        if known is not None:
            return known
        literal = _literal(host)
        addresses = literal or await _resolve(host, url.port or (443 if url.scheme == "https" else 80))
        for ip in addresses:
            if not is_public(ip) and not self._allowed(ip):
                raise EgressBlocked(
                    f"refused {host!r}: it resolves to {ip}, which is not a public address (SSRF guard); "
                    "add the host or its network to egress.allow if it is meant to be reached"
                )
        pinned = sorted(addresses, key=str)[0] if addresses else None
        if literal is not None and pinned is not None and len(self._literals) < _MAX_LITERALS:
            self._literals[host] = pinned
        return pinned


def _literal(host: str) -> set[IPAddress] | None:
    """A host written as a plain IP address needs no lookup (a local model server on 127.0.0.1).

    Only the canonical forms count; anything else (``0x7f.1``, ``2130706433``) is left to the
    resolver, whose answer is checked the same way.
    """
    try:
        return {ipaddress.ip_address(host)}
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> set[IPAddress]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise EgressBlocked(f"refused {host!r}: the name does not resolve") from None
    return {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}


def _is_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


class GuardedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; every request passes :class:`Guard` first."""

    def __init__(self, inner: httpx.AsyncBaseTransport, policy: EgressPolicy) -> None:
        self._inner = inner
        self.guard = Guard(policy)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pinned = await self.guard.check(request.url)
        if pinned is not None and request.url.scheme == "http" and str(pinned) != request.url.host:
            # Connect to the address we checked, so a second DNS answer cannot rebind the host.
            host = f"[{pinned}]" if isinstance(pinned, ipaddress.IPv6Address) else str(pinned)
            request.headers.setdefault("Host", request.url.netloc.decode("ascii"))
            request.url = request.url.copy_with(host=host.strip("[]"))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
