"""One finding of ``patchbay doctor``: what was checked, how it went, what was seen, how to fix it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["ok", "skip", "warn", "fail"]

# Exit codes of 'patchbay doctor' (documented in docs/operations.md): the worst finding wins.
EXIT_CODES: dict[Status, int] = {"ok": 0, "skip": 0, "warn": 1, "fail": 2}
_RANK: dict[Status, int] = {"ok": 0, "skip": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Finding:
    """One row of the doctor's table. ``fix`` is empty when there is nothing to do."""

    check: str
    status: Status
    finding: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form ('patchbay doctor --json')."""
        return asdict(self)


def worst(findings: Iterable[Finding]) -> Status:
    """The most serious status among ``findings`` ('ok' when there are none)."""
    result: Status = "ok"
    for item in findings:
        if _RANK[item.status] > _RANK[result]:
            result = item.status
    return result


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when everything is ok (or skipped), 1 with at least one warning, 2 with at least one failure."""
    return EXIT_CODES[worst(findings)]
