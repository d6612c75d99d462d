"""Source ``slack``: Slack Events API deliveries signed with ``X-Slack-Signature`` (v0 + timestamp).

The event type is the inner ``event.type`` of an ``event_callback`` (``message``, ``app_mention``),
else the envelope ``type``; the delivery id is the envelope's ``event_id``, stable across Slack's
retries. Signatures older than ``tolerance_s`` (default 5 minutes) are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from patchbay.auth.inbound import slack
from patchbay.auth.inbound.base import tolerance_field
from patchbay.connectors.webhook import SignedSourceConfig, WebhookSource, from_field
from patchbay.registry import BuildContext


class Config(SignedSourceConfig):
    """Options of the ``slack`` source (``secret``: the app's Signing Secret)."""

    tolerance_s: int = tolerance_field()


def _event_type(headers: Mapping[str, str], event: dict[str, Any]) -> str | None:
    inner = event.get("event")
    if event.get("type") == "event_callback" and isinstance(inner, dict):
        kind = inner.get("type")
        return kind if isinstance(kind, str) else None
    kind = event.get("type")
    return kind if isinstance(kind, str) else None


def build(config: Config, ctx: BuildContext) -> WebhookSource:
    """Construct the source for integration ``ctx.name``."""
    verifier = None
    if config.has_secret():
        assert config.secret is not None
        verifier = slack.build(
            slack.Config(
                secret=config.secret, previous_secret=config.previous_secret, tolerance_s=config.tolerance_s
            )
        )
    return WebhookSource(
        name=ctx.name,
        sender="Slack",
        verifier=verifier,
        allow_unsigned=config.allow_unsigned,
        event_type=_event_type,
        delivery_id=from_field("event_id"),
    )
