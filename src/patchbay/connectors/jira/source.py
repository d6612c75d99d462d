"""Source ``jira``: verify and parse Jira webhooks (Cloud admin webhooks and Data Center).

Jira Cloud signs an admin webhook that has a secret with ``X-Hub-Signature: sha256=<hex>``, the hex
HMAC-SHA256 of the raw body under the secret; there is no timestamp, so replays are caught by the
delivery id (``X-Atlassian-Webhook-Identifier``, stable across Jira's retries). Data Center sends no
signature unless a plugin adds one; use ``allow_unsigned`` only for local development.

The check itself is the shared ``jira`` scheme (:mod:`patchbay.auth.inbound.jira`); bodies parse with
:mod:`patchbay.strict_json` (depth, NaN, huge integers and duplicate keys are refused with a 400).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from patchbay import strict_json
from patchbay.auth.inbound import jira as jira_scheme
from patchbay.auth.inbound.jira import JiraSignature
from patchbay.connectors.base import Delivery
from patchbay.errors import RequestError
from patchbay.registry import BuildContext

DELIVERY_HEADER = "x-atlassian-webhook-identifier"


class Config(BaseModel):
    """Options of the ``jira`` source."""

    model_config = ConfigDict(extra="forbid")

    secret: SecretStr | None = Field(
        default=None,
        description="The webhook secret set in Jira (the admin webhook's 'Secret'). Use ${secret:...}.",
    )
    previous_secret: SecretStr | None = Field(
        default=None, description="The old secret, still accepted while a rotation is under way."
    )
    signature_header: str = Field(
        default="X-Hub-Signature", description="Header that carries 'sha256=<hex HMAC-SHA256 of the body>'."
    )
    allow_unsigned: bool = Field(
        default=False,
        description="Accept unsigned deliveries when no secret is set. For local development only.",
    )


class JiraSource:
    """Verifies and parses one integration's Jira webhook deliveries."""

    def __init__(self, config: Config, *, name: str = "jira") -> None:
        self.name = name
        self.config = config
        self._verifier: JiraSignature | None = None
        if config.secret is not None and config.secret.get_secret_value():
            self._verifier = JiraSignature(
                jira_scheme.Config(
                    secret=config.secret,
                    previous_secret=config.previous_secret,
                    header=config.signature_header,
                )
            )

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Check the HMAC signature over the raw body; raise ``RequestError`` (401) when it fails."""
        if self._verifier is None:
            if self.config.allow_unsigned:
                return
            raise RequestError(
                f"integration {self.name!r}: no webhook secret is configured for the jira source; set "
                "'secret' to the secret entered in Jira's webhook settings (or allow_unsigned: true for "
                "local development only)",
                status_code=401,
                code="no_secret_configured",
            )
        self._verifier.verify(headers, body)

    def parse(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Turn a (verified) delivery into a :class:`Delivery`; raise ``RequestError`` (400) on bad JSON."""
        event = strict_json.loads(body)
        if not isinstance(event, dict):
            raise RequestError(
                f"a Jira webhook body must be a JSON object, got {_json_kind(event)}",
                status_code=400,
                code="invalid_event",
            )
        event_type = event.get("webhookEvent")
        if not isinstance(event_type, str) or not event_type.strip():
            raise RequestError(
                "the body has no 'webhookEvent' string (e.g. 'jira:issue_created'); is this a Jira webhook?",
                status_code=400,
                code="invalid_event",
            )
        delivery_id = (_lower_keys(headers).get(DELIVERY_HEADER) or "").strip()
        if not delivery_id:
            # Data Center sends no delivery id; a hash of the body still dedupes Jira's identical retries.
            delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()
        return Delivery(event_type=event_type, delivery_id=delivery_id, event=event)


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


_KINDS: dict[type, str] = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _json_kind(value: Any) -> str:
    return _KINDS.get(type(value), "a number")


def build(config: Config, ctx: BuildContext) -> JiraSource:
    """Construct the source for integration ``ctx.name``."""
    return JiraSource(config, name=ctx.name)
