"""phone_rules.is_valid_number answers exactly as phonenumbers.is_valid_number does."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumber
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from patchbay.sanitize import phone_rules
from phone_examples import example_numbers

_CODES = sorted(COUNTRY_CODE_TO_REGION_CODE)


def _same(number: PhoneNumber) -> None:
    assert phone_rules.is_valid_number(number) == phonenumbers.is_valid_number(number), number


def test_examples_and_their_neighbours() -> None:
    """Valid numbers of every kind, and the same numbers with digits changed, cut or added."""
    rng = random.Random(5)
    for example in example_numbers():
        _same(example)
        nsn = str(example.national_number)
        for _ in range(20):
            digits = list(nsn)
            op = rng.random()
            if op < 0.5:
                digits[rng.randrange(len(digits))] = str(rng.randrange(10))
            elif op < 0.75 and len(digits) > 1:
                del digits[rng.randrange(len(digits))]
            else:
                digits.insert(rng.randrange(len(digits) + 1), str(rng.randrange(10)))
            _same(PhoneNumber(country_code=example.country_code, national_number=int("".join(digits))))
            # The same national number under another calling code (a NANPA number as +44, ...).
            other = rng.choice(_CODES)
            _same(PhoneNumber(country_code=other, national_number=int("".join(digits))))


def test_leading_zeros_and_unknown_codes() -> None:
    """Italian leading zeros reach the rules through the national significant number; calling
    codes no region has are invalid."""
    for code, nsn in ((39, "0612345678"), (39, "0212345678"), (225, "0701234567"), (242, "061234567")):
        number = phonenumbers.parse(f"+{code}{nsn}", None)
        _same(number)
    for code in (0, 28, 999, 3883):
        _same(PhoneNumber(country_code=code, national_number=2025550123))


@settings(max_examples=3000, deadline=None)
@given(code=st.sampled_from(_CODES), nsn=st.integers(min_value=0, max_value=10**17))
def test_random_numbers(code: int, nsn: int) -> None:
    _same(PhoneNumber(country_code=code, national_number=nsn))


@pytest.mark.parametrize("code", [1, 7, 44, 61, 262, 590, 599])
def test_shared_calling_codes(code: int) -> None:
    """Codes several regions share: the region is picked by leading digits or by the rules."""
    rng = random.Random(code)
    for _ in range(3000):
        length = rng.randint(6, 12)
        _same(PhoneNumber(country_code=code, national_number=rng.randrange(10 ** (length - 1), 10**length)))
