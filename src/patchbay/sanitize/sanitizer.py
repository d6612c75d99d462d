"""The sanitizer: run the detectors, drop allowed values, resolve overlaps, apply each type's action."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from patchbay.sanitize.actions import Action, Policy
from patchbay.sanitize.context import AddressDetector, KnownValuesDetector, NameCueDetector
from patchbay.sanitize.detectors import CardDetector, EmailDetector, PhoneDetector, UrlCredentialsDetector
from patchbay.sanitize.identifiers import DateOfBirthDetector, IbanDetector, IpDetector, SsnDetector
from patchbay.sanitize.ner import SpacyNerDetector
from patchbay.sanitize.replace import Placeholders, replace
from patchbay.sanitize.scan import forget
from patchbay.sanitize.secret_formats import EntropyDetector, SecretDetector
from patchbay.sanitize.spans import ENTITY_TYPES, Detector, Span, resolve


@dataclass(frozen=True)
class SanitizedText:
    """A text with its sensitive values replaced, and how many of each type were found.

    ``mapping`` holds the pseudonyms handed out (token -> value): keep it out of logs.
    """

    text: str
    findings: dict[str, int] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class SanitizedData:
    """A JSON-like object with every string sanitized under one numbering, and the counts."""

    data: Any
    findings: dict[str, int] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict, repr=False)


def default_detectors(phone_region: str = "US") -> list[Detector]:
    """The built-in pattern and context layers, most specific first (NER is added separately)."""
    return [
        SecretDetector(),
        EntropyDetector(),
        UrlCredentialsDetector(),
        CardDetector(),
        IbanDetector(),
        SsnDetector(),
        EmailDetector(),
        IpDetector(),
        DateOfBirthDetector(),
        PhoneDetector(phone_region),
        AddressDetector(),
        NameCueDetector(),
    ]


class Sanitizer:
    """Finds emails, phones, cards, IBANs, SSNs, IPs, dates of birth, secrets, URL credentials,
    names and addresses, and replaces each as its type's action says.

    ``entities`` picks the types to look for (default: all of :data:`ENTITY_TYPES`). ``actions``
    maps a type to ``redact`` (the default for a bare ``Sanitizer()``), ``mask``, ``hash`` (needs
    ``hash_key``), ``pseudonymize`` or ``drop``. Values in ``allow`` (compared case-insensitively)
    and values fully matching one of ``allow_patterns`` are kept, e.g. the support team's own
    address. ``ner`` adds a :class:`~patchbay.sanitize.ner.SpacyNerDetector` (see
    :func:`~patchbay.sanitize.ner.load_ner`). Findings are counts; they never contain the values.
    """

    def __init__(
        self,
        *,
        entities: Iterable[str] | None = None,
        phone_region: str = "US",
        allow: Iterable[str] = (),
        allow_patterns: Iterable[str | re.Pattern[str]] = (),
        detectors: Sequence[Detector] | None = None,
        actions: Mapping[str, Action] | None = None,
        hash_key: bytes | None = None,
        ner: SpacyNerDetector | None = None,
    ) -> None:
        wanted = tuple(entities) if entities is not None else ENTITY_TYPES
        unknown = sorted(set(wanted) - set(ENTITY_TYPES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {', '.join(ENTITY_TYPES)}")
        self.entities = frozenset(wanted)
        self.policy = Policy(actions, hash_key=hash_key)
        self._allow = {value.casefold() for value in allow}
        self._allow_patterns = [re.compile(p) if isinstance(p, str) else p for p in allow_patterns]
        if detectors is None:
            detectors = default_detectors(phone_region)
        # Skip detectors whose types are all switched off: phone parsing is the slowest layer.
        self.detectors = [d for d in detectors if self.entities & set(d.entity_types)]
        # Per detector: whether its spans need the type filter (not when all its types are on).
        self._filtered = [not self.entities.issuperset(d.entity_types) for d in self.detectors]
        self._known_unfiltered = self.entities.issuperset(KnownValuesDetector.entity_types)
        self.ner = ner if ner is not None and "person" in self.entities else None

    def allowed(self, value: str) -> bool:
        """Whether ``value`` is on the allow-list or fully matches an allowed pattern."""
        if value.casefold() in self._allow:
            return True
        return bool(self._allow_patterns) and any(p.fullmatch(value) for p in self._allow_patterns)

    def detect(
        self, text: str, *, known: Iterable[tuple[str, str]] = (), extra: Iterable[Span] = ()
    ) -> list[Span]:
        """The spans that will be replaced in ``text``: enabled types, not allowed, no overlaps.

        ``known`` are ``(type, value)`` pairs from the event's structured fields (see
        :func:`~patchbay.sanitize.context.known_values`); ``extra`` are spans found elsewhere
        (a batched NER pass).
        """
        entities, allowed = self.entities, self.allowed
        found: list[Span] = [s for s in extra if s.entity_type in entities and not allowed(s.value)]
        # Collect first, filter once: one plain loop over every span is cheaper than a generator
        # per detector, and most detectors need no type filter.
        raw: list[Span] = []
        for detector, filtered in zip(self.detectors, self._filtered, strict=True):
            if filtered:
                raw.extend(s for s in detector.detect(text) if s.entity_type in entities)
            else:
                raw.extend(detector.detect(text))
        known = list(known)
        if known:
            spans = KnownValuesDetector(known).detect(text)
            raw.extend(spans if self._known_unfiltered else (s for s in spans if s.entity_type in entities))
        forget(text)
        if self._allow_patterns:
            found += [s for s in raw if not allowed(s.value)]
        elif self._allow:  # the usual case, inlined: a method call per span cost more than the set lookup
            allow = self._allow
            found += [s for s in raw if s.value.casefold() not in allow]
        else:
            found += raw
        if self.ner is not None and not extra:
            found.extend(s for s in self.ner.detect(text) if not self.allowed(s.value))
        return resolve(found)

    def detect_many(self, texts: Sequence[str], *, known: Iterable[tuple[str, str]] = ()) -> list[list[Span]]:
        """:meth:`detect` for each of ``texts``; NER, when on, runs over them as one batch."""
        known = list(known)
        ner_spans = self.ner.detect_many(texts) if self.ner is not None else [[] for _ in texts]
        return [self.detect(t, known=known, extra=ner) for t, ner in zip(texts, ner_spans, strict=True)]

    def sanitize_text(
        self,
        text: str,
        *,
        placeholders: Placeholders | None = None,
        known: Iterable[tuple[str, str]] = (),
        spans: list[Span] | None = None,
    ) -> SanitizedText:
        """``text`` with each found value replaced; pass ``placeholders`` to share one numbering
        (and pseudonym mapping) across calls, ``spans`` when they were already detected."""
        numbering = placeholders if placeholders is not None else self.numbering_for(text)
        found = spans if spans is not None else self.detect(text, known=known)
        policy = self.policy
        out = replace(text, found, numbering, None if policy.tokens_only() else policy.render)
        findings: dict[str, int] = {}
        for span in found:
            findings[span.entity_type] = findings.get(span.entity_type, 0) + 1
        return SanitizedText(out, findings, dict(numbering.mapping))

    def sanitize_data(self, obj: Any, *, known: Iterable[tuple[str, str]] = ()) -> SanitizedData:
        """Sanitize every string in nested dicts and lists, with ONE numbering for the whole object.

        Keys and non-string values are kept as they are.
        """
        strings = list(_strings(obj))
        numbering = self.numbering_for(*strings)
        detected = dict(zip(range(len(strings)), self.detect_many(strings, known=known), strict=True))
        counts: Counter[str] = Counter()
        index = 0

        def walk(value: Any) -> Any:
            nonlocal index
            if isinstance(value, str):
                result = self.sanitize_text(value, placeholders=numbering, spans=detected[index])
                index += 1
                counts.update(result.findings)
                return result.text
            if isinstance(value, dict):
                return {key: walk(item) for key, item in value.items()}
            if isinstance(value, list | tuple):
                return [walk(item) for item in value]
            return value

        data = walk(obj)
        return SanitizedData(data, dict(counts), dict(numbering.mapping))

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
