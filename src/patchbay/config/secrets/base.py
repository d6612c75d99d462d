"""What every secret provider shares: the protocol, the ``env`` and ``file`` providers, the TTL cache
and the resolver that asks providers in order.

A provider answers ``get(key)`` with the value or ``None`` when it does not hold the key, and raises
:class:`~patchbay.errors.SecretError` when it cannot answer (unreachable, access denied). Remote
providers sit behind :class:`CachedSecrets`, so a value is fetched at most once per TTL and a rotated
secret is seen within one TTL by whoever asks again (see :mod:`patchbay.config.secrets.live`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog

from patchbay.errors import SecretError

log = structlog.get_logger("patchbay.secrets")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
Clock = Callable[[], float]


class SecretProvider(Protocol):
    """Looks a secret up by name; returns None when it does not have it."""

    name: str

    def get(self, key: str) -> str | None: ...

    def origin(self, key: str) -> str:
        """Where ``key`` is looked up, e.g. ``vault:secret/patchbay/prod`` (for errors and the prod check)."""
        ...


class EnvSecrets:
    """Secrets from environment variables (including those loaded from ``.env``)."""

    name = "env"

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, key: str) -> str | None:
        return self._env.get(key)

    def origin(self, key: str) -> str:
        return f"env:{key}"


class FileSecrets:
    """Secrets from files: ``{dir}/{NAME}``, trailing newline stripped (Docker/Kubernetes style)."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def get(self, key: str) -> str | None:
        path = (self._dir / key).resolve()
        if self._dir.resolve() not in path.parents:
            return None
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def origin(self, key: str) -> str:
        return f"file:{self._dir / key}"


class CachedSecrets:
    """A provider's answers kept for ``ttl_s`` seconds; after that the next ``get`` asks again.

    When asking again fails (the backend is down), the last value is served and a warning logged:
    a running service keeps working through a secret-store outage, and picks up rotations once it is
    back. Misses are cached too, so an unknown name does not hit the backend on every lookup.
    """

    def __init__(self, provider: SecretProvider, ttl_s: float, *, clock: Clock = time.monotonic) -> None:
        self.inner = provider
        self.name = provider.name
        self.namespace = str(getattr(provider, "namespace", ""))
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str | None, float]] = {}

    def get(self, key: str) -> str | None:
        now = self._clock()
        with self._lock:
            cached = self._values.get(key)
        if cached is not None and now - cached[1] < self.ttl_s:
            return cached[0]
        try:
            value = self.inner.get(key)
        except SecretError as exc:
            if cached is None:
                raise
            log.warning("secrets.refresh_failed", provider=self.name, key=key, error=exc.message)
            return cached[0]
        with self._lock:
            self._values[key] = (value, now)
        return value

    def origin(self, key: str) -> str:
        return self.inner.origin(key)

    def clear(self) -> None:
        """Forget every cached value (the next lookups ask the backend)."""
        with self._lock:
            self._values.clear()


@dataclass(frozen=True)
class Resolved:
    """A secret's value and where it came from."""

    value: str
    provider: str
    origin: str
    namespace: str = ""


class SecretResolver:
    """Asks each provider in order for a secret."""

    def __init__(self, providers: Sequence[SecretProvider]) -> None:
        self._providers = list(providers)

    @property
    def providers(self) -> list[SecretProvider]:
        """The providers, in the order they are asked."""
        return list(self._providers)

    def resolve(self, key: str) -> str:
        """The secret's value, or ``SecretError`` naming the providers that were asked."""
        return self.lookup(key).value

    def lookup(self, key: str) -> Resolved:
        """The secret's value and origin, or ``SecretError`` naming the providers that were asked."""
        if not _NAME.match(key):
            raise SecretError(f"invalid secret name {key!r}: use letters, digits, '_', '.', '-' or '/'")
        for provider in self._providers:
            value = provider.get(key)
            if value is not None:
                namespace = str(getattr(provider, "namespace", ""))
                return Resolved(value, provider.name, provider.origin(key), namespace)
        asked = ", ".join(p.origin(key) for p in self._providers) or "no providers configured"
        raise SecretError(
            f"secret {key!r} not found (asked: {asked}); set the environment variable {key}, "
            f"add it to .env, write it to the secrets folder, or store it in the configured secret store"
        )
