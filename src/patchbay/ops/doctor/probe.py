"""GET requests for the doctor, through the one HTTP seam, remembering each answer's clock.

A probe never raises for a network problem: it returns a :class:`ProbeResult` whose ``problem`` says
what happened (``timeout``, ``unreachable``, ``blocked`` by the egress guard, ``error``), so every
check can turn it into a finding. Each ``Date`` header seen is compared with the local clock: a
skew of more than a minute breaks timestamped signatures and OAuth tokens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx

from patchbay.errors import PatchbayError

Problem = Literal["timeout", "unreachable", "blocked", "error"]


@dataclass
class ProbeResult:
    """The response of one GET, or why there is none."""

    url: str
    response: httpx.Response | None = None
    problem: Problem | None = None
    detail: str = ""

    @property
    def status(self) -> int | None:
        """The HTTP status, when an answer came back."""
        return self.response.status_code if self.response is not None else None

    def json(self) -> object:
        """The decoded JSON body, or None when it is not JSON."""
        if self.response is None:
            return None
        try:
            return self.response.json()
        except ValueError:
            return None


@dataclass
class Clocks:
    """Remote clocks seen by the probes: (where, remote minus local, in seconds)."""

    skews: list[tuple[str, float]] = field(default_factory=list)

    def observe(self, where: str, response: httpx.Response) -> None:
        """Record the skew of ``response``'s ``Date`` header, if it has a valid one."""
        header = response.headers.get("date")
        if not header:
            return
        try:
            remote = parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError):
            return
        # Date has one-second resolution: compare with local time truncated the same way.
        self.skews.append((where, remote - int(time.time())))


def _timed_out(exc: httpx.HTTPError) -> bool:
    # httpx-aiohttp reports a refused connection as ConnectTimeout: only a TimeoutError cause is one.
    cause = exc.__cause__
    return isinstance(exc, httpx.TimeoutException) and (cause is None or isinstance(cause, TimeoutError))


async def get(client: httpx.AsyncClient, url: str, *, where: str, clocks: Clocks) -> ProbeResult:
    """GET ``url`` with ``client``; network failures come back as a result, never raised."""
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        if _timed_out(exc):
            return ProbeResult(url, problem="timeout", detail=f"no answer in time ({type(exc).__name__})")
        cause = exc.__cause__ or exc
        return ProbeResult(url, problem="unreachable", detail=f"cannot connect ({type(cause).__name__})")
    except PatchbayError as exc:  # the egress guard, or an OAuth token endpoint that refused
        problem: Problem = "blocked" if exc.code == "egress_blocked" else "error"
        return ProbeResult(url, problem=problem, detail=exc.message)
    clocks.observe(where, response)
    return ProbeResult(url, response=response)
