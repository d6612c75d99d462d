"""Target ``file``: append each write as one JSON line to a local file.

Useful for dry runs against real events and for auditing what would be written. A write whose
idempotency key is already in the file is skipped (``already_written``). Each line is flushed and
fsynced before the write counts as done; a lock per file serializes writers in one process.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from patchbay.connectors.base import WriteRequest
from patchbay.connectors.memory import entry_for
from patchbay.errors import TargetRejected, TargetUnavailable
from patchbay.pipeline.state import HttpRequestPlan, WriteOutcome
from patchbay.registry import BuildContext

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


class Config(BaseModel):
    """Options of the ``file`` target."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(
        default=Path(".patchbay/writes.jsonl"),
        description="JSON Lines file to append to; a relative path is taken from the project folder.",
    )


class FileTarget:
    """Appends writes to a JSON Lines file, once per idempotency key."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    def plan(self, request: WriteRequest) -> list[HttpRequestPlan]:
        """A pseudo-request: the line that would be appended."""
        return [HttpRequestPlan(method="APPEND", url=self.path.as_uri(), json_body=entry_for(request))]

    async def write(self, request: WriteRequest) -> WriteOutcome:
        """Append the write unless the file already holds its idempotency key."""
        try:
            written = await asyncio.to_thread(self._append, request)
        except PermissionError:
            raise TargetRejected(
                f"file target {self.name!r}: no permission to write {self.path}; choose another 'path' "
                "or fix the folder's permissions"
            ) from None
        except OSError as exc:
            raise TargetUnavailable(
                f"file target {self.name!r}: cannot write {self.path} ({exc.strerror or type(exc).__name__})"
            ) from None
        if not written:
            return WriteOutcome(
                target=self.name,
                status="already_written",
                detail=f"{self.path} already holds {request.idempotency_key}",
            )
        return WriteOutcome(
            target=self.name, status="written", requests=self.plan(request), detail=f"appended to {self.path}"
        )

    def _append(self, request: WriteRequest) -> bool:
        entry: dict[str, Any] = entry_for(request)
        with _lock_for(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                handle.seek(0)
                content = handle.read()
                if request.idempotency_key in _keys(content):
                    return False
                entry["written_at"] = datetime.now(UTC).isoformat()
                line = json.dumps(entry, ensure_ascii=False).encode() + b"\n"
                # A crash mid-line leaves a torn last line; start on a fresh line so ours stays readable.
                if content and not content.endswith(b"\n"):
                    line = b"\n" + line
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        return True

    async def aclose(self) -> None:
        """Nothing to close: the file is opened per write."""


def _keys(content: bytes) -> set[str]:
    keys: set[str] = set()
    for raw in content.splitlines():
        try:
            item = json.loads(raw)
        except ValueError:
            continue  # a torn line from a crash
        if isinstance(item, dict) and isinstance(item.get("idempotency_key"), str):
            keys.add(item["idempotency_key"])
    return keys


def build(config: Config, ctx: BuildContext) -> FileTarget:
    """Construct the target named ``ctx.name``; a relative path is resolved against ``ctx.root``."""
    path = config.path.expanduser()
    if not path.is_absolute():
        path = ctx.root / path
    return FileTarget(ctx.name, path.resolve())
