"""What happens to a found value: the action per entity type, and the text written in its place.

``redact`` writes a typed, numbered placeholder (``<EMAIL_1>``) and keeps nothing; ``pseudonymize``
writes the same kind of token but records token -> value so the model's answer can be restored;
``mask`` keeps the last four characters (``****-****-****-1111``); ``hash`` writes a keyed hash that
is stable per tenant (``<EMAIL:3f9a1c2b7d>``); ``drop`` removes the value. Secrets and URL
credentials are always redacted and never restorable, whatever the configuration says.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

from patchbay.sanitize.replace import Placeholders, label
from patchbay.sanitize.spans import Span

Action = Literal["redact", "mask", "hash", "pseudonymize", "drop"]
ACTIONS: tuple[Action, ...] = ("redact", "mask", "hash", "pseudonymize", "drop")

NEVER_RESTORED: frozenset[str] = frozenset({"secret", "url_credentials"})
"""Types whose values never go into a pseudonym mapping: a credential is never written back."""

DEFAULT_ACTIONS: dict[str, Action] = {
    "email": "pseudonymize",
    "phone": "pseudonymize",
    "person": "pseudonymize",
    "address": "pseudonymize",
    "card": "mask",
    "iban": "mask",
    "ssn": "redact",
    "ip": "redact",
    "dob": "redact",
    "secret": "redact",
    "url_credentials": "redact",
}
"""The ``sanitize`` step's defaults: people and contact details come back in the write-back,
payment numbers keep their last four, identifiers and credentials are gone for good."""


def mask(value: str, keep: int = 4) -> str:
    """``value`` with every letter and digit but the last ``keep`` replaced by ``*``; separators stay."""
    seen = 0
    out: list[str] = []
    for ch in reversed(value):
        if ch.isalnum():
            seen += 1
            out.append(ch if seen <= keep else "*")
        else:
            out.append(ch)
    return "".join(reversed(out))


def keyed_hash(key: bytes, entity_type: str, canonical: str) -> str:
    """A short HMAC-SHA256 of the value: the same for the same tenant key, useless without it."""
    digest = hmac.new(key, f"{entity_type}\0{canonical}".encode(), hashlib.sha256).hexdigest()
    return f"<{label(entity_type)}:{digest[:10]}>"


class Policy:
    """The action for each entity type, and what each action writes.

    Types missing from ``actions`` get ``default``. ``hash_key`` is required when any type is hashed.
    """

    def __init__(
        self,
        actions: Mapping[str, Action] | None = None,
        *,
        default: Action = "redact",
        hash_key: bytes | None = None,
    ) -> None:
        self.actions = dict(actions or {})
        self.default = default
        for entity_type in NEVER_RESTORED:
            if self.actions.get(entity_type, default) in {"pseudonymize", "mask", "hash"}:
                # A credential's tail or hash still narrows a brute-force search: always redact.
                self.actions[entity_type] = "redact"
        unknown = sorted(set(self.actions.values()) - set(ACTIONS))
        if unknown:
            raise ValueError(f"unknown actions {unknown}; known: {', '.join(ACTIONS)}")
        if hash_key is None and "hash" in {*self.actions.values(), default}:
            raise ValueError(
                "the 'hash' action needs a hash_key (a per-tenant secret), e.g. ${secret:HASH_KEY}"
            )
        self.hash_key = hash_key

    def action(self, entity_type: str) -> Action:
        """The action for ``entity_type``."""
        return self.actions.get(entity_type, self.default)

    def tokens_only(self) -> bool:
        """Whether every type is redacted: :meth:`render` then always writes the placeholder, so
        the replacer can ask the numbering directly and skip a method call per span."""
        return self.default == "redact" and all(map("redact".__eq__, self.actions.values()))

    def render(self, span: Span, placeholders: Placeholders) -> str:
        """The text written in place of ``span``; a pseudonym is recorded in ``placeholders``."""
        action = self.actions.get(span.entity_type, self.default)  # self.action(), inlined: per span
        if action == "drop":
            return ""
        if action == "mask":
            return mask(span.value)
        if action == "hash":
            assert self.hash_key is not None  # checked in __init__
            return keyed_hash(self.hash_key, span.entity_type, span.key)
        token = placeholders.token(span)
        if action == "pseudonymize":
            placeholders.remember(token, span.value)
        return token
