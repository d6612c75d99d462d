"""What every inbound signature scheme shares: the protocol, the rotation pair, and safe helpers.

A scheme checks one request's headers and raw body and raises :class:`~patchbay.errors.RequestError`
with status 401 when anything is missing, malformed, stale or wrong. It never raises anything else
for bad input, compares in constant time, and never puts a secret or a computed digest in a message.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from patchbay.errors import RequestError

Clock = Callable[[], float]
DEFAULT_TOLERANCE_S = 300
# No sender uses signature headers this long; refusing early keeps hostile headers cheap.
MAX_HEADER_CHARS = 4096


class Verifier(Protocol):
    """Checks one delivery's authenticity; raises ``RequestError`` (401) when it fails."""

    scheme: str

    def verify(self, headers: Mapping[str, str], body: bytes) -> None: ...


class SecretPair(BaseModel):
    """The current secret and, during a rotation, the previous one: both verify."""

    model_config = ConfigDict(extra="forbid")

    secret: SecretStr = Field(description="The signing secret shared with the sender. Use ${secret:...}.")
    previous_secret: SecretStr | None = Field(
        default=None,
        description="The old secret, still accepted while a rotation is under way; remove it afterwards.",
    )

    def secret_values(self) -> list[str]:
        """The non-empty secrets, current first."""
        found = [s.get_secret_value() for s in (self.secret, self.previous_secret) if s is not None]
        return [s for s in found if s]


def unauthorized(code: str, message: str) -> RequestError:
    """A 401 error in the shape intake turns into the JSON error format."""
    return RequestError(message, status_code=401, code=code)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, looked up case-insensitively; ``None`` when absent or blank."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            value = value.strip()
            if not value:
                return None
            if len(value) > MAX_HEADER_CHARS:
                raise unauthorized(
                    "signature_invalid", f"{name} is longer than {MAX_HEADER_CHARS} characters"
                )
            return value
    return None


def required(headers: Mapping[str, str], name: str, *, hint: str) -> str:
    """A header that must be present; 401 ``signature_missing`` naming it and how to fix it."""
    value = header(headers, name)
    if value is None:
        raise unauthorized("signature_missing", f"missing {name} header; {hint}")
    return value


def same(given: bytes, expected: bytes) -> bool:
    """Constant-time equality that also hides the expected length."""
    return hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(expected).digest())


def any_same(given: Iterable[bytes], expected: Iterable[bytes]) -> bool:
    """Whether any given value equals any expected one; every pair is compared (no early exit)."""
    found = False
    wanted = list(expected)
    for candidate in given:
        for value in wanted:
            found |= same(candidate, value)
    return found


def parse_timestamp(value: str, name: str) -> float:
    """Unix seconds from an integer header or an ISO-8601 one (Zendesk); 401 when it is neither."""
    if value.isdigit() and len(value) <= 12:
        return float(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise unauthorized(
            "timestamp_invalid", f"{name} must be unix seconds or an ISO-8601 time; got {value[:40]!r}"
        ) from None
    if parsed.tzinfo is None:
        raise unauthorized("timestamp_invalid", f"{name} must carry a time zone (e.g. a trailing 'Z')")
    return parsed.timestamp()


def check_fresh(timestamp: float, *, tolerance_s: int, now: Clock, name: str) -> None:
    """Refuse a timestamp further than ``tolerance_s`` from now, in either direction (replays, skew)."""
    skew = abs(now() - timestamp)
    if skew > tolerance_s:
        raise unauthorized(
            "timestamp_expired",
            f"{name} is {int(skew)} s away from the server clock (tolerance {tolerance_s} s); this is a "
            "replay or a clock problem - check NTP on both sides",
        )


def tolerance_field() -> int:
    """The shared ``tolerance_s`` field definition."""
    return Field(  # type: ignore[no-any-return]
        default=DEFAULT_TOLERANCE_S,
        ge=1,
        le=86_400,
        description="Accept signed timestamps at most this many seconds away from the server clock.",
    )


def wall_clock() -> float:
    """The default clock (tests pass their own)."""
    return time.time()
