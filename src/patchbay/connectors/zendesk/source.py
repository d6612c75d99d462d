"""Source ``zendesk``: Zendesk webhooks signed with ``X-Zendesk-Webhook-Signature``.

The event type is the body's ``type`` (event-subscribed webhooks, e.g.
``zen:event-type:ticket.created``) or ``event_type_field`` for trigger webhooks whose body you
design; the delivery id is ``X-Zendesk-Webhook-Invocation-Id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from patchbay.auth.inbound import zendesk
from patchbay.auth.inbound.base import tolerance_field
from patchbay.connectors.webhook import SignedSourceConfig, WebhookSource, from_field, from_header
from patchbay.registry import BuildContext


class Config(SignedSourceConfig):
    """Options of the ``zendesk`` source (``secret``: the webhook's signing secret, used as-is)."""

    tolerance_s: int = tolerance_field()
    event_type_field: str = Field(
        default="type", description="Dotted body path of the event type (trigger webhooks: your own field)."
    )
    default_event_type: str = Field(
        default="zendesk:webhook", description="Event type when the body has no event type field."
    )


def build(config: Config, ctx: BuildContext) -> WebhookSource:
    """Construct the source for integration ``ctx.name``."""
    verifier = None
    if config.has_secret():
        assert config.secret is not None
        verifier = zendesk.build(
            zendesk.Config(
                secret=config.secret, previous_secret=config.previous_secret, tolerance_s=config.tolerance_s
            )
        )
    field = from_field(config.event_type_field)

    def event_type(headers: Mapping[str, str], event: dict[str, Any]) -> str | None:
        return field(headers, event) or config.default_event_type

    return WebhookSource(
        name=ctx.name,
        sender="Zendesk",
        verifier=verifier,
        allow_unsigned=config.allow_unsigned,
        event_type=event_type,
        delivery_id=from_header("X-Zendesk-Webhook-Invocation-Id"),
    )
