"""The last layer: typed, numbered placeholders written over resolved spans.

The same value gets the same token within one numbering (``<EMAIL_1>`` everywhere the address
appears), so a model can still tell "the reporter" from "the other person". A numbering can skip
numbers already present in a text, so a new value never reuses a token that means something else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from patchbay.sanitize.spans import Span

PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]*?)_(\d+)>")
"""A placeholder in text: ``<EMAIL_1>``, ``<URL_CREDENTIALS_2>``."""


def label(entity_type: str) -> str:
    """The placeholder label of an entity type: ``url_credentials`` -> ``URL_CREDENTIALS``."""
    return entity_type.upper()


class Placeholders:
    """One numbering: hands out ``<TYPE_n>`` tokens, the same token for the same value."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], str] = {}
        self._counters: dict[str, int] = {}
        self.mapping: dict[str, str] = {}
        """Pseudonyms handed out: token -> the value as first seen. Keep it out of logs."""

    def remember(self, token: str, value: str) -> None:
        """Record that ``token`` stands for ``value`` (the first value seen for a token wins)."""
        self.mapping.setdefault(token, value)

    def reserve(self, text: str) -> None:
        """Skip every number already used by a placeholder in ``text``."""
        for match in PLACEHOLDER.finditer(text):
            name, number = match.group(1), int(match.group(2))
            self._counters[name] = max(self._counters.get(name, 0), number)

    def token(self, span: Span) -> str:
        """The placeholder for ``span``'s value, allocating the next number on first sight."""
        # span.key and label(), inlined: this runs for every replaced span.
        entity_type, canonical = span.entity_type, span.canonical
        key = (entity_type, canonical if canonical is not None else span.value)
        existing = self._tokens.get(key)
        if existing is not None:
            return existing
        name = entity_type.upper()
        number = self._counters.get(name, 0) + 1
        self._counters[name] = number
        token = f"<{name}_{number}>"
        self._tokens[key] = token
        return token


def replace(
    text: str,
    spans: Iterable[Span],
    placeholders: Placeholders,
    render: Callable[[Span, Placeholders], str] | None = None,
) -> str:
    """``text`` with every (non-overlapping, sorted) span replaced by its placeholder, or by what
    ``render`` writes for it (an action's output, see :class:`~patchbay.sanitize.actions.Policy`)."""
    parts: list[str] = []
    cursor = 0
    if render is None:  # every type redacted (the sanitizer's usual case): the numbering's token
        token = placeholders.token  # bound once, not per span
        for span in spans:
            parts.append(text[cursor : span.start])
            parts.append(token(span))
            cursor = span.end
    else:
        for span in spans:
            parts.append(text[cursor : span.start])
            parts.append(render(span, placeholders))
            cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)
