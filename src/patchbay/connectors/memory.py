"""Target ``memory``: keep writes in this process, for tests, demos and dry runs.

Every target named in a project has its own list, readable with ``MemoryTarget.store(name)``. A
second write with the same idempotency key is not stored again and answers ``already_written``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from patchbay.connectors.base import WriteRequest
from patchbay.paths import get_path
from patchbay.pipeline.state import HttpRequestPlan, WriteOutcome
from patchbay.registry import BuildContext


class Config(BaseModel):
    """The ``memory`` target has no options."""

    model_config = ConfigDict(extra="forbid")


def record_of(request: WriteRequest) -> Any:
    """The value at ``request.record_path`` in the event (a scalar), or None when absent."""
    try:
        current = get_path(request.event, request.record_path)
    except ValueError:
        return None
    return current if isinstance(current, str | int | float | bool) else None


def entry_for(request: WriteRequest) -> dict[str, Any]:
    """What a local target stores for one write (``written_at`` is added when it is written)."""
    return {
        "idempotency_key": request.idempotency_key,
        "integration": request.integration,
        "delivery_id": request.delivery_id,
        "record": record_of(request),
        "field": request.field,
        "text": request.text,
    }


class MemoryTarget:
    """Stores writes in a class-level dict keyed by target name, so tests can read them back."""

    _stores: ClassVar[dict[str, list[dict[str, Any]]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def store(cls, name: str) -> list[dict[str, Any]]:
        """The writes target ``name`` kept so far, oldest first (a copy)."""
        with cls._lock:
            return [dict(entry) for entry in cls._stores.get(name, [])]

    @classmethod
    def clear(cls, name: str | None = None) -> None:
        """Forget the writes of target ``name``, or of every memory target."""
        with cls._lock:
            if name is None:
                cls._stores.clear()
            else:
                cls._stores.pop(name, None)

    def plan(self, request: WriteRequest) -> list[HttpRequestPlan]:
        """A pseudo-request showing what would be stored."""
        return [HttpRequestPlan(method="APPEND", url=f"memory://{self.name}", json_body=entry_for(request))]

    async def write(self, request: WriteRequest) -> WriteOutcome:
        """Store the write unless its idempotency key is already stored."""
        entry = entry_for(request)
        with self._lock:
            entries = self._stores.setdefault(self.name, [])
            if any(e["idempotency_key"] == request.idempotency_key for e in entries):
                return WriteOutcome(
                    target=self.name,
                    status="already_written",
                    detail=f"memory target {self.name!r} already holds {request.idempotency_key}",
                )
            entry["written_at"] = datetime.now(UTC).isoformat()
            entries.append(entry)
        return WriteOutcome(
            target=self.name,
            status="written",
            requests=self.plan(request),
            detail=f"stored in memory target {self.name!r}",
        )

    async def aclose(self) -> None:
        """Nothing to close; the stored writes stay readable."""


def build(config: Config, ctx: BuildContext) -> MemoryTarget:
    """Construct the target named ``ctx.name``."""
    return MemoryTarget(ctx.name)
