"""Source ``jira``: verify and parse Jira webhooks (Cloud admin webhooks and Data Center).

Jira Cloud signs an admin webhook that has a secret with ``X-Hub-Signature: sha256=<hex>``, the hex
HMAC-SHA256 of the raw body under the secret; there is no timestamp, so replays are caught by the
delivery id (``X-Atlassian-Webhook-Identifier``, stable across Jira's retries). Data Center sends no
signature unless a plugin adds one; use ``allow_unsigned`` only for local development.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from patchbay.connectors.base import Delivery
from patchbay.errors import RequestError
from patchbay.registry import BuildContext

DELIVERY_HEADER = "x-atlassian-webhook-identifier"
_PREFIX = "sha256="
_HEX_LENGTH = 64


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
        self._secrets = [
            s.get_secret_value().encode()
            for s in (config.secret, config.previous_secret)
            if s is not None and s.get_secret_value()
        ]

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Check the HMAC signature over the raw body; raise ``RequestError`` (401) when it fails."""
        if not self._secrets:
            if self.config.allow_unsigned:
                return
            raise RequestError(
                f"integration {self.name!r}: no webhook secret is configured for the jira source; set "
                "'secret' to the secret entered in Jira's webhook settings (or allow_unsigned: true for "
                "local development only)",
                status_code=401,
                code="no_secret_configured",
            )
        header = self.config.signature_header
        value = _lower_keys(headers).get(header.lower())
        if value is None or not value.strip():
            raise RequestError(
                f"missing {header} header; set a secret on the Jira webhook so Jira signs its deliveries, "
                f"or point signature_header at the header your sender uses",
                status_code=401,
                code="signature_missing",
            )
        given = _parse_signature(value.strip(), header)
        for secret in self._secrets:
            expected = hmac.new(secret, body, hashlib.sha256).digest()
            if hmac.compare_digest(given, expected):
                return
        raise RequestError(
            f"{header} does not match the request body; check that the secret in Jira's webhook settings "
            "equals the configured 'secret' and that no proxy re-encodes the body",
            status_code=401,
            code="signature_invalid",
        )

    def parse(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Turn a (verified) delivery into a :class:`Delivery`; raise ``RequestError`` (400) on bad JSON."""
        event = _load_json(body)
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


def _parse_signature(value: str, header: str) -> bytes:
    hint = f"{header} must look like 'sha256=<64 hex digits>'"
    if not value.lower().startswith(_PREFIX):
        scheme = value.split("=", 1)[0][:16] if "=" in value else "no scheme"
        raise RequestError(f"{hint}; got {scheme!r}", status_code=401, code="signature_invalid")
    digest = value[len(_PREFIX) :]
    if len(digest) != _HEX_LENGTH:
        raise RequestError(
            f"{hint}; the digest has {len(digest)} characters", status_code=401, code="signature_invalid"
        )
    try:
        return bytes.fromhex(digest)
    except ValueError:
        raise RequestError(
            f"{hint}; the digest is not hexadecimal", status_code=401, code="signature_invalid"
        ) from None


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumber(name)


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except _NonFiniteNumber as exc:
        raise RequestError(
            f"the body contains {exc}, which is not valid JSON; send finite numbers only",
            status_code=400,
            code="invalid_json",
        ) from None
    except json.JSONDecodeError as exc:
        raise RequestError(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            status_code=400,
            code="invalid_json",
        ) from None
    except UnicodeDecodeError:
        raise RequestError(
            "the body is not UTF-8 encoded JSON", status_code=400, code="invalid_json"
        ) from None
    except RecursionError:
        raise RequestError("the body is nested too deeply", status_code=400, code="invalid_json") from None


_KINDS: dict[type, str] = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _json_kind(value: Any) -> str:
    return _KINDS.get(type(value), "a number")


def build(config: Config, ctx: BuildContext) -> JiraSource:
    """Construct the source for integration ``ctx.name``."""
    return JiraSource(config, name=ctx.name)
