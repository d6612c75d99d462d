"""Source ``github``: GitHub webhooks signed with ``X-Hub-Signature-256``.

The event type is ``{X-GitHub-Event}.{action}`` when the body has an ``action`` (``issues.opened``,
``issue_comment.created``), else the header alone (``ping``). The delivery id is
``X-GitHub-Delivery``. GitHub never redelivers by itself, and signs no timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from patchbay.auth.inbound import github
from patchbay.auth.inbound.base import header
from patchbay.connectors.webhook import SignedSourceConfig, WebhookSource, from_header
from patchbay.registry import BuildContext


class Config(SignedSourceConfig):
    """Options of the ``github`` source (``secret``: the webhook's secret)."""


def _event_type(headers: Mapping[str, str], event: dict[str, Any]) -> str | None:
    name = header(headers, "X-GitHub-Event")
    action = event.get("action")
    if name and isinstance(action, str) and action:
        return f"{name}.{action}"
    return name


def build(config: Config, ctx: BuildContext) -> WebhookSource:
    """Construct the source for integration ``ctx.name``."""
    verifier = None
    if config.has_secret():
        assert config.secret is not None
        verifier = github.build(github.Config(secret=config.secret, previous_secret=config.previous_secret))
    return WebhookSource(
        name=ctx.name,
        sender="GitHub",
        verifier=verifier,
        allow_unsigned=config.allow_unsigned,
        event_type=_event_type,
        delivery_id=from_header("X-GitHub-Delivery"),
    )
