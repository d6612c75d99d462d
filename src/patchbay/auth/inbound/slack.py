"""Scheme ``slack``: ``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{ts}:{body}")>``.

``X-Slack-Request-Timestamp`` (unix seconds) is part of the signed text and must be within
``tolerance_s`` of the server clock, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from patchbay.auth.inbound.base import (
    Clock,
    SecretPair,
    any_same,
    check_fresh,
    parse_timestamp,
    required,
    tolerance_field,
    unauthorized,
    wall_clock,
)

SIGNATURE = "X-Slack-Signature"
TIMESTAMP = "X-Slack-Request-Timestamp"
_HINT = "Slack signs every request; is this request really from Slack (check the app's Signing Secret)?"


class Config(SecretPair):
    """Options of the ``slack`` signature scheme (``secret`` is the app's Signing Secret)."""

    scheme: Literal["slack"] = Field(default="slack", description="Signature scheme name.")
    tolerance_s: int = tolerance_field()


class SlackSignature:
    """Verifies Slack's v0 request signature."""

    scheme = "slack"

    def __init__(self, config: Config, *, now: Clock = wall_clock) -> None:
        self.config = config
        _ = self._secrets  # an unusable secret fails at build, not on the first delivery
        self._now = now

    @property
    def _secrets(self) -> list[str]:
        # Read on every request: a rotated secret (patchbay.config.secrets.live) applies without a restart.
        return self.config.secret_values()

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise 401 unless the signature matches and the timestamp is fresh."""
        signature = required(headers, SIGNATURE, hint=_HINT)
        stamp = required(headers, TIMESTAMP, hint=_HINT)
        if not stamp.isdigit():
            raise unauthorized("timestamp_invalid", f"{TIMESTAMP} must be unix seconds")
        check_fresh(
            parse_timestamp(stamp, TIMESTAMP),
            tolerance_s=self.config.tolerance_s,
            now=self._now,
            name=TIMESTAMP,
        )
        if not signature.startswith("v0=") or len(signature) != 67:
            raise unauthorized("signature_invalid", f"{SIGNATURE} must look like 'v0=<64 hex digits>'")
        try:
            given = bytes.fromhex(signature[3:])
        except ValueError:
            raise unauthorized("signature_invalid", f"{SIGNATURE} digest is not hexadecimal") from None
        message = b"v0:" + stamp.encode() + b":" + body
        expected = [hmac.new(s.encode(), message, hashlib.sha256).digest() for s in self._secrets]
        if not any_same([given], expected):
            raise unauthorized(
                "signature_invalid",
                f"{SIGNATURE} does not match; check that 'secret' is the app's Signing Secret (not its "
                "verification token) and that no proxy re-encodes the body",
            )


def build(config: Config, *, now: Clock = wall_clock) -> SlackSignature:
    """Construct the verifier."""
    return SlackSignature(config, now=now)
