"""Inbound signature schemes: one small module per scheme, chosen per integration.

=====================  ==========================================================================
``github``             ``X-Hub-Signature-256: sha256=<hex HMAC>`` of the raw body
``jira``               ``X-Hub-Signature: sha256=<hex HMAC>`` of the raw body (Jira Cloud)
``slack``              ``X-Slack-Signature: v0=<hex HMAC of v0:{ts}:{body}>`` + timestamp
``zendesk``            ``X-Zendesk-Webhook-Signature``: base64 HMAC of ``{ts}{body}``, secret as-is
``standard-webhooks``  ``webhook-id``/``-timestamp``/``-signature``, ``whsec_`` keys, several sigs
``hmac``               configurable header, algorithm, encoding, prefix, message template
``shared-secret``      a header equal to a shared token
``hubspot``            ``X-HubSpot-Signature`` v1: hex SHA-256 of secret + body (legacy, no HMAC)
=====================  ==========================================================================

Every scheme takes ``secret`` and ``previous_secret`` (both verify during a rotation), compares in
constant time, checks timestamps (default tolerance 5 minutes) where the scheme signs one, and
answers any missing or malformed header with a 401 ``RequestError``. To add a scheme: write its
module (a ``Config`` with a ``scheme`` literal and ``build(config, *, now)``), its test, and add it to
``SCHEMES`` and ``SignatureConfig`` below.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

from pydantic import Field

from patchbay.auth.inbound import (
    generic_hmac,
    github,
    hubspot,
    jira,
    shared_secret,
    slack,
    standard_webhooks,
    zendesk,
)
from patchbay.auth.inbound.base import Clock, Verifier, wall_clock

SCHEMES: dict[str, str] = {
    "github": "patchbay.auth.inbound.github",
    "jira": "patchbay.auth.inbound.jira",
    "slack": "patchbay.auth.inbound.slack",
    "zendesk": "patchbay.auth.inbound.zendesk",
    "standard-webhooks": "patchbay.auth.inbound.standard_webhooks",
    "hmac": "patchbay.auth.inbound.generic_hmac",
    "shared-secret": "patchbay.auth.inbound.shared_secret",
    "hubspot": "patchbay.auth.inbound.hubspot",
}

SignatureConfig = Annotated[
    github.Config
    | jira.Config
    | slack.Config
    | zendesk.Config
    | standard_webhooks.Config
    | generic_hmac.Config
    | shared_secret.Config
    | hubspot.Config,
    Field(discriminator="scheme"),
]


def build_verifier(config: Any, *, now: Clock = wall_clock) -> Verifier:
    """The verifier for one scheme config (any member of :data:`SignatureConfig`)."""
    module = importlib.import_module(SCHEMES[config.scheme])
    return module.build(config, now=now)  # type: ignore[no-any-return]


__all__ = ["SCHEMES", "SignatureConfig", "Verifier", "build_verifier"]
