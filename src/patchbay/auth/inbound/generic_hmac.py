"""Scheme ``hmac``: a configurable HMAC header for senders with no built-in scheme.

Header, algorithm, digest encoding, prefix and key encoding are options; the signed message is the
``message`` template, where ``{body}`` is the raw body and ``{timestamp}`` the value of
``timestamp_header`` (checked against ``tolerance_s``). Example, ServiceNow's ``generateMac`` with a
base64 key: ``{scheme: hmac, header: X-Signature, encoding: base64, secret_encoding: base64}``.
(The module is not called ``hmac.py`` so that it never shadows the standard library.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

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

_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


class Config(SecretPair):
    """Options of the generic ``hmac`` signature scheme."""

    scheme: Literal["hmac"] = Field(default="hmac", description="Signature scheme name.")
    header: str = Field(default="X-Signature", description="Header that carries the signature.")
    algorithm: Literal["sha1", "sha256", "sha512"] = Field(default="sha256", description="HMAC hash.")
    encoding: Literal["hex", "base64"] = Field(default="hex", description="How the digest is written.")
    prefix: str = Field(default="", description="Text before the digest, e.g. 'sha256='.")
    secret_encoding: Literal["utf8", "base64", "hex"] = Field(
        default="utf8", description="How to turn 'secret' into the HMAC key (most senders: utf8)."
    )
    timestamp_header: str | None = Field(
        default=None, description="Header with a signed timestamp (unix seconds or ISO-8601), if any."
    )
    message: str = Field(
        default="{body}",
        description="What is signed: '{body}' is the raw body, '{timestamp}' the timestamp header's value.",
    )
    tolerance_s: int = tolerance_field()

    @model_validator(mode="after")
    def _check(self) -> Config:
        if self.message.count("{body}") != 1:
            raise ValueError("'message' must contain '{body}' exactly once")
        if "{timestamp}" in self.message and not self.timestamp_header:
            raise ValueError("'message' uses {timestamp}: set 'timestamp_header' too")
        for value in self.secret_values():
            _decode_key(value, self.secret_encoding)
        return self


def _decode_key(value: str, encoding: str) -> bytes:
    try:
        if encoding == "base64":
            return base64.b64decode(value, validate=True)
        if encoding == "hex":
            return bytes.fromhex(value)
    except (binascii.Error, ValueError):
        raise ValueError(f"the secret is not valid {encoding} (secret_encoding: {encoding})") from None
    return value.encode()


class HmacSignature:
    """Verifies a configurable HMAC signature header."""

    scheme = "hmac"

    def __init__(self, config: Config, *, now: Clock = wall_clock) -> None:
        self.config = config
        _ = self._keys  # an unusable secret fails at build, not on the first delivery
        self._hash = _HASHES[config.algorithm]
        self._now = now

    @property
    def _keys(self) -> list[bytes]:
        # Read on every request: a rotated secret (patchbay.config.secrets.live) applies without a restart.
        return [_decode_key(s, self.config.secret_encoding) for s in self.config.secret_values()]

    def _given(self, value: str) -> bytes:
        cfg = self.config
        shape = f"{cfg.header} must look like '{cfg.prefix}<{cfg.encoding} {cfg.algorithm} digest>'"
        if not value.startswith(cfg.prefix):
            raise unauthorized("signature_invalid", shape)
        digest = value[len(cfg.prefix) :]
        try:
            if cfg.encoding == "hex":
                return bytes.fromhex(digest)
            return base64.b64decode(digest, validate=True)
        except (binascii.Error, ValueError):
            raise unauthorized("signature_invalid", shape) from None

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise 401 unless the header matches (and the timestamp, when configured, is fresh)."""
        cfg = self.config
        given = self._given(required(headers, cfg.header, hint="configure the sender to sign its requests"))
        stamp = ""
        if cfg.timestamp_header:
            stamp = required(headers, cfg.timestamp_header, hint="the sender must send its signed timestamp")
            check_fresh(
                parse_timestamp(stamp, cfg.timestamp_header),
                tolerance_s=cfg.tolerance_s,
                now=self._now,
                name=cfg.timestamp_header,
            )
        before, _, after = cfg.message.partition("{body}")
        message = (
            before.replace("{timestamp}", stamp).encode()
            + body
            + after.replace("{timestamp}", stamp).encode()
        )
        expected = [hmac.new(k, message, self._hash).digest() for k in self._keys]
        if not any_same([given], expected):
            raise unauthorized(
                "signature_invalid",
                f"{cfg.header} does not match; check the secret, algorithm ({cfg.algorithm}), encoding "
                f"({cfg.encoding}) and message template against the sender's documentation",
            )


def build(config: Config, *, now: Clock = wall_clock) -> HmacSignature:
    """Construct the verifier."""
    return HmacSignature(config, now=now)
