"""phone_parse.parse_plus returns exactly what phonenumbers.parse does, or None (then parse runs)."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumber, PhoneNumberFormat

from patchbay.sanitize import phone_parse
from patchbay.sanitize.detectors import _FALLBACK_REGIONS, PhoneDetector
from phone_examples import example_numbers

# The detector's regions, a region without metadata, None and the non-geographic entity.
_REGIONS = ("US", *_FALLBACK_REGIONS, "ZZ", None, "001", "us")
_SEPARATORS = " ().-/"


def _same(window: str, region: str | None) -> bool:
    """Whether parse_plus agrees with parse on ``window``; True when it answered (not None)."""
    fast = phone_parse.parse_plus(window, region)
    try:
        slow: PhoneNumber | None = phonenumbers.parse(window, region)
    except phonenumbers.NumberParseException:
        slow = None
    if fast is None:
        return False
    assert slow is not None, (window, region)
    assert fast == slow, (window, region, fast, slow)
    # __eq__ compares truthiness of italian_leading_zero; the field itself must match too.
    assert fast.italian_leading_zero == slow.italian_leading_zero, (window, region)
    return True


def test_example_numbers_as_written() -> None:
    """Every region's example numbers, as E.164 and international format, with other separators,
    with digits changed, cut or added: parse_plus answers for nearly all and agrees with parse."""
    rng = random.Random(3)
    answered = tried = 0
    for example in example_numbers():
        written = [
            phonenumbers.format_number(example, PhoneNumberFormat.E164),
            phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL),
        ]
        international = written[1]
        written.append("".join(rng.choice(_SEPARATORS) if ch == " " else ch for ch in international))
        for _ in range(6):
            chars = list(written[0])
            i = rng.randrange(1, len(chars) + 1)
            op = rng.random()
            if op < 0.4 and i < len(chars):
                chars[i] = str(rng.randrange(10))
            elif op < 0.7 and i < len(chars) and len(chars) > 3:
                del chars[i]
            else:
                chars.insert(i, str(rng.randrange(10)))
            written.append("".join(chars))
        for window in written:
            for region in _REGIONS:
                if phone_parse._PLUS_WINDOW.fullmatch(window):
                    tried += 1
                    answered += _same(window, region)
    assert tried > 5000
    assert answered > 0.9 * tried


def test_windows_it_leaves_to_parse() -> None:
    """Other shapes, and the cases where parse raises or retries, are not answered."""
    for window in (
        "(201) 555-0123",  # no plus sign
        "+0044 20 7946 0958",  # a leading 0 is no calling code: parse retries without the plus
        "+999 1234 5678",  # no such calling code
        "+1 201 555 0123 ext. 4",  # an extension
        "+1 201 555 0123 x4",
        "+1 201 555 0123-",  # ends in a separator
        "+1\u00a0201\u00a0555\u00a00123",  # a non-ASCII separator
        "+\u0661\u0662\u0660\u0661\u0665\u0665\u0665\u0660\u0661\u0662\u0663",  # Arabic-Indic digits
        "+12",  # too short after the plus sign
        "+44 1",  # too short a national number
        "+1 234567890123456789",  # too long
        "++1 201 555 0123",
        "+" + "1" * 260,
    ):
        assert phone_parse.parse_plus(window, "US") is None, window


@settings(max_examples=4000, deadline=None)
@given(
    body=st.lists(
        st.one_of(
            st.sampled_from("0123456789"),
            st.sampled_from(list(_SEPARATORS)),
            st.sampled_from(["1", "44", "39", "7", "33", "49", "61", "81", "52", "55", "262", "800", "979"]),
        ),
        min_size=1,
        max_size=30,
    ),
    last=st.sampled_from("0123456789"),
    region=st.sampled_from(_REGIONS),
)
def test_random_windows(body: list[str], last: str, region: str | None) -> None:
    _same("+" + "".join(body) + last, region)


@settings(max_examples=2000, deadline=None)
@given(
    code=st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    national=st.text(alphabet="0123456789", min_size=1, max_size=18),
    region=st.sampled_from(_REGIONS),
)
def test_every_calling_code(code: int, national: str, region: str | None) -> None:
    """National prefixes (0, 8, ...), Italian leading zeros and carrier codes under every code."""
    _same(f"+{code}{national}", region)
    _same(f"+{code} {national}", region)


def test_without_phonenumbers_private_steps_the_detector_falls_back_to_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A phonenumbers release that renames the private helpers turns the shortcut off: same
    findings through parse, no import error. (The installed release has them.)"""
    assert phone_parse.AVAILABLE, "the installed phonenumbers lacks the helpers parse_plus uses"
    text = "Call +44 20 7946 0958 or +1 415-555-0132, ref +12."
    before = list(PhoneDetector("US").detect(text))
    monkeypatch.setattr(phone_parse, "AVAILABLE", False)
    assert phone_parse.parse_plus("+44 20 7946 0958", "US") is None
    assert list(PhoneDetector("US").detect(text)) == before
    assert len(before) == 2
