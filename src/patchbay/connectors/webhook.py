"""The shape every signed-webhook source shares: verify with a scheme, parse strict JSON, name the event.

A concrete source (``github``, ``slack``, ``zendesk``, ``standard-webhooks``, ``http``) is a small
module with a ``Config`` and a ``build`` that hands :class:`WebhookSource` its signature verifier and
two functions: where the event type and the delivery id come from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from patchbay import strict_json
from patchbay.auth.inbound.base import Verifier, header
from patchbay.connectors.base import Delivery
from patchbay.errors import RequestError

Picker = Callable[[Mapping[str, str], dict[str, Any]], str | None]


class SignedSourceConfig(BaseModel):
    """Options every signed source has: the secret pair and the local-development escape hatch."""

    model_config = ConfigDict(extra="forbid")

    secret: SecretStr | None = Field(
        default=None, description="The webhook signing secret shared with the sender. Use ${secret:...}."
    )
    previous_secret: SecretStr | None = Field(
        default=None, description="The old secret, still accepted while a rotation is under way."
    )
    allow_unsigned: bool = Field(
        default=False,
        description="Accept unsigned deliveries when no secret is set. For local development only.",
    )

    def has_secret(self) -> bool:
        """Whether a non-empty secret is configured."""
        return self.secret is not None and bool(self.secret.get_secret_value())


class WebhookSource:
    """Verifies and parses one integration's deliveries from one kind of sender."""

    def __init__(
        self,
        *,
        name: str,
        sender: str,
        verifier: Verifier | None,
        allow_unsigned: bool,
        event_type: Picker,
        delivery_id: Picker,
    ) -> None:
        self.name = name
        self.sender = sender
        self._verifier = verifier
        self._allow_unsigned = allow_unsigned
        self._event_type = event_type
        self._delivery_id = delivery_id

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Check the signature; 401 when it fails or when no secret is configured."""
        if self._verifier is None:
            if self._allow_unsigned:
                return
            raise RequestError(
                f"integration {self.name!r}: no webhook secret is configured for the {self.sender} source; "
                "set 'secret' (or allow_unsigned: true for local development only)",
                status_code=401,
                code="no_secret_configured",
            )
        self._verifier.verify(headers, body)

    def parse(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """A :class:`Delivery` from a verified body; 400 on bad JSON or a missing event type."""
        event = strict_json.loads(body)
        if not isinstance(event, dict):
            raise RequestError(
                f"a {self.sender} webhook body must be a JSON object",
                status_code=400,
                code="invalid_event",
            )
        event_type = self._event_type(headers, event)
        if not event_type:
            raise RequestError(
                f"cannot tell the event type of this {self.sender} delivery; is it from {self.sender}?",
                status_code=400,
                code="invalid_event",
            )
        delivery_id = (self._delivery_id(headers, event) or "").strip()[:200]
        if not delivery_id:
            # No id from the sender: a hash of the body still dedupes identical retries.
            delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()
        return Delivery(event_type=event_type[:200], delivery_id=delivery_id, event=event)


def from_header(name: str) -> Picker:
    """A picker reading one header."""

    def pick(headers: Mapping[str, str], event: dict[str, Any]) -> str | None:
        return header(headers, name)

    return pick


def from_field(path: str) -> Picker:
    """A picker reading a dotted path in the body (string or number values only)."""

    def pick(headers: Mapping[str, str], event: dict[str, Any]) -> str | None:
        value: Any = event
        for part in path.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
        return None

    return pick
