"""The layer every detector shares: spans, the detector protocol, and overlap resolution.

A detector only finds things; it never edits text. The sanitizer collects every detector's spans,
resolves overlaps here, and hands the survivors to the replacer.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from functools import partial
from typing import NamedTuple, Protocol, runtime_checkable

ENTITY_TYPES: tuple[str, ...] = (
    "email",
    "phone",
    "card",
    "iban",
    "ssn",
    "ip",
    "dob",
    "secret",
    "url_credentials",
    "person",
    "address",
)
"""Entity types the built-in detectors report, also the names the ``sanitize`` step accepts."""

STRUCTURED_TYPES: tuple[str, ...] = (
    "email",
    "phone",
    "card",
    "iban",
    "ssn",
    "ip",
    "url_credentials",
    "secret",
)
"""Types found by checked patterns (no NER needed); the eval holds these to recall >= 0.99."""

# When spans overlap, the more specific kind wins first (a token inside a URL is a secret, not an
# email; a card inside a labelled address line is a card), then the longer span.
SPECIFICITY: dict[str, int] = {
    "secret": 60,
    "url_credentials": 55,
    "card": 50,
    "iban": 48,
    "ssn": 46,
    "email": 40,
    "ip": 35,
    "dob": 30,
    "phone": 25,
    "address": 15,
    "person": 10,
}


class Span(NamedTuple):
    """One sensitive value found in a text: ``text[start:end] == value``.

    ``canonical`` is the value's normal form (an E.164 phone number, a card's digits, a lower-cased
    address) so the same value written two ways gets the same placeholder. A named tuple, not a
    frozen dataclass: just as immutable, and building one costs less than half as much (a ticket
    yields ~14 spans, each built, filtered, sorted and replaced).
    """

    start: int
    end: int
    entity_type: str
    value: str
    canonical: str | None = None

    @property
    def key(self) -> str:
        """What identifies the value for numbering: its canonical form, else the value itself."""
        return self.canonical if self.canonical is not None else self.value


make_span: Callable[[tuple[int, int, str, str, str | None]], Span] = partial(tuple.__new__, Span)
"""``make_span((start, end, entity_type, value, canonical))`` is ``Span(start, end, entity_type,
value, canonical)``: the same named tuple, built by ``tuple.__new__`` directly. Calling the class
goes through ``type.__call__`` and the ``__new__`` that ``NamedTuple`` writes in Python, ~2k
instructions a span against ~1k here, for the ~13 spans of a ticket. All five fields are given
(``canonical`` None where there is none), so no default is filled in."""


@runtime_checkable
class Detector(Protocol):
    """Finds spans of one or more entity types in a text."""

    entity_types: tuple[str, ...]

    def detect(self, text: str) -> Iterable[Span]:
        """Every span this detector recognises in ``text`` (overlaps allowed)."""
        ...


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans, sorted by position: most specific, then longest, then earliest wins."""
    # (-specificity, -length, start) by tuple index with the dict's bound get: no attribute lookups
    # per span (a ticket has ~13), the same order. The keys are built in one comprehension and the
    # indices sorted by them (stable, so ties keep the input order as sorting the spans did): no
    # Python call per span for a key function.
    specificity = SPECIFICITY.get
    items = list(spans)
    keys = [(-specificity(s[2], 0), s[0] - s[1], s[0]) for s in items]
    # The kept spans never overlap, so sorted by start they are sorted by end too: a new span can
    # only collide with its two neighbours in that order, found by bisection.
    starts: list[int] = []
    taken: list[Span] = []
    for index in sorted(range(len(keys)), key=keys.__getitem__):
        span = items[index]
        start, end = span[0], span[1]
        if end <= start:
            continue
        i = bisect_right(starts, start)
        if (i and taken[i - 1][1] > start) or (i < len(starts) and starts[i] < end):
            continue
        starts.insert(i, start)
        taken.insert(i, span)
    return taken
