"""Scheme ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>``.

GitHub signs no timestamp, so replays are caught by the delivery id (``X-GitHub-Delivery``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from patchbay.auth.inbound import _hub
from patchbay.auth.inbound.base import Clock, SecretPair, wall_clock


class Config(SecretPair):
    """Options of the ``github`` signature scheme."""

    scheme: Literal["github"] = Field(default="github", description="Signature scheme name.")
    header: str = Field(default="X-Hub-Signature-256", description="Header that carries 'sha256=<hex>'.")


class GithubSignature(_hub.HubSignature):
    """Verifies GitHub's ``X-Hub-Signature-256``."""

    scheme = "github"
    sender = "GitHub"


def build(config: Config, *, now: Clock = wall_clock) -> GithubSignature:
    """Construct the verifier (``now`` is unused: the scheme has no timestamp)."""
    return GithubSignature(config)
