"""IBANs, SSNs, IP addresses and dates of birth: checked, not just shaped."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchbay.sanitize.identifiers import (
    IBAN_LENGTHS,
    DateOfBirthDetector,
    IbanDetector,
    IpDetector,
    SsnDetector,
    iban_valid,
)
from patchbay.sanitize.spans import Span


def values(spans: object) -> list[str]:
    return [s.value for s in spans]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "NO9386011117947",
        "ES9121000418450200051332",
    ],
)
def test_valid_ibans_per_country_are_found(iban: str) -> None:
    assert values(IbanDetector().detect(f"wire it to {iban} please")) == [iban]


@pytest.mark.parametrize(
    "text",
    [
        "DE89370400440532013001",  # checksum broken
        "DE8937040044053201300",  # wrong length for DE
        "XX89370400440532013000",  # no such country
    ],
)
def test_invalid_ibans_are_left(text: str) -> None:
    assert values(IbanDetector().detect(f"account {text}")) == []
    assert not iban_valid(text)


def test_ssn_rules() -> None:
    detector = SsnDetector()
    assert values(detector.detect("SSN 123-45-6789 and 123 45 6789")) == ["123-45-6789", "123 45 6789"]
    # Never-issued areas, groups and serials.
    for bad in ("000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000"):
        assert values(detector.detect(f"SSN {bad}")) == [], bad
    # Nine bare digits are an id unless an SSN cue says otherwise.
    assert values(detector.detect("order 123456789 shipped")) == []
    assert values(detector.detect("my social security number: 123456789")) == ["123456789"]


def test_ip_addresses_and_versions() -> None:
    detector = IpDetector()
    text = (
        "from 203.0.113.7 and 2001:db8::8a2e:370:7334, fe80::1%eth0; "
        "v10.2.0.1, build 4.3.2.1, 1.2.3.4.5, 999.1.1.1"
    )
    assert values(detector.detect(text)) == ["203.0.113.7", "2001:db8::8a2e:370:7334", "fe80::1%eth0"]
    # Times and C++ names are not IPv6.
    assert values(detector.detect("at 13:08:03 in std::vector and Foo::bar")) == []


def test_dates_of_birth_only_when_labelled() -> None:
    detector = DateOfBirthDetector()
    text = "DOB: 04/12/1987. Born on March 3, 1990. Deployed 2024-01-11. Date of birth 1979-02-28"
    assert values(detector.detect(text)) == ["04/12/1987", "March 3, 1990", "1979-02-28"]


def test_spans_slice_the_text_with_unicode_before_them() -> None:
    text = "Grüße aus München — 🙂 IBAN DE89 3704 0044 0532 0130 00, IP 198.51.100.23"
    spans: list[Span] = [*IbanDetector().detect(text), *IpDetector().detect(text)]
    assert [text[s.start : s.end] for s in spans] == [s.value for s in spans]
    assert len(spans) == 2


def _iban_valid_by_digits(iban: str) -> bool:
    """iban_valid as it was written before the lookup table: each character through int(ch, 36)."""
    compact = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


@settings(max_examples=1500, deadline=None)
@given(
    st.sampled_from(["DE", "GB", "de", "D\u0663"]),
    st.text(alphabet="0123456789ABCDEFXYZ abz\u0663_-", min_size=20, max_size=21),
)
def test_iban_checksum_by_table_equals_the_digit_by_digit_one(country: str, rest: str) -> None:
    for text in (country + rest, "DE89370400440532013000", "GB82WEST12345698765432"):
        try:
            expected: bool | type[Exception] = _iban_valid_by_digits(text)
        except ValueError:
            expected = ValueError
        try:
            got: bool | type[Exception] = iban_valid(text)
        except ValueError:
            got = ValueError
        assert got == expected
