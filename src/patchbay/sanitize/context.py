"""Context detectors: values the event already names, name cues, labelled fields, street addresses.

Free-text names are hard without NER, but tickets give strong hints: the reporter's name, email and
phone sit in structured fields (:func:`known_values`) and reappear in the description; greetings
and sign-offs ("Hi Ann,", "Thanks, Bob Lee") and labels ("Name:", "Address:") frame the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import phonenumbers

from patchbay.sanitize import prefilter
from patchbay.sanitize.scan import exact_triggers, fold, line_starts, lower, matches_at, triggers
from patchbay.sanitize.spans import Span, make_span

_NAME_WORD = r"(?:[A-Z]')?[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?"
_NAME = rf"{_NAME_WORD}(?:[ \t]+(?:[A-Z]\.[ \t]+)?{_NAME_WORD}){{0,2}}"
_TITLE = r"(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ \t]+)?"
# Capitalised words that follow "Hi" or "Thanks" but are not names.
_NOT_NAMES = frozenset(
    str.split(
        "team all everyone there support folks guys again in for the so much a lot and you your we our "
        "sir madam hello hi thanks regards best cheers sincerely please any anyone admin admins customer "
        "service sales billing devops ops it engineering helpdesk desk help good morning afternoon evening "
        "kind warm many advance update urgent issue ticket this that just also team's guys, jira"
    )
)
_GREETING_WORDS = ("Hi", "Hello", "Hey", "Dear", "Greetings", "Morning")
# A greeting opens a line or a sentence; that anchor is checked in Python (see _greeting_anchored)
# so the pattern can start at the greeting word, which str.find locates cheaply.
_GREETING = re.compile(rf"(?:{'|'.join(_GREETING_WORDS)})[ \t,]+{_TITLE}(?P<name>{_NAME})")
# What _greetings searches for: each word with a character _GREETING needs after it. "hi" alone
# occurs in "this" and "which" (~0.8 times a ticket), each a hyperscan callback and a test.
_GREETING_TRIGGERS = tuple(word + after for word in _GREETING_WORDS for after in " \t,")
_SIGN_OFF = re.compile(
    r"(?im)^[ \t]*(?:thanks(?: again| so much| a lot)?|thank you|many thanks|regards|best regards|"
    r"kind regards|warm regards|best|cheers|sincerely|yours(?: truly| sincerely)?|br|thx|rgds)"
    r"[ \t]*[,!.]?[ \t]*(?:\r?\n[ \t]*)?"
    rf"(?:[-\u2014\u2013]+[ \t]*)?(?-i:{_TITLE}(?P<name>{_NAME}))"
)
# Lower-case triggers for the keyword-led patterns: each match starts where one of them occurs.
_SELF_INTRO_TRIGGERS = ("my name", "i am", "i'm", "this is", "name is")
_MENTION_TRIGGERS = (
    "colleague", "coworker", "manager", "customer", "contact", "agent", "boss", "supervisor",
    "reporter", "behalf of", "assigned to", "cc ", "cc\t", "cc:", "spoke with", "talked to",
)  # fmt: skip
# ("cc" with the [ \t:] _MENTION needs after it: alone it occurs in "account", "access", "success".)
_ADDRESS_LABEL_TRIGGERS = (
    "addr", "street address", "shipping address", "billing address", "home address",
    "mailing address", "postal address", "ship to", "deliver to",
)  # fmt: skip
_SELF_INTRO = re.compile(
    rf"(?i)\b(?:my name is|my name's|i am|i'm|this is|name is)[ \t]+(?-i:{_TITLE}(?P<name>{_NAME}))"
    r"(?=[ \t]*(?:[,.;!]|\bfrom\b|\bat\b|\bhere\b|\band\b|$))"
)
_MENTION = re.compile(
    rf"\b(?:[Cc]olleague|[Cc]oworker|[Mm]anager|[Cc]ustomer|[Cc]ontact|[Aa]gent|[Bb]oss|[Ss]upervisor|"
    rf"[Rr]eporter|behalf of|[Aa]ssigned to|[Cc]c|[Cc]ontacted|[Ss]poke with|[Tt]alked to)[ \t:]+{_TITLE}"
    rf"(?P<name>{_NAME_WORD}[ \t]+{_NAME_WORD})\b"
)
_PERSON_LABEL = re.compile(
    r"(?im)^[ \t]*(?:name|full name|customer name|contact name|contact person|customer|reporter|requester|"
    r"caller|account holder|cardholder|card holder|patient|employee)[ \t]*[:=][ \t]*"
    rf"(?-i:{_TITLE}(?P<name>{_NAME}))"
)
_ADDRESS_LABEL = re.compile(
    r"(?i)\b(?:address|street address|shipping address|billing address|home address|mailing address|"
    r"postal address|addr\.?|ship to|deliver to)[ \t]*[:=][ \t]*(?P<address>[^\n]{5,120}"
    r"(?:\n[ \t]*[A-Z][A-Za-z .'-]{1,40},[ \t]*[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?)?)"
)
_SUFFIXES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|"
    "Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Crescent|Cres|Close|Row|Loop|Path|Pike|Plaza|"
    "Ridge|Run|Heights|Hts|Hills?|Park|Point|Pt|Ports?|Springs?|Station|Sta|Union|Valley|Vly|View|Villages?|"
    "Walk|Stream|Summit|Track|Alley|Aly|Arcade|Bend|Bluffs?|Bottom|Branch|Bridge|Brook|Burgs?|Bypass|Camp|"
    "Canyon|Cape|Causeway|Centers?|Ctr|Cliffs?|Club|Commons?|Corners?|Course|Courts|Cove|Coves|Creek|"
    "Crossing|Crossroad|Curve|Dale|Dam|Divide|Drives|Estates?|Expressway|Expy|Extensions?|Falls?|Ferry|"
    "Fields?|Flats?|Ford|Fords|Forest|Forge|Forks?|Fort|Freeway|Fwy|Gardens?|Gateway|Glens?|Greens?|"
    "Groves?|Harbors?|Haven|Inlet|Islands?|Isle|Junctions?|Keys?|Knolls?|Lakes?|Land|Landing|Light|Lights|"
    "Lock|Locks|Lodge|Manor|Manors|Meadows?|Mews|Mill|Mills|Mission|Motorway|Mount|Mountains?|Neck|"
    "Orchard|Oval|Overpass|Pass|Passage|Pines?|Plains?|Prairie|Radial|Ramp|Ranch|Rapids?|Rest|Roads|"
    "Route|Shoals?|Shores?|Skyway|Spur|Squares|Streets|Throughway|Trace|Trafficway|Tunnel|Turnpike|"
    "Underpass|Unions|Ville|Vista|Walks|Wall|Ways|Wells?|Gardens|Green|Hill|Quay|Wharf|Strasse|Stra\u00dfe|"
    "Points|Rivers?|Forges?|Loaf|Viaduct|Rue|Stravenue|Hollow|Via|Spurs|Shore|Fork|Mall|Stravenue|Harbour"
)
_ADDRESS = re.compile(
    # "\d(?<!\w\d)" is "\b\d" written to start with a character class, which the engine scans for
    # quickly instead of trying the pattern at every position.
    rf"\d(?<!\w\d)\d{{0,5}}[A-Za-z]?[ \t]+(?:[A-Z][A-Za-z.'-]*[ \t]+){{0,4}}(?:{_SUFFIXES})\b\.?"
    r"(?:,?[ \t]*(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Fl\.?|Floor|#)[ \t]*[\w-]{1,6})?"
    r"(?:,?[ \t]*\r?\n?[ \t]*[A-Z][A-Za-z.'-]+(?:[ \t][A-Z][A-Za-z.'-]+){0,3},[ \t]*"
    r"[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?)?"
)


# What _SIGN_OFF and _PERSON_LABEL can open with after "^[ \t]*" (lower-case, each alternative's
# first word or a prefix of it).
_SIGN_OFF_OPENERS = (
    "thank", "many thanks", "regards", "best", "kind regards", "warm regards", "cheers", "sincerely",
    "yours", "br", "thx", "rgds",
)  # fmt: skip
_LABEL_OPENERS = (
    "name", "full name", "customer", "contact", "reporter", "requester", "caller", "account holder",
    "card", "patient", "employee",
)  # fmt: skip


def _line_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Both openers' words after any spaces and tabs, at the text's start and after a newline,
    searched in the lower-cased text; group 1 is a sign-off's word, group 2 a label's. The second
    is literal-led, so the engine jumps from newline to newline. One pass serves both patterns:
    no word of one list is a prefix of a word of the other (a test holds them to that), so a line
    opens with words of at most one list."""
    words = (
        rf"(?:({'|'.join(map(re.escape, _SIGN_OFF_OPENERS))})|({'|'.join(map(re.escape, _LABEL_OPENERS))}))"
    )
    return re.compile(rf"[ \t]*{words}"), re.compile(rf"\n[ \t]*{words}")


_CUED_LINE_AT_START, _CUED_LINE = _line_patterns()


def _cued_lines(text: str) -> tuple[list[int], list[int]]:
    """The line starts where :data:`_SIGN_OFF`, and those where :data:`_PERSON_LABEL`, can match:
    after the line's spaces and tabs the lower-cased text opens with one of their words. Each
    pattern was tried at every line start (~8 a ticket, a case-insensitive alternation each);
    where :func:`~patchbay.sanitize.scan.fold` is None (a case-insensitive match could hide from
    ``lower()``) every line start is kept."""
    folded = fold(text)
    if folded is None:
        lines = line_starts(text)
        return lines, lines
    sign_offs: list[int] = []
    labels: list[int] = []
    first = _CUED_LINE_AT_START.match(folded)
    if first is not None:
        (sign_offs if first.lastindex == 1 else labels).append(0)
    for m in _CUED_LINE.finditer(folded):
        (sign_offs if m.lastindex == 1 else labels).append(m.start() + 1)
    return sign_offs, labels


def _trim_name(name: str) -> str:
    """``name`` without trailing words that are not part of it ("Ann Team" -> "Ann")."""
    words = name.split()
    while words and words[-1].lower().rstrip(".,") in _NOT_NAMES:
        words.pop()
    return " ".join(words)


def _greetings(text: str) -> Iterator[re.Match[str]]:
    """What ``(?m)(?:^|(?<=[.!?]\\s))[ \\t]*`` + :data:`_GREETING` finds with ``finditer``, trying the
    pattern only at greeting words (found with ``str.find``) that open a line or a sentence."""
    last_end = 0
    for at in exact_triggers(text, _GREETING_TRIGGERS):
        if at >= last_end and _greeting_anchored(text, at, last_end):
            m = _GREETING.match(text, at)
            if m is not None:
                yield m
                last_end = m.end()


def _greeting_anchored(text: str, at: int, floor: int) -> bool:
    """Whether some offset in ``[floor, at]`` followed only by spaces or tabs up to ``at`` is the
    start of the text or of a line, or follows ``[.!?]`` and a whitespace character."""
    pos = at
    while True:
        if (
            pos == 0
            or text[pos - 1] == "\n"
            or (pos >= 2 and text[pos - 1].isspace() and text[pos - 2] in ".!?")
        ):
            return True
        if pos <= floor or text[pos - 1] not in " \t":
            return False
        pos -= 1


class NameCueDetector:
    """Person names framed by cues: greetings, sign-offs, self-introductions, labels, role words."""

    entity_types: tuple[str, ...] = ("person",)

    def detect(self, text: str) -> Iterator[Span]:
        """Every cued name in ``text``."""
        intro_at = triggers(text, _SELF_INTRO_TRIGGERS)
        mention_at = triggers(text, _MENTION_TRIGGERS)
        if intro_at is None or mention_at is None:  # lower() shifts offsets: scan the whole text
            intro: Iterable[re.Match[str]] = _SELF_INTRO.finditer(text)
            mention: Iterable[re.Match[str]] = _MENTION.finditer(text)
        else:
            intro = matches_at(_SELF_INTRO, text, intro_at)
            mention = matches_at(_MENTION, text, mention_at)
        # Sign-offs and labels are "^"-led (MULTILINE): tried only where a line starts with a word
        # that can open them.
        sign_off_lines, label_lines = _cued_lines(text)
        for matches in (
            _greetings(text),
            matches_at(_SIGN_OFF, text, sign_off_lines),
            intro,
            matches_at(_PERSON_LABEL, text, label_lines),
            mention,
        ):
            for m in matches:
                start = m.start("name")
                name = _trim_name(m.group("name"))
                if not name or name.split()[0].lower() in _NOT_NAMES:
                    continue
                yield make_span((start, start + len(name), "person", name, None))


class AddressDetector:
    """Street addresses: a number, street words and a street suffix, with unit and "City, ST 12345";
    and whatever follows an ``Address:`` label on its line."""

    entity_types: tuple[str, ...] = ("address",)

    def detect(self, text: str) -> Iterator[Span]:
        """Every street address in ``text``."""
        starts = prefilter.starts(text, "address")
        for m in _ADDRESS.finditer(text) if starts is None else matches_at(_ADDRESS, text, starts):
            yield make_span((m.start(), m.end(), "address", m.group(), None))
        label_at = triggers(text, _ADDRESS_LABEL_TRIGGERS)
        labels = (
            _ADDRESS_LABEL.finditer(text) if label_at is None else matches_at(_ADDRESS_LABEL, text, label_at)
        )
        for m in labels:
            value = m.group("address").rstrip(" \t.;")
            start = m.start("address")
            if any(ch.isdigit() for ch in value) or "," in value:
                yield make_span((start, start + len(value), "address", value, None))


# Event keys whose string value is a person's name, email or phone, and parents under which a
# plain "name" is a person ("reporter": {"name": ...}) rather than an issue type or priority.
_NAME_KEYS = frozenset(
    {"displayname", "fullname", "customername", "reportername", "requestername", "contactname"}
)
_EMAIL_KEYS = frozenset({"email", "emailaddress", "mail", "contactemail", "customeremail"})
_PHONE_KEYS = frozenset({"phone", "phonenumber", "mobile", "mobilephone", "tel", "telephone", "contactphone"})
_PERSON_PARENTS = frozenset(
    {
        "reporter",
        "assignee",
        "creator",
        "requester",
        "user",
        "author",
        "customer",
        "contact",
        "submitter",
        "caller",
    }
)


_NON_DIGIT = re.compile(r"\D")


_NOT_LOWER = re.compile(r"[^a-z]")


def _norm_key(key: str) -> str:
    if key.isascii() and key.isalpha():  # "displayName", "emailAddress": nothing for the regex to drop
        return key.lower()
    return _NOT_LOWER.sub("", key.lower())


def known_values(event: Any) -> list[tuple[str, str]]:
    """``(entity_type, value)`` pairs named by the event's structured fields (the reporter's name,
    email and phone), found by key name anywhere in nested dicts and lists."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, parent: str) -> None:
        # A plain dict first: isinstance against the Mapping ABC is the slow way to say yes.
        if type(value) is dict or isinstance(value, Mapping):
            for key, item in value.items():
                # _norm_key's fast case inline (event keys are ASCII words): a call less per key.
                norm = (
                    key.lower()
                    if type(key) is str and key.isascii() and key.isalpha()
                    else _norm_key(str(key))
                )
                if isinstance(item, str) and item.strip():
                    if norm in _NAME_KEYS or (norm == "name" and parent in _PERSON_PARENTS):
                        found.append(("person", item.strip()))
                    elif norm in _EMAIL_KEYS and "@" in item:
                        found.append(("email", item.strip()))
                    elif norm in _PHONE_KEYS and sum(ch.isdigit() for ch in item) >= 7:
                        found.append(("phone", item.strip()))
                else:
                    walk(item, norm)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, parent)

    walk(event, "")
    return found


def _name_variants(name: str) -> list[tuple[str, bool]]:
    """Ways a name reappears, each with whether it must match case-sensitively (single words do:
    a first name like "Will" or "Mark" is also an everyday word)."""
    # str.split(): the words re.split(r"\s+") gave, without a regex call (both use str.isspace()).
    words = name.split()
    variants: list[tuple[str, bool]] = [(name, False)]
    if len(words) >= 2:
        first, last = words[0], words[-1]
        # "First Last" only when it is not the name itself (a two-word name): the same needle twice
        # found every hit twice, and the twin spans were identical, so resolution dropped one.
        if f"{first} {last}" != name:
            variants.append((f"{first} {last}", False))
        variants += [(f"{last}, {first}", False), (f"{first[0]}. {last}", False)]
        variants += [(w, True) for w in (first, last) if len(w) >= 3 and w[0].isupper()]
    return variants


class KnownValuesDetector:
    """Values the event names in structured fields, found again in free text, also in simple
    variants: a name's first or last name alone or "A. Smith"; a phone number with other separators."""

    entity_types: tuple[str, ...] = ("person", "email", "phone")

    def __init__(self, known: Iterable[tuple[str, str]]) -> None:
        # Names and emails are found with str.find on folded text (an event's values change every
        # run, so compiling regexes per event would cost more than the search); phones need a regex.
        self._literals: list[tuple[str, str, str, bool, str]] = []  # type, variant, lower-cased, ...
        self._patterns: list[tuple[str, re.Pattern[str], str]] = []
        for entity_type, value in known:
            if entity_type == "person":
                for variant, case_sensitive in _name_variants(value):
                    self._literals.append(("person", variant, variant.lower(), case_sensitive, value))
            elif entity_type == "email":
                self._literals.append(("email", value, value.lower(), False, _canonical("email", value)))
            elif entity_type == "phone":
                digits = _NON_DIGIT.sub("", value)[-10:]
                body = r"[\s().\-]{0,2}".join(digits)
                self._patterns.append(
                    (
                        "phone",
                        re.compile(rf"(?<!\d)(?:\+?\d{{1,3}}[\s.-]?)?{body}(?!\d)"),
                        _canonical("phone", value),
                    )
                )

    def detect(self, text: str) -> list[Span]:
        """Every reappearance of a known value in ``text``; the canonical form is the field's value
        (as the other detectors would write it, so both get the same token), worked out once in
        ``__init__``: parsing the phone field again for every reappearance cost more than the search.
        A list, not a generator: the sanitizer takes every span, and ~6 resumptions a ticket cost
        more than appending."""
        folded = lower(text)
        if len(folded) != len(text):  # a few characters change length when lower-cased ("İ")
            folded = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
        size = len(text)
        found: list[Span] = []
        for entity_type, variant, needle, case_sensitive, canonical in self._literals:
            start = folded.find(needle)
            length = len(needle)
            while start != -1:
                end = start + length
                # Boundaries first (most hits of a first name inside a longer word end here), the
                # slice only for a hit that passes them.
                if start:
                    before = text[start - 1]
                    if before.isalnum() or before in "._-@":
                        start = folded.find(needle, end)
                        continue
                if end == size or not (text[end].isalnum() or text[end] == "@"):
                    raw = text[start:end]
                    if not case_sensitive or raw == variant:
                        found.append(make_span((start, end, entity_type, raw, canonical)))
                start = folded.find(needle, end)
        for entity_type, pattern, canonical in self._patterns:
            found.extend(
                make_span((m.start(), m.end(), entity_type, m.group(), canonical))
                for m in pattern.finditer(text)
            )
        return found


def _canonical(entity_type: str, value: str) -> str:
    if entity_type == "email":
        return value.lower()
    if entity_type == "phone":
        try:
            number = phonenumbers.parse(value, "US")
        except phonenumbers.NumberParseException:
            return _NON_DIGIT.sub("", value)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return value
