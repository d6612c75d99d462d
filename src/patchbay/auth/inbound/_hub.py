"""The ``sha256=<hex HMAC of the raw body>`` header GitHub and Jira Cloud both send (WebSub style)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from patchbay.auth.inbound.base import any_same, required, unauthorized

_PREFIX = "sha256="
_HEX_LENGTH = 64


def parse(value: str, header_name: str) -> bytes:
    """The digest in ``sha256=<64 hex>``; 401 ``signature_invalid`` saying what is wrong with it."""
    hint = f"{header_name} must look like 'sha256=<64 hex digits>'"
    if not value.lower().startswith(_PREFIX):
        scheme = value.split("=", 1)[0][:16] if "=" in value else "no scheme"
        raise unauthorized("signature_invalid", f"{hint}; got {scheme!r}")
    digest = value[len(_PREFIX) :]
    if len(digest) != _HEX_LENGTH:
        raise unauthorized("signature_invalid", f"{hint}; the digest has {len(digest)} characters")
    try:
        return bytes.fromhex(digest)
    except ValueError:
        raise unauthorized("signature_invalid", f"{hint}; the digest is not hexadecimal") from None


def verify(
    headers: Mapping[str, str], body: bytes, *, header_name: str, secrets: list[str], sender: str
) -> None:
    """Check the header against every active secret; 401 naming the fix when none matches."""
    value = required(
        headers,
        header_name,
        hint=f"set a secret on the {sender} webhook so it signs its deliveries, or point the "
        "signature header option at the header your sender uses",
    )
    given = parse(value, header_name)
    expected = [hmac.new(s.encode(), body, hashlib.sha256).digest() for s in secrets]
    if not any_same([given], expected):
        raise unauthorized(
            "signature_invalid",
            f"{header_name} does not match the request body; check that the secret in {sender}'s webhook "
            "settings equals the configured 'secret' and that no proxy re-encodes the body",
        )


class HubSignature:
    """A verifier for one sender of ``sha256=<hex>`` headers; subclasses name the scheme and sender.

    ``config`` needs ``header`` and ``secret_values()`` (a :class:`~patchbay.auth.inbound.base.SecretPair`).
    """

    scheme: str
    sender: str

    def __init__(self, config: Any) -> None:
        self.config = config
        _ = self._secrets  # an unusable secret fails at build, not on the first delivery

    @property
    def _secrets(self) -> list[str]:
        # Read on every request: a rotated secret (patchbay.config.secrets.live) applies without a restart.
        secrets: list[str] = self.config.secret_values()
        return secrets

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise 401 unless the header is a valid HMAC of ``body`` under an active secret."""
        verify(headers, body, header_name=self.config.header, secrets=self._secrets, sender=self.sender)
