"""Scheme ``hubspot``: HubSpot's v1 request signature, ``X-HubSpot-Signature``.

v1 is ``hex(SHA-256(client_secret + raw body))`` - a plain hash, not an HMAC, and with no timestamp,
so replays are caught only by dedupe. It is here because HubSpot's webhook subscriptions still send
it; prefer ``shared-secret`` or ``hmac`` for anything you control. (v3 signs the method and URL,
which this request-agnostic interface does not see.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from patchbay.auth.inbound.base import Clock, SecretPair, any_same, header, required, unauthorized, wall_clock

SIGNATURE = "X-HubSpot-Signature"
VERSION = "X-HubSpot-Signature-Version"


class Config(SecretPair):
    """Options of the ``hubspot`` scheme (``secret``: the app's client secret)."""

    scheme: Literal["hubspot"] = Field(default="hubspot", description="Signature scheme name.")


class HubspotSignature:
    """Verifies HubSpot v1 signatures."""

    scheme = "hubspot"

    def __init__(self, config: Config) -> None:
        self.config = config
        _ = self._secrets  # an unusable secret fails at build, not on the first delivery

    @property
    def _secrets(self) -> list[bytes]:
        # Read on every request: a rotated secret (patchbay.config.secrets.live) applies without a restart.
        return [s.encode() for s in self.config.secret_values()]

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise 401 unless the header is the v1 hash of an active secret and the body."""
        value = required(headers, SIGNATURE, hint="HubSpot sends it on every webhook")
        version = (header(headers, VERSION) or "v1").lower()
        if version != "v1":
            raise unauthorized("signature_invalid", f"{VERSION} {version[:8]!r} is not supported; use v1")
        try:
            given = bytes.fromhex(value)
        except ValueError:
            raise unauthorized("signature_invalid", f"{SIGNATURE} must be 64 hex digits") from None
        expected = [hashlib.sha256(s + body).digest() for s in self._secrets]
        if not any_same([given], expected):
            raise unauthorized(
                "signature_invalid", f"{SIGNATURE} does not match; check the app's client secret"
            )


def build(config: Config, *, now: Clock = wall_clock) -> HubspotSignature:
    """Construct the verifier (v1 has no timestamp)."""
    return HubspotSignature(config)
