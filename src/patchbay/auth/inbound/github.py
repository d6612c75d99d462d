"""Scheme ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>``.

GitHub signs no timestamp, so replays are caught by the delivery id (``X-GitHub-Delivery``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from patchbay.auth.inbound import _hub
from patchbay.auth.inbound.base import Clock, SecretPair, wall_clock


class Config(SecretPair):
    """Options of the ``github`` signature scheme."""

    scheme: Literal["github"] = Field(default="github", description="Signature scheme name.")
    header: str = Field(default="X-Hub-Signature-256", description="Header that carries 'sha256=<hex>'.")


class GithubSignature:
    """Verifies GitHub's ``X-Hub-Signature-256``."""

    scheme = "github"

    def __init__(self, config: Config) -> None:
        self.config = config
        _ = self._secrets  # an unusable secret fails at build, not on the first delivery

    @property
    def _secrets(self) -> list[str]:
        # Read on every request: a rotated secret (patchbay.config.secrets.live) applies without a restart.
        return self.config.secret_values()

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise 401 unless the header is a valid HMAC of ``body`` under an active secret."""
        _hub.verify(headers, body, header_name=self.config.header, secrets=self._secrets, sender="GitHub")


def build(config: Config, *, now: Clock = wall_clock) -> GithubSignature:
    """Construct the verifier (``now`` is unused: the scheme has no timestamp)."""
    return GithubSignature(config)
