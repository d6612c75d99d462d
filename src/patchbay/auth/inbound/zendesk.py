"""Scheme ``zendesk``: ``X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(secret, ts + body))``.

The signing secret is used **as-is** as the HMAC key, although it looks like base64. The timestamp
(``X-Zendesk-Webhook-Signature-Timestamp``, ISO-8601) is signed and must be within ``tolerance_s``.
"""

from __future__ import annotations

import base64
import binascii
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

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
_HINT = "set the webhook's signing secret in Zendesk (Admin Center > Webhooks > signing secret)"


class Config(SecretPair):
    """Options of the ``zendesk`` signature scheme (``secret``: the webhook's signing secret)."""

    scheme: Literal["zendesk"] = Field(default="zendesk", description="Signature scheme name.")
    tolerance_s: int = tolerance_field()


class ZendeskSignature:
    """Verifies Zendesk's webhook signature."""

    scheme = "zendesk"

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
        check_fresh(
            parse_timestamp(stamp, TIMESTAMP),
            tolerance_s=self.config.tolerance_s,
            now=self._now,
            name=TIMESTAMP,
        )
        try:
            given = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise unauthorized("signature_invalid", f"{SIGNATURE} is not base64") from None
        message = stamp.encode() + body
        expected = [hmac.new(s.encode(), message, hashlib.sha256).digest() for s in self._secrets]
        if not any_same([given], expected):
            raise unauthorized(
                "signature_invalid",
                f"{SIGNATURE} does not match; 'secret' must be the signing secret exactly as Zendesk shows "
                "it (it is used as-is, not base64-decoded)",
            )


def build(config: Config, *, now: Clock = wall_clock) -> ZendeskSignature:
    """Construct the verifier."""
    return ZendeskSignature(config, now=now)
