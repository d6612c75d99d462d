"""Dotted paths into event data: ``"issue.fields.summary"``, ``"issue.fields.labels.0"``.

Used by the steps that read parts of an event (``validate``, ``select``, ``write``). A path is a
dot-separated list of keys; a segment made of digits indexes a list. Looking up a path never raises:
a missing key, a bad index or a scalar in the way all give :data:`MISSING`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal


class _Missing(enum.Enum):
    """The type of :data:`MISSING` (an enum so type checkers can narrow on ``is MISSING``)."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> Literal[False]:
        return False


MISSING: Final = _Missing.MISSING
"""Returned by :func:`get_path` when nothing is at the path."""


def split_path(path: str) -> list[str]:
    """The segments of a dotted path; raises ``ValueError`` with a fix when the path is malformed."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("a path must be a non-empty string like 'issue.fields.summary'")
    parts = path.split(".")
    if any(not part.strip() for part in parts):
        raise ValueError(f"path {path!r} has an empty segment; separate keys with single dots: 'a.b.0.c'")
    return parts


def check_path(path: str) -> str:
    """``path`` unchanged when it is well formed, for use in pydantic field validators."""
    split_path(path)
    return path


def get_path(data: Any, path: str) -> Any:
    """The value at ``path`` in ``data`` (dicts and lists), or :data:`MISSING` when there is none."""
    current: Any = data
    for part in split_path(path):
        if isinstance(current, Mapping):
            if part not in current:
                return MISSING
            current = current[part]
        elif isinstance(current, Sequence) and not isinstance(current, str | bytes):
            if not part.isdigit():
                return MISSING
            index = int(part)
            if index >= len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current


def is_empty(value: Any) -> bool:
    """True for missing, None, blank strings and empty containers; ``0`` and ``False`` are values."""
    if value is MISSING or value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping | list | tuple):
        return len(value) == 0
    return False
