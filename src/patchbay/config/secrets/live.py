"""Rotation without a restart: secret fields that re-resolve through the provider's TTL cache.

Values are resolved once at load, then handed to config models. For a field whose whole value is one
``${secret:NAME}`` and whose type is ``SecretStr``, the loader swaps the ``SecretStr`` for a
:class:`LiveSecret`: every ``get_secret_value()`` asks the resolver again, which answers from its
cache until the TTL (``secrets.cache_ttl_s``) has passed and then from the backend. Components that
read the secret when they use it (webhook signature secrets, the admin token, model API keys) so see
a rotated value within one TTL. Components that copy a secret when they are built (outbound auth
objects) see it after ``patchbay serve`` restarts.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel, SecretStr

from patchbay.config.secrets.base import SecretResolver
from patchbay.config.yamlsource import Path_
from patchbay.errors import SecretError


class LiveSecret(SecretStr):
    """A ``SecretStr`` whose value is looked up again (through the TTL cache) on every read."""

    def __init__(self, resolver: SecretResolver, key: str, value: str) -> None:
        super().__init__(value)
        self._resolver = resolver
        self._key = key

    @property
    def key(self) -> str:
        """The secret's name."""
        return self._key

    def get_secret_value(self) -> str:
        # The store unreachable and nothing cached: keep the value resolved at load.
        with contextlib.suppress(SecretError):
            self._secret_value = self._resolver.resolve(self._key)
        return self._secret_value


def attach(root: Any, path: Path_, resolver: SecretResolver, key: str) -> bool:
    """Replace the ``SecretStr`` at ``path`` under ``root`` by a :class:`LiveSecret` (False: none there)."""
    if not path:
        return False
    parent = root
    for part in path[:-1]:
        parent = _child(parent, part)
        if parent is None:
            return False
    last = path[-1]
    current = _child(parent, last)
    if not isinstance(current, SecretStr) or isinstance(current, LiveSecret):
        return False
    live = LiveSecret(resolver, key, current.get_secret_value())
    if isinstance(parent, BaseModel) and isinstance(last, str):
        object.__setattr__(parent, last, live) if _frozen(parent) else setattr(parent, last, live)
    elif isinstance(parent, dict):
        parent[last] = live
    elif isinstance(parent, list):
        parent[int(last)] = live  # _child found a SecretStr there, so ``last`` is an index
    else:
        return False
    return True


def _frozen(model: BaseModel) -> bool:
    return bool(model.model_config.get("frozen"))


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, BaseModel) and isinstance(part, str):
        if part in type(node).model_fields:
            return getattr(node, part)
        extra = node.model_extra or {}
        return extra.get(part)
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None
