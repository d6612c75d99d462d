"""Secret providers for ``${secret:NAME}`` references: ``env`` and ``file`` (more come later).

Values are resolved once, at load, and handed to config models as strings that pydantic turns into
``SecretStr``; the loader remembers which paths held a secret so that ``config show`` masks them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from patchbay.errors import SecretError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")


class SecretProvider(Protocol):
    """Looks a secret up by name; returns None when it does not have it."""

    name: str

    def get(self, key: str) -> str | None: ...


class EnvSecrets:
    """Secrets from environment variables (including those loaded from ``.env``)."""

    name = "env"

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, key: str) -> str | None:
        return self._env.get(key)


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


class SecretResolver:
    """Asks each provider in order for a secret."""

    def __init__(self, providers: Sequence[SecretProvider]) -> None:
        self._providers = list(providers)

    def resolve(self, key: str) -> str:
        """The secret's value, or ``SecretError`` naming the providers that were asked."""
        if not _NAME.match(key):
            raise SecretError(f"invalid secret name {key!r}: use letters, digits, '_', '.', '-' or '/'")
        for provider in self._providers:
            value = provider.get(key)
            if value is not None:
                return value
        asked = ", ".join(p.name for p in self._providers) or "no providers configured"
        raise SecretError(
            f"secret {key!r} not found (asked: {asked}); set the environment variable {key}, "
            f"add it to .env, or write it to the secrets folder"
        )
