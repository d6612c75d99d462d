"""Scheme ``jira``: ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``.

Jira Cloud admin webhooks with a secret sign no timestamp; replays are caught by
the delivery id (``X-Atlassian-Webhook-Identifier``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from patchbay.auth.inbound import _hub
from patchbay.auth.inbound.base import Clock, SecretPair, wall_clock


class Config(SecretPair):
    """Options of the ``jira`` signature scheme."""

    scheme: Literal["jira"] = Field(default="jira", description="Signature scheme name.")
    header: str = Field(default="X-Hub-Signature", description="Header that carries 'sha256=<hex>'.")


class JiraSignature:
    """Verifies Jira's ``X-Hub-Signature``."""

    scheme = "jira"

    def __init__(self, config: Config) -> None:
        self.config = config
        _ = self._secrets  # an unusable secret fails at build, not on the first delivery

    @property
    def _secrets(self) -> list[str]:
        # Read on every request: a rotated secret (patchbay.config.secrets.live) applies without a restart.
        return self.config.secret_values()

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise 401 unless the header is a valid HMAC of ``body`` under an active secret."""
        _hub.verify(headers, body, header_name=self.config.header, secrets=self._secrets, sender="Jira")


def build(config: Config, *, now: Clock = wall_clock) -> JiraSignature:
    """Construct the verifier (``now`` is unused: the scheme has no timestamp)."""
    return JiraSignature(config)
