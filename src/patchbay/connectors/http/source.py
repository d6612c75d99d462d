"""Source ``http``: any system that can POST JSON, with the signature scheme chosen in config.

    trigger:
      source: http
      signature: {scheme: hmac, header: X-Signature, secret: "${secret:CRM_WEBHOOK_SECRET}"}
      event_type_field: event.kind

``signature`` takes any scheme of :mod:`patchbay.auth.inbound` (``github``, ``jira``, ``slack``,
``zendesk``, ``standard-webhooks``, ``hmac``, ``shared-secret``), each with ``secret`` and
``previous_secret`` for rotation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from patchbay.auth.inbound import SignatureConfig, build_verifier
from patchbay.connectors.webhook import WebhookSource, from_field, from_header
from patchbay.registry import BuildContext


class Config(BaseModel):
    """Options of the generic ``http`` source."""

    model_config = ConfigDict(extra="forbid")

    signature: SignatureConfig | None = Field(
        default=None, description="How deliveries are authenticated: {scheme: ..., secret: ..., options}."
    )
    allow_unsigned: bool = Field(
        default=False,
        description="Accept deliveries when no signature is configured. Local development only.",
    )
    event_type_header: str | None = Field(default=None, description="Header holding the event type.")
    event_type_field: str | None = Field(default=None, description="Dotted body path of the event type.")
    default_event_type: str = Field(default="webhook", description="Event type when none is found.")
    delivery_id_header: str | None = Field(default=None, description="Header holding a unique delivery id.")
    delivery_id_field: str | None = Field(
        default=None, description="Dotted body path of the delivery id. Neither set: a hash of the body."
    )


def build(config: Config, ctx: BuildContext) -> WebhookSource:
    """Construct the source for integration ``ctx.name``."""
    pickers = []
    if config.event_type_header:
        pickers.append(from_header(config.event_type_header))
    if config.event_type_field:
        pickers.append(from_field(config.event_type_field))
    ids = []
    if config.delivery_id_header:
        ids.append(from_header(config.delivery_id_header))
    if config.delivery_id_field:
        ids.append(from_field(config.delivery_id_field))

    def event_type(headers: Mapping[str, str], event: dict[str, Any]) -> str | None:
        return next((v for p in pickers if (v := p(headers, event))), None) or config.default_event_type

    def delivery_id(headers: Mapping[str, str], event: dict[str, Any]) -> str | None:
        return next((v for p in ids if (v := p(headers, event))), None)

    return WebhookSource(
        name=ctx.name,
        sender="HTTP",
        verifier=build_verifier(config.signature) if config.signature is not None else None,
        allow_unsigned=config.allow_unsigned,
        event_type=event_type,
        delivery_id=delivery_id,
    )
