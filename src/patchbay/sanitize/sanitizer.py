"""The sanitizer: run the detectors, drop allowed values, resolve overlaps, write placeholders."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from patchbay.sanitize.detectors import CardDetector, EmailDetector, PhoneDetector, UrlCredentialsDetector
from patchbay.sanitize.replace import Placeholders, replace
from patchbay.sanitize.secret_formats import SecretDetector
from patchbay.sanitize.spans import ENTITY_TYPES, Detector, Span, resolve


@dataclass(frozen=True)
class SanitizedText:
    """A text with its sensitive values replaced, and how many of each type were found."""

    text: str
    findings: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SanitizedData:
    """A JSON-like object with every string sanitized under one numbering, and the counts."""

    data: Any
    findings: dict[str, int] = field(default_factory=dict)


class Sanitizer:
    """Replaces emails, phone numbers, card numbers, secrets and URL credentials with placeholders.

    ``entities`` picks the types to look for (default: all of :data:`ENTITY_TYPES`). Values in
    ``allow`` (compared case-insensitively) and values fully matching one of ``allow_patterns`` are
    kept as they are, e.g. the support team's own address. Findings are counts; they never contain
    the values.
    """

    def __init__(
        self,
        *,
        entities: Iterable[str] | None = None,
        phone_region: str = "US",
        allow: Iterable[str] = (),
        allow_patterns: Iterable[str | re.Pattern[str]] = (),
        detectors: Sequence[Detector] | None = None,
    ) -> None:
        wanted = tuple(entities) if entities is not None else ENTITY_TYPES
        unknown = sorted(set(wanted) - set(ENTITY_TYPES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {', '.join(ENTITY_TYPES)}")
        self.entities = frozenset(wanted)
        self._allow = {value.casefold() for value in allow}
        self._allow_patterns = [re.compile(p) if isinstance(p, str) else p for p in allow_patterns]
        if detectors is None:
            detectors = [
                SecretDetector(),
                UrlCredentialsDetector(),
                CardDetector(),
                EmailDetector(),
                PhoneDetector(phone_region),
            ]
        # Skip detectors whose types are all switched off: phone parsing is the slowest layer.
        self.detectors = [d for d in detectors if self.entities & set(d.entity_types)]

    def allowed(self, value: str) -> bool:
        """Whether ``value`` is on the allow-list or fully matches an allowed pattern."""
        return value.casefold() in self._allow or any(p.fullmatch(value) for p in self._allow_patterns)

    def detect(self, text: str) -> list[Span]:
        """The spans that will be replaced in ``text``: enabled types, not allowed, no overlaps."""
        found: list[Span] = []
        for detector in self.detectors:
            found.extend(
                span
                for span in detector.detect(text)
                if span.entity_type in self.entities and not self.allowed(span.value)
            )
        return resolve(found)

    def sanitize_text(self, text: str, *, placeholders: Placeholders | None = None) -> SanitizedText:
        """``text`` with placeholders; pass ``placeholders`` to share one numbering across calls."""
        numbering = placeholders if placeholders is not None else self.numbering_for(text)
        spans = self.detect(text)
        return SanitizedText(replace(text, spans, numbering), dict(Counter(s.entity_type for s in spans)))

    def sanitize_data(self, obj: Any) -> SanitizedData:
        """Sanitize every string in nested dicts and lists, with ONE numbering for the whole object.

        Keys and non-string values are kept as they are.
        """
        numbering = Placeholders()
        for text in _strings(obj):
            numbering.reserve(text)
        counts: Counter[str] = Counter()

        def walk(value: Any) -> Any:
            if isinstance(value, str):
                result = self.sanitize_text(value, placeholders=numbering)
                counts.update(result.findings)
                return result.text
            if isinstance(value, dict):
                return {key: walk(item) for key, item in value.items()}
            if isinstance(value, list | tuple):
                return [walk(item) for item in value]
            return value

        return SanitizedData(walk(obj), dict(counts))

    @staticmethod
    def numbering_for(*texts: str) -> Placeholders:
        """A fresh numbering that skips placeholders already present in ``texts``.

        A ticket that literally contains ``<EMAIL_1>`` (or a prompt that already uses it) must not
        have a real address numbered ``<EMAIL_1>`` too.
        """
        numbering = Placeholders()
        for text in texts:
            numbering.reserve(text)
        return numbering


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _strings(item)
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from _strings(item)
