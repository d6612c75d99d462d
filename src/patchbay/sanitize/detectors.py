"""Checked-pattern detectors: email addresses, phone numbers, payment cards, credentials in URLs.

Each is a pattern plus a check that rules out look-alikes: phone numbers are parsed and validated
by ``phonenumbers`` (and bare digit runs need a phone word nearby, because ids and build numbers are
digit runs too); card numbers need a known issuer prefix, a matching length and a Luhn checksum.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers

from patchbay.sanitize import phone_parse, phone_rules, prefilter
from patchbay.sanitize.scan import matches_at
from patchbay.sanitize.spans import Span, make_span

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])"
)


_LOCAL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-"  # [A-Za-z0-9._%+-]


def _email_starts(text: str) -> list[int]:
    """Where an address can begin: the start of the run of local-part characters before each '@'
    (the lookbehind rules out any later start in that run); runs over 64 characters cannot match."""
    starts = []
    at = text.find("@")
    while at != -1:
        # Where re.compile(r"[A-Za-z0-9._%+-]+\Z").search(text, at - 65, at) would begin: the run
        # of local-part characters that ends at the '@', by stripping them from the right of the
        # window (one C call instead of a regex tried at every offset of the window).
        window = max(0, at - 65)
        start = window + len(text[window:at].rstrip(_LOCAL_CHARS))
        if at - 65 < start < at:
            starts.append(start)
        at = text.find("@", at + 1)
    return starts


class EmailDetector:
    """Email addresses (``name@example.com``); the canonical form is lower-cased."""

    entity_types: tuple[str, ...] = ("email",)

    def detect(self, text: str) -> Iterator[Span]:
        """Every address in ``text``."""
        for m in matches_at(_EMAIL, text, _email_starts(text)):
            yield make_span((m.start(), m.end(), "email", m.group(), m.group().lower()))


# Characters that glue a digit run to an identifier: "ORD-2024-000123", "build#1234", "v1.2".
_GLUE_BEFORE = set("-_/#.@:\\")
_GLUE_AFTER = set("-_/.@:\\")
_DATE_SHAPE = re.compile(r"(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b")
# Shapes that belong to another detector or to no one: IPv4, SSN (3-2-4), dd/mm/yyyy dates.
_NOT_PHONE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}|\d{3}-\d{2}-\d{4}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_PHONE_WORDS = re.compile(
    r"(?i)\b(?:phone|ph|tel|telephone|mobile|mob|cell|call|fax|whatsapp|sms|text|contact|reach|dial|ring|"
    r"number|landline|hotline)\b[^\n]{0,24}$"
)
# Every _PHONE_WORDS word, lower-cased, contains one of these ("phone" and "telephone" hold "ph"
# and "tel", "mobile" holds "mob"): a necessary condition for a match in an ASCII slice.
_PHONE_WORD_HINT = re.compile(
    r"ph|tel|mob|cell|call|fax|whatsapp|sms|text|contact|reach|dial|ring|number|landline|hotline"
)
# A cheap first pass: 7+ digits joined by at most two separators each. phonenumbers' matcher is
# precise but slow, so it only ever sees these short windows, never the whole text. Each repetition
# consumes a digit, so the pattern is linear in the input. It is "(?:\+|\b00)?\(?\d" + _DIGITS
# written to start with a character class (the engine then skips to candidates quickly instead of
# trying the pattern at every position), the first character picking the branch by lookbehind.
# Both repeats are possessive (they never give back what they took), which spares the engine
# the backtracking bookkeeping (~30% of the scan) and finds the same matches: the separators are
# no digits, so the only way an iteration succeeds is with every separator before its digit (up
# to two), and the groups then follow each other one way only; _DIGITS ends each branch, so
# giving back an iteration could only leave fewer than it matched. A test compares the two forms.
_DIGITS = r"(?:[ .\-/()\u00a0]{0,2}+\d){6,18}+"
_CANDIDATE = re.compile(
    rf"[+(\d](?:(?<=\+)\(?\d{_DIGITS}|(?<=\()\d{_DIGITS}|(?<=\b0)0\(?\d{_DIGITS}|(?<=\d){_DIGITS})"
)
# Regions tried for a national-format number that the region hint rejects, when a phone word
# ("call", "mobile", ...) says it is a phone number.
_FALLBACK_REGIONS = ("GB", "DE", "FR", "IN", "AU", "CA", "ES", "IT", "NL", "BR", "MX", "JP", "IE", "CH")


def _candidates(text: str) -> Iterator[re.Match[str]]:
    """``_CANDIDATE.finditer(text)``, searched only in the runs of phone characters that hold 7+
    digits (see :mod:`~patchbay.sanitize.prefilter`): a candidate cannot cross a run's ends, and
    the pattern has no lookahead that the cut-off ``endpos`` could change."""
    runs = prefilter.regions(text, "phone")
    if runs is None:
        yield from _CANDIDATE.finditer(text)
        return
    for start, end in runs:
        yield from _CANDIDATE.finditer(text, start, end)


class PhoneDetector:
    """Phone numbers in international (``+44 20 7946 0958``) and national formats for ``region``.

    A national number of another country is found too when a phone word comes shortly before it
    ("UK mobile 07700 900123"): it is tried against a list of common regions.
    """

    entity_types: tuple[str, ...] = ("phone",)

    def __init__(self, region: str = "US") -> None:
        self.region = region.upper()
        self._regions = (self.region, *_FALLBACK_REGIONS)  # built once, not per candidate

    def detect(self, text: str) -> Iterator[Span]:
        """Every valid phone number in ``text`` that does not look like an id, a date or a version."""
        for cand in _candidates(text):
            offset = cand.start()
            window = cand.group()
            if self._cheap_reject(text, offset, cand.end(), window):
                continue
            found = False
            for region in self._regions:
                if region != self.region and (
                    window.startswith("+") or not self._has_phone_word(text, offset)
                ):
                    break
                for span in self._match(text, window, offset, region):
                    found = True
                    yield span
                if found:
                    break

    def _match(self, text: str, window: str, offset: int, region: str) -> Iterator[Span]:
        # Fast path: the whole window is one number (the usual case); parsing it directly is
        # about 3x cheaper than running the matcher, which is kept for windows holding more.
        if not window.isdigit():
            # "+CC ..." windows (most of them) skip parse's generic steps: the same number.
            number = phone_parse.parse_plus(window, region) if window[0] == "+" else None
            if number is None:
                try:
                    number = phonenumbers.parse(window, region)
                except phonenumbers.NumberParseException:
                    number = None
            # phone_rules answers as phonenumbers.is_valid_number does, at about a third of the cost.
            if number is not None and phone_rules.is_valid_number(number):
                end = offset + len(window)
                if not self._looks_like_identifier(text, offset, end, window):
                    canonical = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    yield make_span((offset, end, "phone", window, canonical))
                return
        matcher = phonenumbers.PhoneNumberMatcher(window, region, leniency=phonenumbers.Leniency.VALID)
        for match in matcher:
            start, end, raw = offset + match.start, offset + match.end, match.raw_string
            if self._looks_like_identifier(text, start, end, raw):
                continue
            canonical = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            yield make_span((start, end, "phone", raw, canonical))

    @classmethod
    def _cheap_reject(cls, text: str, start: int, end: int, window: str) -> bool:
        """Candidates that cannot hold a phone number, ruled out before the (slow) parser sees them:
        ids glued to letters or '#', dates, and digit runs longer than E.164 allows."""
        # _glued on both sides, inlined: half of all candidates end here.
        if start:
            ch = text[start - 1]
            if ch.isalnum() or (
                ch in _GLUE_BEFORE and (ch == "#" or (start >= 2 and text[start - 2].isalnum()))
            ):
                return True
        if end < len(text):
            ch = text[end]
            if ch.isalnum() or (ch in _GLUE_AFTER and end + 1 < len(text) and text[end + 1].isalnum()):
                return True
        if window.isdigit():  # a bare run: no separator, so neither a date nor another shape below
            return len(window) > (17 if window.startswith("00") else 12) or not cls._has_phone_word(
                text, start
            )
        # Digits counted as the bytes a translate deletes when the window is ASCII (isdigit() is
        # 0-9 there): no Python-level call per character.
        if window.isascii():
            digits = len(window) - len(window.encode().translate(None, b"0123456789"))
        else:
            digits = sum(map(str.isdigit, window))
        international = window.startswith(("+", "00"))
        # A national number has at most 12 digits; 13+ without a country prefix is a card or an id.
        if digits > 17 or (digits > 12 and not international):
            return True
        if _DATE_SHAPE.match(window) or _NOT_PHONE.fullmatch(window):
            return True
        return window.isdigit() and not cls._has_phone_word(text, start)

    @staticmethod
    def _has_phone_word(text: str, start: int) -> bool:
        before = text[max(0, start - 40) : start]
        # _PHONE_WORDS is tried at every offset (a case-insensitive alternation after "\b": ~15k
        # instructions); in an ASCII slice it can only match where a lower-case phone word is,
        # which one plain, fast-scanning search over the lower-cased slice rules out first.
        if before.isascii() and _PHONE_WORD_HINT.search(before.lower()) is None:
            return False
        return _PHONE_WORDS.search(before) is not None

    @classmethod
    def _looks_like_identifier(cls, text: str, start: int, end: int, raw: str) -> bool:
        if _glued(text, start - 1, -1, _GLUE_BEFORE) or _glued(text, end, 1, _GLUE_AFTER):
            return True
        # A bare run of digits is as likely an order id or build number as a phone number: keep it
        # only when a phone word ("call", "tel", "mobile", ...) comes shortly before it.
        if _IPV4.fullmatch(raw):
            return True
        if raw.isdigit():
            return not cls._has_phone_word(text, start)
        return False


def _glued(text: str, index: int, step: int, glue: set[str]) -> bool:
    """Whether the character at ``index`` joins the match to a neighbouring word ("ORD-2024", "1.2")."""
    if not 0 <= index < len(text):
        return False
    ch = text[index]
    if ch.isalnum():
        return True
    if ch not in glue:
        return False
    if ch == "#":
        return True
    beyond = index + step
    return 0 <= beyond < len(text) and text[beyond].isalnum()


# 13-19 digits, optionally grouped by single spaces or dashes, not glued to other digits or words.
# ("\d(?<![\w-]\d)" is "(?<![\w-])\d" starting with a character class, which scans faster.)
_CARD = re.compile(r"\d(?<![\w-]\d)(?:[ -]?\d){12,18}(?![\w-])")


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum used by payment card numbers."""
    # From the right: every other digit as it is, the others doubled (minus 9 past 9).
    if digits.isascii() and digits.isdigit():  # 0-9 only (every card the detector finds)
        # Summing the bytes adds 48 + the digit per character, and translate doubles by table: the
        # same total as int() per digit, without a Python call per digit.
        doubled = digits[-2::-2].translate(_LUHN_DOUBLED_ASCII)
        total = sum(digits[::-2].encode()) + sum(doubled.encode()) - 48 * len(digits)
        return total % 10 == 0
    total = sum(map(int, digits[::-2])) + sum(_LUHN_DOUBLED[int(ch)] for ch in digits[-2::-2])
    return total % 10 == 0


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_LUHN_DOUBLED_ASCII = str.maketrans("0123456789", "".join(map(str, _LUHN_DOUBLED)))


def card_issuer(digits: str) -> str | None:
    """The issuer whose prefix and length rules ``digits`` meets, or None."""
    n = len(digits)
    two, three, four = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4" and n in {13, 16, 19}:
        return "visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "mastercard"
    if two in {34, 37} and n == 15:
        return "amex"
    if (four == 6011 or two == 65 or 644 <= three <= 649) and 16 <= n <= 19:
        return "discover"
    # JCB's assigned range is 3528-3589; the rest of 35xx is unassigned but common in test data
    # (Faker), and a Luhn-valid 16-digit 35... number in a ticket is a card either way.
    if two == 35 and 16 <= n <= 19:
        return "jcb"
    if two == 62 and 16 <= n <= 19:
        return "unionpay"
    if 2200 <= four <= 2204 and 16 <= n <= 19:
        return "mir"
    if (two == 50 or 56 <= two <= 58 or two in {63, 67}) and 12 <= n <= 19:
        return "maestro"
    if (two in {36, 38} or 300 <= three <= 305) and 14 <= n <= 19:
        return "diners"
    return None


class CardDetector:
    """Payment card numbers: a known issuer prefix and length, and a valid Luhn checksum."""

    entity_types: tuple[str, ...] = ("card",)

    def detect(self, text: str) -> Iterator[Span]:
        """Every card number in ``text``; the canonical form is the digits alone."""
        starts = prefilter.starts(text, "card")
        for m in _CARD.finditer(text) if starts is None else matches_at(_CARD, text, starts):
            raw = m.group()
            # _CARD matches digits (\d: every one isdigit()), spaces and dashes, so the separators
            # are those two, and the digits are what is left without them (no set of characters
            # built, no regex substitution).
            if " " in raw and "-" in raw:  # "4111-1111 1111-1111" is two numbers glued, not one card
                continue
            digits = raw.replace(" ", "").replace("-", "")
            if card_issuer(digits) and luhn_valid(digits):
                yield make_span((m.start(), m.end(), "card", raw, digits))


# scheme://user:password@host — the whole userinfo is the credential. The password part runs to the
# last '@' before the host, so passwords with a raw '@' in them are still covered.
_URL_USERINFO = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://([^\s/?#@:\"'<>]+:[^\s/?#\"'<>]+)@(?=[\w\[])")


def _scheme_starts(text: str) -> list[int]:
    """Where a ``scheme://`` can begin: a letter at a word boundary 2-21 characters before "://"."""
    sep = text.find("://")
    if sep == -1:
        return []
    starts: set[int] = set()
    while sep != -1:
        # An ASCII letter after a non-word character (or at 0): _SCHEME_LETTER, tried only in the
        # window; \b looks before the window (and sees the text's start) just as the loop did.
        starts.update(m.start() for m in _SCHEME_LETTER.finditer(text, max(0, sep - 21), sep - 1))
        sep = text.find("://", sep + 1)
    return sorted(starts)


# Where a scheme can begin: a word boundary before an ASCII letter. re's \w is str.isalnum() or "_",
# so \b before a letter means offset 0 or a character before it that is neither.
_SCHEME_LETTER = re.compile(r"\b[A-Za-z]")


class UrlCredentialsDetector:
    """Credentials in URLs: ``https://user:secret@host`` reports ``user:secret``."""

    entity_types: tuple[str, ...] = ("url_credentials",)

    def detect(self, text: str) -> Iterator[Span]:
        """Every ``user:password`` userinfo part of a URL in ``text``."""
        for m in matches_at(_URL_USERINFO, text, _scheme_starts(text)):
            yield make_span((m.start(1), m.end(1), "url_credentials", m.group(1), None))
