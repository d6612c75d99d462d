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
from collections.abc import Iterable, Iterator

import ahocorasick

# Characters that a case-insensitive pattern matches to an ASCII letter although lower() keeps them
# apart (long s U+017F matches "s", dotless i U+0131 matches "i"); such a text is scanned the slow way.
_FOLD_TRAPS = ("\u017f", "\u0131")


def fold(text: str) -> str | None:
    """``text`` lower-cased with the same offsets, or None where a trigger search in it could miss
    what a case-insensitive pattern finds: lower-casing changes the length (a few characters such
    as "İ" do) or the text holds a trap character. Callers then fall back to a full scan."""
    folded = text.lower()
    if len(folded) != len(text) or (not text.isascii() and any(ch in text for ch in _FOLD_TRAPS)):
        return None
    return folded


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
