"""Checked-pattern detectors: emails, phones, cards, URL credentials, and their hard negatives."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchbay.sanitize.detectors import (
    _CANDIDATE,
    _PHONE_WORDS,
    CardDetector,
    EmailDetector,
    PhoneDetector,
    UrlCredentialsDetector,
    _email_starts,
    _scheme_starts,
    card_issuer,
    luhn_valid,
)


def values(detector: object, text: str) -> list[str]:
    return [span.value for span in detector.detect(text)]  # type: ignore[attr-defined]


def test_emails_are_found_and_canonicalised_lower_case() -> None:
    spans = list(EmailDetector().detect("Mail Ann.Lee+jira@Example.co.uk, or ops@example.com."))
    assert [s.value for s in spans] == ["Ann.Lee+jira@Example.co.uk", "ops@example.com"]
    assert spans[0].canonical == "ann.lee+jira@example.co.uk"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +1 415-555-0132 today", "+1 415-555-0132"),
        ("call (415) 555-0132.", "(415) 555-0132"),
        ("reach me on 415.555.0132", "415.555.0132"),
        ("London office +44 20 7946 0958", "+44 20 7946 0958"),
        ("mobile: 4155550132", "4155550132"),
    ],
)
def test_phone_numbers_in_international_and_national_formats(text: str, expected: str) -> None:
    assert values(PhoneDetector("US"), text) == [expected]


def test_same_phone_written_two_ways_has_one_canonical_form() -> None:
    spans = list(PhoneDetector("US").detect("+1 415 555 0132 or (415) 555-0132"))
    assert {s.canonical for s in spans} == {"+14155550132"}


def test_region_hint_reads_national_numbers() -> None:
    assert values(PhoneDetector("GB"), "ring 020 7946 0958") == ["020 7946 0958"]
    # Another country's national format needs a phone word before it; without one it stays.
    assert values(PhoneDetector("US"), "ring 020 7946 0958") == ["020 7946 0958"]
    assert values(PhoneDetector("US"), "see 020 7946 0958") == []


@pytest.mark.parametrize(
    "text",
    [
        "upgraded to 2.14.1 and 10.4.12",
        "failed at 2024-01-11T13:08:03.317+0300",
        "on 01/11/2024 at 13:08",
        "see BBCOM-1398 and PROJ-1234",
        "order ORD-2024-000123 was charged",
        "host 192.168.100.200 and 36.160.14.148",
        "build 20240111.3, build #4567891, build 4155550132",
        "epoch 1704978483",
        "request 203db13e-70c7-462b-9a3d-bf32640cb0be",
        "price $1,299.99 or 1 299,00 EUR",
        "ticket 12345678901",
    ],
)
def test_phone_detector_ignores_ids_versions_dates_and_ips(text: str) -> None:
    assert values(PhoneDetector("US"), text) == []


@pytest.mark.parametrize(
    ("number", "issuer"),
    [
        ("4111 1111 1111 1111", "visa"),
        ("5555-5555-5555-4444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011 1111 1111 1117", "discover"),
        ("3530111333300000", "jcb"),
        ("36227206271667", "diners"),
    ],
)
def test_cards_of_each_issuer_are_found(number: str, issuer: str) -> None:
    assert values(CardDetector(), f"card {number} exp 12/27") == [number]
    assert card_issuer("".join(c for c in number if c.isdigit())) == issuer


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # fails Luhn
        "id 1234567812345670",  # passes Luhn, no issuer starts with 1
        "ORD-4111111111111111",  # glued to an id
        "4111-1111 1111-1111",  # mixed separators: not one number
        "timestamp 1704978483317",
    ],
)
def test_card_look_alikes_are_not_cards(text: str) -> None:
    assert values(CardDetector(), text) == []


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


def test_url_credentials_mask_the_whole_userinfo() -> None:
    text = "db at postgres://admin:p@ss:w0rd@db.internal:5432/app and https://ok.example.com/x?u=a@b.co"
    assert values(UrlCredentialsDetector(), text) == ["admin:p@ss:w0rd"]
    assert values(UrlCredentialsDetector(), "ssh://git@github.com/org/repo") == []


_PHONE_WORD_PIECES = [
    "phone", "PH", "Tel", "telephone", "Mobile", "mob", "cell", "CALL", "fax", "WhatsApp", "sms",
    "text", "contact", "reach", "dial", "ring", "number", "landline", "hotline", "during", "graph",
    "hotel", "\u017fms", "d\u0131al", "\u0130", "x", "_", "-", ":", " ", "\n", "  ", "1", "42",
]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_PHONE_WORD_PIECES), max_size=16).map("".join))
def test_the_phone_word_shortcut_agrees_with_the_pattern(before: str) -> None:
    """The lower-cased hint search only skips slices where _PHONE_WORDS cannot match."""
    text = before + "4155550132"
    start = len(before)
    expected = _PHONE_WORDS.search(text[max(0, start - 40) : start]) is not None
    assert PhoneDetector._has_phone_word(text, start) == expected


def _scheme_starts_by_definition(text: str) -> list[int]:
    """Every ASCII letter 2-21 characters before a "://" with no word character (str.isalnum() or
    "_") before it: the rule _scheme_starts computes with a regex, written as a plain loop."""
    starts: set[int] = set()
    sep = text.find("://")
    while sep != -1:
        for pos in range(max(0, sep - 21), sep - 1):
            before = text[pos - 1] if pos else ""
            if text[pos].isascii() and text[pos].isalpha() and not (before.isalnum() or before == "_"):
                starts.add(pos)
        sep = text.find("://", sep + 1)
    return sorted(starts)


_SCHEME_PIECES = [
    "://", "https", "git+ssh", "a", "Z", "_", "-", ".", "+", " ", "\n", "1", "\u00e9", "\u0661", "\u017f",
    ":", "/",
]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_SCHEME_PIECES), max_size=20).map("".join))
def test_scheme_starts_agree_with_the_rule(text: str) -> None:
    """The regex shortcut finds the same candidate scheme starts as the loop it replaced (Unicode
    letters and digits before a letter are word characters; so is "_")."""
    assert _scheme_starts(text) == _scheme_starts_by_definition(text)


def _luhn_by_definition(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


@given(st.text(alphabet="0123456789\u0663\u0966\uff11", max_size=25))
def test_luhn_equals_the_rule_by_definition(digits: str) -> None:
    # ASCII digits take the byte-sum path, others int() per digit: both must agree with the rule.
    assert luhn_valid(digits) == _luhn_by_definition(digits)


def _email_starts_by_regex(text: str) -> list[int]:
    local_part = re.compile(r"[A-Za-z0-9._%+-]+\Z")
    starts = []
    for at in (i for i, ch in enumerate(text) if ch == "@"):
        run = local_part.search(text, max(0, at - 65), at)
        if run is not None and run.start() > at - 65:
            starts.append(run.start())
    return starts


@settings(max_examples=500)
@given(
    st.lists(
        st.sampled_from(["@", "a", "Z", "9", ".", "_", "%", "+", "-", " ", "\u00e9", "x" * 30]), max_size=40
    )
)
def test_email_starts_equal_the_local_part_search(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert _email_starts(text) == _email_starts_by_regex(text)


def test_cards_with_unicode_digits_and_mixed_separators() -> None:
    arabic = "".join(chr(0x660 + int(d)) for d in "3530111333300000")  # a JCB test number
    assert [s.canonical for s in CardDetector().detect(f"card {arabic} ok")] == [arabic]
    assert values(CardDetector(), "4111-1111 1111-1111 and 4111 1111 1111 1111") == ["4111 1111 1111 1111"]


_BACKTRACKING_DIGITS = r"(?:[ .\-/()\u00a0]{0,2}\d){6,18}"
_BACKTRACKING_CANDIDATE = re.compile(
    rf"[+(\d](?:(?<=\+)\(?\d{_BACKTRACKING_DIGITS}|(?<=\()\d{_BACKTRACKING_DIGITS}"
    rf"|(?<=\b0)0\(?\d{_BACKTRACKING_DIGITS}|(?<=\d){_BACKTRACKING_DIGITS})"
)


@settings(max_examples=2000)
@given(
    st.lists(
        st.sampled_from([*"0123456789 .-/()+", "\u00a0", "\u0663", "a", "x", "  ", "00", "0044", "12345678"]),
        max_size=40,
    )
)
def test_candidate_pattern_equals_its_backtracking_form(pieces: list[str]) -> None:
    # _CANDIDATE's repeats are possessive; the plain greedy pattern must find the same windows.
    text = "".join(pieces)
    assert [m.span() for m in _CANDIDATE.finditer(text)] == [
        m.span() for m in _BACKTRACKING_CANDIDATE.finditer(text)
    ]
