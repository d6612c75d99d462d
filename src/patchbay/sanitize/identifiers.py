"""Checked identifiers: IBANs, US social security numbers, IP addresses, labelled dates of birth.

Each pattern is followed by a check that shape alone cannot give: an IBAN must have its country's
length and a valid mod-97 checksum; an SSN must avoid the ranges the SSA never issues (and a bare
nine-digit run needs an "SSN" cue, since order ids are digit runs too); an IP address must parse
and not be part of a longer dotted version; a date counts as a date of birth only when labelled.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from patchbay.sanitize import prefilter
from patchbay.sanitize.scan import matches_at, present, triggers
from patchbay.sanitize.spans import Span, make_span

# Official IBAN lengths per country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

# Country code, check digits, then 11-30 letters/digits, optionally in groups of four.
_IBAN = re.compile(r"[A-Z](?<!\w[A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")


def iban_valid(iban: str) -> bool:
    """Whether ``iban`` (spaces allowed) has its country's length and a valid mod-97 checksum."""
    compact = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    if rearranged.isascii() and rearranged.isalnum():  # every candidate the pattern finds
        return int(rearranged.translate(_LETTER_VALUES)) % 97 == 1
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


# A=10 ... Z=35, as int(ch, 36) writes them; digits stay as they are (a table: no call per character;
# the digits are in it too, since translate raises and catches a KeyError for each one missing).
_LETTER_VALUES = {ord(letter): str(value) for value, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10)}
_LETTER_VALUES.update({ord(digit): digit for digit in "0123456789"})


class IbanDetector:
    """International bank account numbers, validated by country length and checksum."""

    entity_types: tuple[str, ...] = ("iban",)

    def detect(self, text: str) -> Iterator[Span]:
        """Every valid IBAN in ``text``; a trailing group that breaks the checksum is left out."""
        starts = prefilter.starts(text, "iban")
        for m in _IBAN.finditer(text) if starts is None else matches_at(_IBAN, text, starts):
            raw = m.group()
            # The last group may be a following word ("DE89 3704 ... 00 THEN"): try shorter cuts too.
            while raw:
                if iban_valid(raw):
                    compact = raw.replace(" ", "")
                    yield make_span((m.start(), m.start() + len(raw), "iban", raw, compact))
                    break
                cut = raw.rfind(" ")
                if cut <= 4:
                    break
                raw = raw[:cut]


# Lookbehinds sit after the first digit so that each pattern starts with a character class, which
# the regex engine scans for quickly instead of trying the pattern at every position.
_SSN = re.compile(r"(\d(?<![\w-]\d)\d{2})([- ]?)(\d{2})\2(\d{4})(?![\w-])")
_SSN_CUE = re.compile(r"(?i)\b(?:ssn|social security|soc\.? sec\.?|ss#|ss no|tax id|tin)\b[^\n]{0,20}$")


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """Whether the parts could be an issued SSN: no 000/666/9xx area, no 00 group, no 0000 serial."""
    return area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000"


class SsnDetector:
    """US social security numbers: ``123-45-6789``, ``123 45 6789``, or nine digits after an SSN cue."""

    entity_types: tuple[str, ...] = ("ssn",)

    def detect(self, text: str) -> Iterator[Span]:
        """Every plausible SSN in ``text``."""
        starts = prefilter.starts(text, "ssn")
        for m in _SSN.finditer(text) if starts is None else matches_at(_SSN, text, starts):
            area, sep, group, serial = m.groups()
            if not ssn_valid(area, group, serial):
                continue
            # Nine bare digits are usually an id; a cue word must say it is an SSN.
            if not sep and _SSN_CUE.search(text[max(0, m.start() - 40) : m.start()]) is None:
                continue
            yield make_span((m.start(), m.end(), "ssn", m.group(), area + group + serial))


_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")
# "version 10.2.0.1", "v1.2.3.4", "build 4.3.2.1": dotted versions that happen to fit an address.
_VERSION_CUE = re.compile(r"(?i)(?:\bv|\bversion|\bver\.?|\bbuild|\brelease|\bfirmware)[\s:#]*$")


class IpDetector:
    """IPv4 and IPv6 addresses, parsed by :mod:`ipaddress`; dotted version numbers are left alone."""

    entity_types: tuple[str, ...] = ("ip",)

    def detect(self, text: str) -> Iterator[Span]:
        """Every IPv4 or IPv6 address in ``text``."""
        starts = prefilter.starts(text, "ipv4")
        for m in _IPV4.finditer(text) if starts is None else matches_at(_IPV4, text, starts):
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            if _VERSION_CUE.search(text[max(0, m.start() - 12) : m.start()]):
                continue
            yield make_span((m.start(), m.end(), "ip", m.group(), None))
        # An address needs '::' or seven colons (see below): most texts with colons (times) have neither.
        if "::" not in text and text.count(":") < 7:
            return
        # Timestamps put 7+ colons in many tickets: the prefilter says where an address can begin.
        starts = prefilter.starts(text, "ipv6")
        for m in _IPV6.finditer(text) if starts is None else matches_at(_IPV6, text, starts):
            raw = m.group()
            # Times ("13:08:03") have no '::' and fewer than eight groups; C++ names have non-hex letters.
            if "::" not in raw and raw.count(":") < 7:
                continue
            if not any(ch.isdigit() for ch in raw) or raw.count(":") < 2:
                continue
            try:
                address = ipaddress.IPv6Address(raw.split("%", 1)[0])
            except ValueError:
                continue
            yield make_span((m.start(), m.end(), "ip", raw, str(address)))


_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:19|20)?\d{{2}}|(?:19|20)\d{{2}}[/.-]\d{{1,2}}[/.-]\d{{1,2}}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTH},? (?:19|20)\d{{2}}|"
    rf"{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? (?:19|20)\d{{2}})"
)
# Lower-case words every _DOB label begins with ("birth ?date" and "birthday" begin with "birth").
_DOB_LABELS = ("dob", "d.o.b", "date of birth", "birth", "born")
_DOB = re.compile(
    r"(?i)\b(?:dob|d\.o\.b\.?|date of birth|birth ?date|birthday|born(?: on)?)\b"
    rf"[\s:=-]{{0,3}}(?P<date>{_DATE})"
)


class DateOfBirthDetector:
    """Dates of birth, only where labelled ("DOB: 04/12/1987", "born on March 3, 1990")."""

    entity_types: tuple[str, ...] = ("dob",)

    def detect(self, text: str) -> Iterator[Span]:
        """Every labelled date of birth in ``text`` (the date only, not the label)."""
        if not present(text, _DOB_LABELS):
            return
        # _DOB starts with "\b": finditer would try it at every offset; a match begins at a label.
        label_at = triggers(text, _DOB_LABELS)
        labels = _DOB.finditer(text) if label_at is None else matches_at(_DOB, text, label_at)
        for m in labels:
            yield make_span((m.start("date"), m.end("date"), "dob", m.group("date"), None))
