"""Scheme ``shared-secret``: a header that must equal a shared token (e.g. ``Authorization: Bearer ...``).

Weaker than a signature (the token travels with every request and the body is not covered); use it
only for senders that can do nothing better (ServiceNow REST messages, simple scripts), over TLS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from patchbay.auth.inbound.base import Clock, SecretPair, any_same, required, unauthorized, wall_clock


class Config(SecretPair):
    """Options of the ``shared-secret`` scheme (``secret``: the token the sender sends)."""

    scheme: Literal["shared-secret"] = Field(default="shared-secret", description="Scheme name.")
    header: str = Field(default="X-Patchbay-Token", description="Header that carries the token.")
    prefix: str = Field(default="", description="Text before the token, e.g. 'Bearer '.")


class SharedSecret:
    """Compares a header with the configured token(s) in constant time."""

    scheme = "shared-secret"

    def __init__(self, config: Config) -> None:
        self.config = config
        _ = self._tokens  # an unusable secret fails at build, not on the first delivery

    @property
    def _tokens(self) -> list[bytes]:
        # Read on every request: a rotated secret (patchbay.config.secrets.live) applies without a restart.
        return [s.encode() for s in self.config.secret_values()]

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise 401 unless the header carries an active token."""
        cfg = self.config
        value = required(headers, cfg.header, hint=f"send the shared token in {cfg.header}")
        if not value.startswith(cfg.prefix.strip()):
            raise unauthorized("signature_invalid", f"{cfg.header} must start with {cfg.prefix!r}")
        token = value[len(cfg.prefix.strip()) :].strip()
        if not any_same([token.encode()], self._tokens):
            raise unauthorized("signature_invalid", f"{cfg.header} does not carry a valid token")


def build(config: Config, *, now: Clock = wall_clock) -> SharedSecret:
    """Construct the verifier (no timestamp in this scheme)."""
    return SharedSecret(config)
