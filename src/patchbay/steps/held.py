"""The credentials Patchbay holds, matched by value: every resolved ``${secret:...}``, in the forms
a model or a log line could carry them (plain, base64, URL-encoded).

A token with no recognizable format passes every detector pattern, so the ``model`` step (before its
answer is checkpointed or recorded) and the ``postprocess`` step (before writing) mask these by value.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import quote

# Shorter values would mask ordinary words.
MIN_LENGTH = 8


def held_variants(secrets: Iterable[str]) -> tuple[str, ...]:
    """Each held secret of ``MIN_LENGTH``+ characters, plain, base64 and URL-encoded; longest first."""
    found: set[str] = set()
    for value in secrets:
        if len(value) < MIN_LENGTH:
            continue
        found.update({value, base64.b64encode(value.encode()).decode().rstrip("="), quote(value, safe="")})
    return tuple(sorted(found, key=len, reverse=True))


def mask_held(text: str, variants: tuple[str, ...]) -> tuple[str, int]:
    """``text`` with each variant replaced by ``<CREDENTIAL_n>``, and how many were replaced."""
    count = 0
    found = 0
    for value in variants:
        if value in text:
            found += 1
            count += text.count(value)
            text = text.replace(value, f"<CREDENTIAL_{found}>")
    return text, count
