"""Source ``standard-webhooks``: any sender following the Standard Webhooks spec.

The event type is the body's ``type`` (the spec's recommended payload shape); the delivery id is
``webhook-id``, stable across retries. Signature and timestamp are checked by the
``standard-webhooks`` scheme (``whsec_`` secrets, several signatures per header).
"""

from __future__ import annotations

from patchbay.auth.inbound import standard_webhooks
from patchbay.auth.inbound.base import tolerance_field
from patchbay.connectors.webhook import SignedSourceConfig, WebhookSource, from_field, from_header
from patchbay.registry import BuildContext


class Config(SignedSourceConfig):
    """Options of the ``standard-webhooks`` source (``secret``: the endpoint's ``whsec_...`` secret)."""

    tolerance_s: int = tolerance_field()


def build(config: Config, ctx: BuildContext) -> WebhookSource:
    """Construct the source for integration ``ctx.name``."""
    verifier = None
    if config.has_secret():
        assert config.secret is not None
        verifier = standard_webhooks.build(
            standard_webhooks.Config(
                secret=config.secret, previous_secret=config.previous_secret, tolerance_s=config.tolerance_s
            )
        )
    return WebhookSource(
        name=ctx.name,
        sender="Standard Webhooks",
        verifier=verifier,
        allow_unsigned=config.allow_unsigned,
        event_type=from_field("type"),
        delivery_id=from_header("webhook-id"),
    )
