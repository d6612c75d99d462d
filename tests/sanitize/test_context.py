"""Context layer: the event's own values, name cues, labelled fields, street addresses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patchbay.sanitize.context import (
    _LABEL_OPENERS,
    _PERSON_LABEL,
    _SIGN_OFF,
    _SIGN_OFF_OPENERS,
    AddressDetector,
    KnownValuesDetector,
    NameCueDetector,
    _cued_lines,
    known_values,
)
from patchbay.sanitize.scan import forget, matches_at


def values(spans: object) -> list[str]:
    return [s.value for s in spans]  # type: ignore[attr-defined]


def test_known_values_come_from_structured_fields_by_key_name() -> None:
    event = {
        "issue": {
            "fields": {
                "reporter": {"displayName": "Ann Marie Lee", "emailAddress": "ann@example.com"},
                "issuetype": {"name": "Bug"},  # a plain 'name' outside a person is not a person
                "customer": {"name": "Bo Chen", "phone": "+1 415 555 0132"},
            }
        }
    }
    assert sorted(known_values(event)) == [
        ("email", "ann@example.com"),
        ("person", "Ann Marie Lee"),
        ("person", "Bo Chen"),
        ("phone", "+1 415 555 0132"),
    ]


def test_known_names_reappear_in_simple_variants() -> None:
    detector = KnownValuesDetector([("person", "Ann Marie Lee"), ("email", "Ann@Example.com")])
    text = "ann marie lee wrote; Ann Lee again, A. Lee, Lee, Ann; Ann said. annual report. ANN@example.com"
    found = values(detector.detect(text))
    assert "ann marie lee" in found and "Ann Lee" in found and "A. Lee" in found and "Lee, Ann" in found
    assert "ANN@example.com" in found
    # A lone first name must be capitalised (so "annual" and lower-case words stay), whole words only.
    assert "ann" not in found


def test_name_cues() -> None:
    text = (
        "Hi Sarah,\nThe export fails. My name is Tom Baker and I run IT.\n"
        "Spoke with Priya Natarajan yesterday.\n"
        "Hi team, hello everyone.\nThanks,\nJohn O'Neil\n"
    )
    assert values(NameCueDetector().detect(text)) == ["Sarah", "John O'Neil", "Tom Baker", "Priya Natarajan"]


def test_street_addresses_and_address_labels() -> None:
    text = (
        "Ship to 4821 Oak Ridge Drive, Apt 5, Springfield, IL 62704 please.\n"
        "Address: Flat 3, 12 Rue Lepic, Paris\nVersion 2 Street View works; 10 Downing Street"
    )
    found = values(AddressDetector().detect(text))
    assert "4821 Oak Ridge Drive, Apt 5, Springfield, IL 62704" in found
    assert "Flat 3, 12 Rue Lepic, Paris" in found
    assert "10 Downing Street" in found


_CUE_PIECES = [
    "Thanks", "THANK YOU", "Many thanks", "best", "Kind Regards", "warm regards", "Cheers", "Sincerely",
    "Yours truly", "BR", "thx", "Rgds", "regards", "Name", "full name", "Customer Name", "contact person",
    "Reporter", "requester", "CALLER", "Account Holder", "cardholder", "Card holder", "Patient", "employee",
    "\u212aind regards", "\u017fincerely", "R\u0130", "\u0131", ",", ":", "=", " ", "\t", "\n", "\r\n",
    "Ann Lee", "Dr. Bo Chen", "x", "-", "\u2014",
]  # fmt: skip


_CUE_LINES = st.tuples(
    st.sampled_from(["", " ", "\t", "\n", "\n  "]),
    st.sampled_from(_CUE_PIECES[:27]),
    st.sampled_from([":", " = ", ",\n", "!", " "]),
    st.sampled_from(["Ann Lee", "Dr. Bo Chen", "ann"]),
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_CUE_PIECES), _CUE_LINES), max_size=10).map("".join))
def test_cued_lines_keep_every_sign_off_and_label_match(text: str) -> None:
    """Trying the "^"-led patterns only at the lines _cued_lines keeps finds what finditer finds
    (Kelvin sign, long s and dotted I included: those texts keep every line)."""
    sign_offs, labels = _cued_lines(text)
    forget(text)
    assert [m.span() for m in matches_at(_SIGN_OFF, text, sign_offs)] == [
        m.span() for m in _SIGN_OFF.finditer(text)
    ]
    assert [m.span() for m in matches_at(_PERSON_LABEL, text, labels)] == [
        m.span() for m in _PERSON_LABEL.finditer(text)
    ]


def test_name_words_split_where_the_regex_split() -> None:
    """_name_variants splits with str.split(), which must see the same whitespace as re's \\s."""
    import re
    import sys

    space = re.compile(r"\s")
    assert all((space.fullmatch(chr(c)) is not None) == chr(c).isspace() for c in range(sys.maxunicode + 1))
    name = "Ann\u00a0Marie\u2003 Lee\x1c Jr"
    assert name.split() == [w for w in re.split(r"\s+", name) if w]


def test_no_sign_off_word_and_label_word_open_the_same_line() -> None:
    """_cued_lines finds both kinds of line in one pass, which reports one kind per line: that is
    exact only while no word of one list is a prefix of a word of the other."""
    for sign_off in _SIGN_OFF_OPENERS:
        for label in _LABEL_OPENERS:
            assert not sign_off.startswith(label) and not label.startswith(sign_off), (sign_off, label)
