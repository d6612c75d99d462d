"""Scheme ``standard-webhooks``: the Standard Webhooks spec (``webhook-id``/``-timestamp``/``-signature``).

The key is the base64 part of a ``whsec_...`` secret; the signed content is ``{id}.{timestamp}.{body}``;
``webhook-signature`` is a space-separated list of ``v1,<base64 HMAC-SHA256>`` entries, so a sender
rotating its key can send both signatures at once. Asymmetric ``v1a`` entries are ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, field_validator

from patchbay.auth.inbound.base import (
    Clock,
    SecretPair,
    any_same,
    check_fresh,
    required,
    tolerance_field,
    unauthorized,
    wall_clock,
)

ID = "webhook-id"
TIMESTAMP = "webhook-timestamp"
SIGNATURE = "webhook-signature"
_HINT = "Standard Webhooks senders send webhook-id, webhook-timestamp and webhook-signature"
_MAX_SIGNATURES = 16


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


class Config(SecretPair):
    """Options of the ``standard-webhooks`` scheme (``secret``: the ``whsec_...`` signing secret)."""

    scheme: Literal["standard-webhooks"] = Field(
        default="standard-webhooks", description="Signature scheme name."
    )
    tolerance_s: int = tolerance_field()

    @field_validator("secret", "previous_secret")
    @classmethod
    def _is_base64(cls, value: object) -> object:
        raw = getattr(value, "get_secret_value", lambda: value)()
        if isinstance(raw, str) and raw:
            try:
                _key(raw)
            except (binascii.Error, ValueError):
                raise ValueError("must be 'whsec_' followed by base64 (as the sender shows it)") from None
        return value


class StandardWebhooksSignature:
    """Verifies Standard Webhooks symmetric (``v1``) signatures."""

    scheme = "standard-webhooks"

    def __init__(self, config: Config, *, now: Clock = wall_clock) -> None:
        self.config = config
        _ = self._keys  # an unusable secret fails at build, not on the first delivery
        self._now = now

    @property
    def _keys(self) -> list[bytes]:
        # Read on every request: a rotated secret (patchbay.config.secrets.live) applies without a restart.
        return [_key(s) for s in self.config.secret_values()]

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise 401 unless one ``v1`` signature matches and the timestamp is fresh."""
        msg_id = required(headers, ID, hint=_HINT)
        stamp = required(headers, TIMESTAMP, hint=_HINT)
        signatures = required(headers, SIGNATURE, hint=_HINT)
        if not stamp.isdigit() or len(stamp) > 12:
            raise unauthorized("timestamp_invalid", f"{TIMESTAMP} must be integer unix seconds")
        check_fresh(float(stamp), tolerance_s=self.config.tolerance_s, now=self._now, name=TIMESTAMP)
        given: list[bytes] = []
        for entry in signatures.split(" ")[:_MAX_SIGNATURES]:
            version, _, value = entry.partition(",")
            if version != "v1" or not value:
                continue
            try:
                given.append(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                continue
        if not given:
            raise unauthorized("signature_invalid", f"{SIGNATURE} has no 'v1,<base64>' entry")
        message = f"{msg_id}.{stamp}.".encode() + body
        expected = [hmac.new(k, message, hashlib.sha256).digest() for k in self._keys]
        if not any_same(given, expected):
            raise unauthorized(
                "signature_invalid",
                f"no {SIGNATURE} entry matches; check that 'secret' is the endpoint's whsec_ secret",
            )


def build(config: Config, *, now: Clock = wall_clock) -> StandardWebhooksSignature:
    """Construct the verifier."""
    return StandardWebhooksSignature(config, now=now)
