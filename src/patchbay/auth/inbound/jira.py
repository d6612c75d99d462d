"""Scheme ``jira``: ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``.

Jira Cloud admin webhooks with a secret sign no timestamp; replays are caught by
the delivery id (``X-Atlassian-Webhook-Identifier``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from patchbay.auth.inbound import _hub
from patchbay.auth.inbound.base import Clock, SecretPair, wall_clock


class Config(SecretPair):
    """Options of the ``jira`` signature scheme."""

    scheme: Literal["jira"] = Field(default="jira", description="Signature scheme name.")
    header: str = Field(default="X-Hub-Signature", description="Header that carries 'sha256=<hex>'.")


class JiraSignature(_hub.HubSignature):
    """Verifies Jira's ``X-Hub-Signature``."""

    scheme = "jira"
    sender = "Jira"


def build(config: Config, *, now: Clock = wall_clock) -> JiraSignature:
    """Construct the verifier (``now`` is unused: the scheme has no timestamp)."""
    return JiraSignature(config)
