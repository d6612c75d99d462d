"""One hyperscan pass per text that tells the digit-led detectors where they can match.

Card numbers, SSNs, IPv4 addresses, IBANs, street addresses, random tokens and phone candidates
start with a character class and fail at a lookbehind on most digits; Python's engine still tries
each of them at every digit, 6-21 µs per pattern on a ticket. Hyperscan (Intel's SIMD matcher,
``pip install hyperscan``) finds all of them in one pass of ~10 µs, and the Python pattern then
runs only where a match can begin (:func:`starts`, for :func:`~patchbay.sanitize.scan.matches_at`)
or inside the runs of characters that can hold one (:func:`regions`, for ``finditer(text, a, b)``).
Without hyperscan both return None and the detectors scan the whole text: same findings, slower.
IPv6 addresses (whose pattern starts with a lookbehind) get a start pattern too, and the shared
trigger words of :mod:`~patchbay.sanitize.scan` are found in ASCII texts by a second, literal
database (:func:`literal_matches`). The random tokens' starts come from the same encoded text by
a byte translation and a substring search instead (:func:`_token_starts`: cheaper than their
hyperscan pattern, the costliest of them).

Why the findings cannot change: each hyperscan pattern here describes a SUPERSET of what its Python
pattern matches, and reports the one offset where such a match begins.

- Hyperscan matches bytes, so the text is encoded one byte per character: ASCII as itself, every
  other character as a byte that names its class in Python's ``re`` (``\\d``: a Unicode decimal
  digit; ``\\w``: any other alphanumeric; ``\\s``: whitespace; anything else). Offsets therefore
  equal ``str`` offsets, and ``\\d``, ``\\w``, ``\\s`` and their complements translate exactly.
- A lookbehind that rules out a character before the match (``(?<![\\w-])``) becomes a consumed
  context character that is anything but those, and the text is framed by a newline on each side
  (a newline passes every such lookbehind, as "no character" does), so a match of the Python
  pattern at ``p`` means a hyperscan match whose context character sits at ``p - 1``.
- Lookaheads, word boundaries, backreferences and the tails of the patterns are dropped (a shorter
  pattern matches more), and each hyperscan pattern is built so that the context character is the
  only possible start for a given end (the part after it is a fixed number of digits or groups
  bounded by characters the context class excludes), so hyperscan's leftmost start of match is it.

The test suite checks all of this against the plain scans on generated and mutated texts
(``tests/sanitize/test_prefilter.py``); ``PATCHBAY_NO_HYPERSCAN=1`` switches the prefilter off.
"""

from __future__ import annotations

import codecs
import importlib.util
import os
import threading
from typing import Any, NamedTuple

from patchbay.sanitize import scan

# Imported when the database is first built (the import alone is ~18 ms): a one-shot command that
# never builds it keeps its cold start.
hyperscan: Any = None
_installed = importlib.util.find_spec("hyperscan") is not None  # False: no wheel for this platform


def _load() -> Any:
    global hyperscan
    if hyperscan is None:
        import hyperscan as module

        hyperscan = module
    return hyperscan


# Bytes that stand for non-ASCII characters, by their class in Python's re (see the docstring).
_OTHER, _DIGIT, _WORD, _SPACE = b"\x80", b"\x81", b"\x82", b"\x83"


def _class_byte(ch: str) -> bytes:
    if ch.isdecimal():  # re's \d is Unicode category Nd, which is what isdecimal() tests
        return _DIGIT
    if ch.isalnum():  # re's \w: isalnum() or "_"
        return _WORD
    if ch.isspace():
        return _SPACE
    return _OTHER


def _classify(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return b"".join(map(_class_byte, chunk)), error.end


_ERRORS = "patchbay.sanitize.prefilter"
codecs.register_error(_ERRORS, _classify)


def encode(text: str) -> bytes:
    """``text`` as hyperscan sees it: one byte per character, framed by a newline on each side."""
    return ("\n" + text + "\n").encode("ascii", _ERRORS)


# Character classes in that encoding: re's \d, \w (with "_") and the bytes a non-ASCII character can be.
D = rb"[0-9\x81]"
W = rb"A-Za-z0-9_\x81\x82"
_HEX = rb"[0-9A-Fa-f]"


def _bytes_of(pattern: str) -> bytes:
    """A Python pattern's text as bytes, each non-ASCII literal replaced by its class byte."""
    return pattern.encode("ascii", _ERRORS)


class Prefilter(NamedTuple):
    """One hyperscan pattern: the detector ``name`` that asks for it, and how its report is read."""

    name: str
    expression: bytes
    width: int = 0
    """How a report gives the offset where a match can begin: 0, hyperscan's start of match (the
    context character's offset; tracking it costs hyperscan time); above 0, the pattern's fixed
    length, counted back from the end; -1 (:data:`RUN`), the report is the end of a run of phone
    characters; -2 (:data:`BACK`), the start of the last run of digits before the end (the street
    address pattern, see there)."""


RUN = -1
BACK = -2


def _street_suffixes() -> bytes:
    from patchbay.sanitize.context import _SUFFIXES  # context imports this module

    return _bytes_of(_SUFFIXES)


def prefilters() -> list[Prefilter]:
    """The patterns, one per detector that uses them; each comment names the Python pattern."""
    phone = rb"0-9\x81+()./ \-\x83"  # what a phone candidate consists of (\x83: U+00A0 and other spaces)
    ssn_middle = rb"(?:\-" + D + rb"{2}\-|" + D + rb"{2}| " + D + rb"{2} )"  # the same separator twice
    return [
        # detectors._CARD: \d(?<![\w-]\d)(?:[ -]?\d){12,18}(?![\w-]), cut to 13 digits.
        Prefilter("card", rb"[^" + W + rb"\-]" + D + rb"(?:[ \-]?" + D + rb"){12}"),
        # identifiers._SSN: (\d(?<![\w-]\d)\d{2})([- ]?)(\d{2})\2(\d{4})(?![\w-]): the backreference as
        # its three cases and the lookahead as a consumed character (the closing newline at the end).
        # Digit runs of 10+ and dashed ids no longer report (1.25 -> 0.34 a ticket): fewer callbacks.
        Prefilter("ssn", rb"[^" + W + rb"\-]" + D + rb"{3}" + ssn_middle + D + rb"{4}[^" + W + rb"\-]"),
        # identifiers._IPV4: \d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![\w]|\.\d), cut to one digit.
        Prefilter("ipv4", rb"[^" + W + rb".]" + D + rb"{1,3}\." + D + rb"{1,3}\." + D + rb"{1,3}\." + D),
        # identifiers._IBAN: [A-Z](?<!\w[A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}..., cut to two groups.
        Prefilter("iban", rb"[^" + W + rb"][A-Z]{2}" + D + rb"{2}(?: ?[A-Z0-9]{4}){2}"),
        # context._ADDRESS: \d(?<!\w\d)\d{0,5}[A-Za-z]?[ \t]+(?:[A-Z][A-Za-z.'-]*[ \t]+){0,4}(?:suffix),
        # cut after the suffix; no digit can occur between the number and the suffix. So a match
        # ending at a report began at the last run of digits before it: stripping the bytes that
        # can follow the number (_AFTER_NUMBER), then the digits, from the end finds the start that
        # hyperscan's start of match gave, which costs ~30k instructions a ticket to track.
        Prefilter(
            "address",
            rb"[^"
            + W
            + rb"]"
            + D
            + rb"{1,6}[A-Za-z]?[ \t]+(?:[A-Z][A-Za-z.'\-]*[ \t]+){0,4}(?:"
            + _street_suffixes()
            + rb")",
            width=BACK,
        ),
        # identifiers._IPV6: (?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}..., of which the detector keeps only
        # matches with "::" or seven colons: up to the first "::" (an empty group after 1-6 groups)
        # or the seventh colon. A hex run is word characters, so the context character (neither \w
        # nor ':') fixes the start. A dropped start's match was rejected, and no _IPV6 match holds
        # another possible start (the lookbehind fails inside it), so the kept matches are the same.
        # Times ("13:08:03") no longer report (0.58 -> 0.08 a ticket).
        Prefilter("ipv6", rb"[^" + W + rb":](?:(?:" + _HEX + rb"{0,4}:){1,6}:|(?:" + _HEX + rb"{0,4}:){7})"),
        # secret_formats._TOKEN is not here: see _token_starts (it was the costliest pattern).
        # detectors._CANDIDATE: 7+ digits among phone characters. A candidate lies inside one run of
        # them, so the report is the end of the run (the character after it); its start is found
        # in Python (hyperscan's start of match costs 3x the scan for this pattern).
        Prefilter(
            "phone", rb"[" + phone + rb"]*(?:" + D + rb"[" + phone + rb"]*){7}[^" + phone + rb"]", width=RUN
        ),
    ]


class Hits(NamedTuple):
    """What one pass found in a text: per pattern name, match starts or ``(start, end)`` runs."""

    starts: dict[str, list[int]]
    regions: dict[str, list[tuple[int, int]]]


_EMPTY_STARTS: list[int] = []
_EMPTY_REGIONS: list[tuple[int, int]] = []


class _Engine:
    """The compiled database (built on first use: ~0.1 s) and one scratch space per thread."""

    def __init__(self) -> None:
        hyperscan = _load()
        self.patterns = prefilters()
        self.database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.database.compile(
            expressions=[p.expression for p in self.patterns],
            ids=list(range(len(self.patterns))),
            elements=len(self.patterns),
            flags=[hyperscan.HS_FLAG_SOM_LEFTMOST if p.width == 0 else 0 for p in self.patterns],
        )
        self._names = [p.name for p in self.patterns]
        self._widths = [p.width for p in self.patterns]
        (self._runs_name,) = (p.name for p in self.patterns if p.width == RUN)  # one run pattern: phone
        self._local = threading.local()

    def scan(self, text: str) -> Hits:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:  # scans release the GIL: each thread needs its own scratch space
            scratch = self._local.scratch = hyperscan.Scratch(self.database)
        buffer = ("\n" + text + "\n").encode("ascii", _ERRORS)  # encode(), inlined
        found: list[tuple[int, int, int]] = []
        self.database.scan(buffer, match_event_handler=_collect, context=found, scratch=scratch)
        tokens = _token_starts(buffer)
        if not found:  # a third of the tickets: nothing to sort or group
            return Hits({"token": tokens}, {}) if tokens else _NO_HITS
        starts: dict[str, list[int]] = {"token": tokens} if tokens else {}
        runs: list[tuple[int, int]] = []
        names, widths = self._names, self._widths
        phone_mask = b""
        for pattern_id, start, end in found:
            width = widths[pattern_id]
            if width == BACK:
                # Every byte after the number up to the report's end is in _AFTER_NUMBER and the
                # byte before the number is no digit, so what is left after stripping both ends
                # with the context character: minus one, the length is its buffer offset, the
                # start of match hyperscan would give (and the number's text offset).
                start = len(buffer[:end].rstrip(_AFTER_NUMBER).rstrip(_DIGIT_BYTES)) - 1
                width = 0
            elif width < 0:
                # A run of phone characters closed by the character at buffer offset end - 1; it
                # opens after the last other character before that (the leading newline at worst).
                phone_mask = phone_mask or buffer.translate(_PHONE_MASK)
                runs.append((phone_mask.rfind(b"0", 0, end - 1), end - 2))
                continue
            # Buffer offsets are text offsets + 1 (the leading newline). A context character at
            # buffer offset `start` means a match can begin at text offset `start`.
            name = names[pattern_id]
            offsets = starts.get(name)
            if offsets is None:
                starts[name] = offsets = []
            offsets.append(start if width == 0 else end - width)
        for offsets in starts.values():
            offsets.sort()
        runs.sort()
        return Hits(starts, {self._runs_name: runs} if runs else {})


# The bytes the address pattern allows after its number (a letter, spaces and tabs, name words,
# the suffix, whose one non-ASCII letter is the \x82 class byte), and the bytes of D.
_AFTER_NUMBER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.'- \t\x82"
_DIGIT_BYTES = b"0123456789\x81"

_NO_HITS = Hits({}, {})
"""What a text without any report gets (shared: callers only read it)."""


def _token_starts(buffer: bytes) -> list[int]:
    """Where secret_formats._TOKEN, (?<![\\w/+.=-])[A-Za-z0-9_+/-]{24,512}..., can begin: what the
    hyperscan pattern [^\\w/+.=-][A-Za-z0-9_+/-]{24} reported, found without it. Each byte of the
    buffer becomes "a" (a token character), "x" (neither a token character nor a context one:
    the other \\w bytes, "." and "=") or " " (a context character), and the context character
    followed by 24 token characters is a plain substring search; its buffer offset is the text
    offset of the first token character. The next one can only start past those 24. This pattern
    was ~24k of the ~78k instructions hyperscan spent a ticket; the translation and the search
    take a fraction of that."""
    mask = buffer.translate(_TOKEN_MASK)
    found: list[int] = []
    at = mask.find(_TOKEN_START)
    while at != -1:
        found.append(at)
        at = mask.find(_TOKEN_START, at + 25)
    return found


_TOKEN_MASK = bytes(
    0x61 if byte in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+/-"
    else 0x78 if byte in b"\x81\x82.="
    else 0x20
    for byte in range(256)
)  # fmt: skip
_TOKEN_START = b" " + b"a" * 24


# Per byte of the encoding: b"1" for the phone characters of the pattern above, b"0" for the rest.
_PHONE_MASK = bytes(0x31 if byte in b"0123456789+()./ -\x81\x83" else 0x30 for byte in range(256))


def _collect(pattern_id: int, start: int, end: int, flags: int, found: list[tuple[int, int, int]]) -> None:
    found.append((pattern_id, start, end))


class _Literals:
    """The trigger words of :mod:`~patchbay.sanitize.scan` as one hyperscan database, for ASCII
    texts: a caseless literal match there is exactly a match in ``text.lower()`` (only A-Z change),
    and hyperscan finds ~100 words in a ticket for a fraction of an Aho-Corasick pass (~60k
    instructions per ticket). Words that are not lower-case ASCII can never occur in a lower-cased
    ASCII text and are left out."""

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = words
        ids = [i for i, word in enumerate(words) if word.isascii() and word == word.lower()]
        self.database: Any = None
        if ids:
            self.database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            self.database.compile(
                expressions=[b"".join(b"\\x%02x" % byte for byte in words[i].encode()) for i in ids],
                ids=ids,
                elements=len(ids),
                flags=[hyperscan.HS_FLAG_CASELESS] * len(ids),
            )
        self._local = threading.local()

    def scan(self, text: str) -> list[tuple[int, int, int]]:
        """``(word index, _, end)`` per occurrence in ``text`` (ASCII), ``end`` past the last character."""
        found: list[tuple[int, int, int]] = []
        if self.database is None:
            return found
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self.database)
        self.database.scan(text.encode("ascii"), match_event_handler=_collect, context=found, scratch=scratch)
        return found


_literals: _Literals | None = None


def literal_matches(text: str, words: tuple[str, ...]) -> list[tuple[int, int, int]] | None:
    """Every occurrence of ``words`` (lower-case) in ``text.lower()`` as ``(word index, _, end)``,
    or None: the text is not ASCII, or the prefilter is not in use (or not built yet, see
    :data:`WARM_AFTER`); the caller then runs its Aho-Corasick pass."""
    global _literals
    if _engine is None or _disabled or not text.isascii():
        return None
    literals = _literals
    if literals is None or literals.words is not words:
        with _building:
            literals = _literals
            if literals is None or literals.words is not words:
                literals = _literals = _Literals(words)
    return literals.scan(text)


_engine: _Engine | None = None
_building = threading.Lock()
_disabled = bool(os.environ.get("PATCHBAY_NO_HYPERSCAN"))
WARM_AFTER = 64
"""Texts a process sanitizes with plain scans before it builds the database (~0.1 s): a one-shot
command (``patchbay sanitize FILE``, ``patchbay run``) never pays for it and keeps its cold start;
a long-running process pays once (``patchbay serve`` and ``worker`` build it at start-up: :func:`warm`).
The findings are the same either way."""
_plain_scans = 0


def available() -> bool:
    """Whether the prefilter is in use (hyperscan installed, not switched off)."""
    return _installed and not _disabled


def set_enabled(enabled: bool) -> None:
    """Switch the prefilter on or off (tests compare both paths; off = plain scans everywhere)."""
    global _disabled
    _disabled = not enabled


def _get_engine() -> _Engine:
    global _engine
    engine = _engine
    if engine is None:
        with _building:
            if _engine is None:
                _engine = _Engine()
            engine = _engine
    return engine


def warm() -> bool:
    """Build the database now (server start-up, tests) instead of after :data:`WARM_AFTER` texts.
    False when the prefilter is not in use."""
    if not available():
        return False
    _get_engine()
    return True


def hits(text: str) -> Hits | None:
    """The prefilter's findings in ``text`` (one pass, kept with the text's shared index), or None
    without hyperscan (and for the first :data:`WARM_AFTER` texts of a process that did not warm it)."""
    global _plain_scans
    if not _installed or _disabled:
        return None
    engine = _engine
    if engine is None:
        if _plain_scans < WARM_AFTER:
            _plain_scans += 1  # a race here only moves the build by a text or two
            return None
        engine = _get_engine()
    index = scan.index_of(text)
    found = index.prefiltered
    if found is None:
        found = index.prefiltered = engine.scan(text)
    assert isinstance(found, Hits)
    return found


def starts(text: str, name: str) -> list[int] | None:
    """Sorted offsets in ``text`` where the ``name`` pattern can match, or None: scan all of it."""
    found = hits(text)
    return None if found is None else found.starts.get(name, _EMPTY_STARTS)


def regions(text: str, name: str) -> list[tuple[int, int]] | None:
    """Sorted ``(start, end)`` runs of ``text`` that hold every ``name`` match, or None: scan all of it."""
    found = hits(text)
    return None if found is None else found.regions.get(name, _EMPTY_REGIONS)
