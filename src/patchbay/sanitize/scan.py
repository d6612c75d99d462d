"""Scanning helpers that keep the detectors fast: cheap triggers first, full patterns only there.

Python's regex engine scans fast only when a pattern starts with a literal or a character class;
a pattern that starts with ``\\b``, a lookbehind or an optional group is tried at every position of
the text, which costs a few microseconds per pattern on a ticket. Most detectors therefore find
their trigger (a keyword, an ``@``, a ``://``) with ``str.find`` first and run the full pattern
only where one occurs, with :func:`matches_at`. The results equal ``pattern.finditer(text)``
as long as the trigger positions include every position a match can start at.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Iterator

import ahocorasick

from patchbay.sanitize import prefilter  # (prefilter imports this module too: used at call time only)

# Characters that a case-insensitive pattern matches to an ASCII letter although lower() keeps them
# apart (long s U+017F matches "s", dotless i U+0131 matches "i"); such a text is scanned the slow way.
_FOLD_TRAPS = ("\u017f", "\u0131")


def fold(text: str) -> str | None:
    """``text`` lower-cased with the same offsets, or None where a trigger search in it could miss
    what a case-insensitive pattern finds: lower-casing changes the length (a few characters such
    as "İ" do) or the text holds a trap character. Callers then fall back to a full scan."""
    return _index(text).folded


def lower(text: str) -> str:
    """``text.lower()``, worked out once per text however many detectors ask (see :func:`_index`)."""
    return _index(text).lowered


def triggers(text: str, needles: tuple[str, ...]) -> list[int] | None:
    """Sorted offsets in ``text`` where one of ``needles`` (lower-case) occurs in ``text.lower()``,
    or None where :func:`fold` is None (the caller then scans the whole text).

    Every needle set asked for is searched in ONE Aho-Corasick pass per text, shared by all
    detectors: a pass costs ~4 µs on a ticket, and there are half a dozen sets.
    """
    index = _index(text)
    if index.folded is None:
        return None
    hits = index.hits(needles)
    return _find_each(index.folded, needles) if hits is None else hits


def present(text: str, needles: tuple[str, ...]) -> frozenset[str]:
    """Those of ``needles`` (lower-case) that occur in ``text.lower()``."""
    index = _index(text)
    if index.run(needles) is None:
        return frozenset(needle for needle in needles if needle in index.lowered)
    # The same set as found.intersection(needles), which hashed every needle (the secret
    # catalogue has ~50 hints); & of two sets walks the smaller one, the few words found.
    return index.found & _as_set(needles)


_sets: dict[int, tuple[tuple[str, ...], frozenset[str]]] = {}


def _as_set(needles: tuple[str, ...]) -> frozenset[str]:
    """``frozenset(needles)``, kept per needle tuple (callers pass constants: found by identity)."""
    known = _sets.get(id(needles))
    if known is None or known[0] is not needles:
        if len(_sets) > 256:  # callers that build their tuples anew: no unbounded growth
            _sets.clear()
        known = _sets[id(needles)] = (needles, frozenset(needles))
    return known[1]


def exact_triggers(text: str, needles: tuple[str, ...]) -> list[int]:
    """Sorted offsets where one of ``needles`` occurs in ``text``, case-sensitively: the offsets
    of their lower-case forms in the shared pass that ``text`` has there too."""
    index = _index(text)
    if len(index.lowered) == len(text):  # one character for one: offsets agree
        hits = index.hits(_lower_all(needles))
        if hits is not None:
            return [at for at in hits if text.startswith(needles, at)]
    return find_all(text, needles)


@functools.lru_cache(maxsize=64)
def _lower_all(needles: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(needle.lower() for needle in needles)


class _Needles:
    """The needle sets searched so far, in one automaton; replaced whole when a set is added, so a
    reader always sees a consistent pair (sets, automaton)."""

    __slots__ = ("automaton", "by_object", "ids", "owners", "words")

    def __init__(self, ids: dict[tuple[str, ...], int]) -> None:
        self.ids = ids
        # The callers pass module constants: looking them up by identity skips hashing the tuple.
        self.by_object = {id(needles): (needles, set_id) for needles, set_id in ids.items()}
        self.automaton = ahocorasick.Automaton()
        owners: dict[str, list[int]] = {}
        for needles, set_id in ids.items():
            for needle in needles:
                owners.setdefault(needle, []).append(set_id)
        for needle, set_ids in owners.items():
            self.automaton.add_word(needle, (needle, tuple(set_ids)))
        if owners:
            self.automaton.make_automaton()
        # The same words by position, for the hyperscan pass (prefilter.literal_matches).
        self.words = tuple(owners)
        self.owners = [(needle, tuple(set_ids)) for needle, set_ids in owners.items()]


# More sets than this (custom secret formats by the hundred) are searched one pass per set.
_MAX_SETS = 64
_needles = _Needles({})
_register = threading.Lock()


def _set_id(needles: tuple[str, ...]) -> tuple[_Needles, int | None]:
    global _needles
    current = _needles
    known = current.by_object.get(id(needles))
    if known is not None and known[0] is needles:
        return current, known[1]
    set_id = current.ids.get(needles)
    if set_id is not None or not needles or not all(needles):
        return current, set_id
    with _register:
        current = _needles
        if needles not in current.ids and len(current.ids) < _MAX_SETS:
            _needles = current = _Needles({**current.ids, needles: len(current.ids)})
        return current, current.ids.get(needles)


class _Index:
    """What several detectors need from one text: its lower-cased form and trigger offsets."""

    __slots__ = ("folded", "found", "lowered", "needles", "prefiltered", "starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered = text.lower()
        self.folded: str | None = self.lowered
        if len(self.lowered) != len(text) or (not text.isascii() and any(ch in text for ch in _FOLD_TRAPS)):
            self.folded = None
        self.needles: _Needles | None = None
        self.starts: dict[int, set[int]] = {}
        self.found: frozenset[str] = frozenset()
        self.prefiltered: object = None  # prefilter.Hits, worked out by that module on first ask

    def hits(self, needles: tuple[str, ...]) -> list[int] | None:
        """Sorted offsets of ``needles`` in the lower-cased text; None for a set with no shared pass."""
        set_id = self.run(needles)
        return None if set_id is None else sorted(self.starts.get(set_id, ()))

    def run(self, needles: tuple[str, ...]) -> int | None:
        """The shared pass over the text, done once for all registered sets (``starts``, ``found``);
        the id of ``needles``' set, or None for a set with no shared pass. :func:`present` needs
        only ``found``, so it calls this rather than :meth:`hits`, which sorts the offsets."""
        # _set_id's usual case inline (a registered module constant): ~8 asks a ticket.
        registry = _needles
        known = registry.by_object.get(id(needles))
        if known is not None and known[0] is needles:
            set_id: int | None = known[1]
        else:
            registry, set_id = _set_id(needles)
        if set_id is None:
            return None
        if self.needles is not registry:  # first ask, or a set was added since: one pass for all
            starts: dict[int, set[int]] = {}
            found: set[str] = set()
            # An ASCII text goes through hyperscan when the prefilter is in use: the same
            # occurrences (ends one past the last character) for a fraction of the cost.
            matches = prefilter.literal_matches(self.text, registry.words) if registry.words else None
            if matches is None:
                for end, (needle, set_ids) in registry.automaton.iter(self.lowered):
                    found.add(needle)
                    for owner in set_ids:
                        starts.setdefault(owner, set()).add(end - len(needle) + 1)
            else:
                owners = registry.owners
                for word, _, end in matches:
                    needle, set_ids = owners[word]
                    found.add(needle)
                    for owner in set_ids:
                        starts.setdefault(owner, set()).add(end - len(needle))
            self.starts, self.found, self.needles = starts, frozenset(found), registry
        return set_id


_last: _Index | None = None


def _index(text: str) -> _Index:
    """The index of ``text``, kept for the last text only: the sanitizer runs its detectors one
    after another over the same string. (One shared slot, replaced whole, so threads at worst
    recompute it.)"""
    global _last
    last = _last
    if last is not None and last.text is text:
        return last
    _last = last = _Index(text)
    return last


index_of = _index
"""The shared per-text index (see :func:`_index`), for modules that keep their own results in it
(the same function: one call less per lookup, and the prefilter looks it up once per detector)."""


def forget(text: str) -> None:
    """Drop the index of ``text`` (the sanitizer calls this when done, so no ticket text lingers
    in the slot until the next one arrives)."""
    global _last
    if _last is not None and _last.text is text:
        _last = None


def find_all(haystack: str, needles: Iterable[str]) -> list[int]:
    """Sorted start offsets of every occurrence of each of ``needles`` in ``haystack``."""
    needles = tuple(needles)
    if not needles or not all(needles):  # an empty needle occurs everywhere; the automaton skips it
        return _find_each(haystack, needles)
    return sorted({end - length + 1 for end, length in _automaton(needles).iter(haystack)})


@functools.lru_cache(maxsize=64)
def _automaton(needles: tuple[str, ...]) -> ahocorasick.Automaton:
    """One Aho-Corasick automaton per needle set (they are module constants), built on first use:
    one pass over the text finds every needle, cheaper than a ``str.find`` loop per needle."""
    automaton = ahocorasick.Automaton()
    for needle in needles:
        automaton.add_word(needle, len(needle))
    if needles:
        automaton.make_automaton()
    return automaton


def _find_each(haystack: str, needles: tuple[str, ...]) -> list[int]:
    found: set[int] = set()
    for needle in needles:
        at = haystack.find(needle)
        while at != -1:
            found.add(at)
            at = haystack.find(needle, at + 1)
    return sorted(found)


def line_starts(text: str) -> list[int]:
    """Every offset where ``^`` matches under ``re.MULTILINE``: 0 and each one after a newline."""
    starts = [0]
    at = text.find("\n")
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def matches_at(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> Iterator[re.Match[str]]:
    """The matches ``pattern.finditer(text)`` finds, trying only at ``starts`` (sorted offsets).

    Equal to ``finditer`` when ``starts`` holds every offset a match can begin at: ``finditer``
    reports the first offset past the previous match where ``pattern.match`` succeeds, and
    ``match(text, pos)`` sees the text before ``pos`` (lookbehinds, ``\\b``, ``^`` after a
    newline) just as a search does. Patterns must not match the empty string.
    """
    last_end = 0
    for start in starts:
        if start < last_end:
            continue
        m = pattern.match(text, start)
        if m is not None:
            yield m
            last_end = m.end()
