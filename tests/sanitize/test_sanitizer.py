"""The Sanitizer as a user meets it: typed numbered placeholders, allow-lists, one numbering per object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchbay.sanitize import ENTITY_TYPES, SanitizedText, Sanitizer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sanitize"


def test_each_type_gets_its_own_typed_placeholder() -> None:
    text = (
        "From ann@example.com, tel +1 415-555-0132, card 4111 1111 1111 1111, "
        "token ghp_" + "a1B2c3D4e5" * 3 + "F6g7H8, repo https://bob:hunter2@git.example.com/x"
    )
    result = Sanitizer().sanitize_text(text)
    assert result.text == (
        "From <EMAIL_1>, tel <PHONE_1>, card <CARD_1>, token <SECRET_1>, repo https://<URL_CREDENTIALS_1>@git.example.com/x"
    )
    assert result.findings == {"email": 1, "phone": 1, "card": 1, "secret": 1, "url_credentials": 1}


def test_same_value_same_placeholder_different_values_different_numbers() -> None:
    result = Sanitizer().sanitize_text(
        "ann@example.com wrote to bob@example.com; ANN@example.com again. "
        "Call (415) 555-0132 or +1 415 555 0132."
    )
    assert result.text == "<EMAIL_1> wrote to <EMAIL_2>; <EMAIL_1> again. Call <PHONE_1> or <PHONE_1>."
    assert result.findings == {"email": 3, "phone": 2}


def test_findings_never_contain_the_values() -> None:
    result = Sanitizer().sanitize_text("mail ann@example.com, card 4111111111111111")
    assert isinstance(result, SanitizedText)
    assert "ann@example.com" not in repr(result.findings)
    assert "4111" not in repr(result.findings)


def test_hard_negatives_are_left_alone() -> None:
    text = (
        "Upgraded to 2.14.1 at 2024-01-11T13:08:03.317+0300; see BBCOM-1398, request "
        "203db13e-70c7-462b-9a3d-bf32640cb0be, order ORD-2024-000123 for $1,299.99 (build 4567891). "
        "Card 4111 1111 1111 1112 was declined."
    )
    result = Sanitizer().sanitize_text(text)
    assert result.text == text
    assert result.findings == {}


def test_sanitize_data_uses_one_numbering_across_the_whole_object() -> None:
    data = {
        "title": "Refund for ann@example.com",
        "description": "Customer ann@example.com (alt: ann.lee@example.org) called from +1 415-555-0132",
        "comments": ["ann.lee@example.org says hi", {"body": "card 5555555555554444"}],
        "count": 3,
        "missing": None,
    }
    result = Sanitizer().sanitize_data(data)
    assert result.data == {
        "title": "Refund for <EMAIL_1>",
        "description": "Customer <EMAIL_1> (alt: <EMAIL_2>) called from <PHONE_1>",
        "comments": ["<EMAIL_2> says hi", {"body": "card <CARD_1>"}],
        "count": 3,
        "missing": None,
    }
    assert result.findings == {"email": 4, "phone": 1, "card": 1}
    assert data["title"] == "Refund for ann@example.com"  # the input is not modified


def test_placeholders_already_in_the_input_are_not_reused() -> None:
    result = Sanitizer().sanitize_data({"a": "literal <EMAIL_1> in the ticket", "b": "real: bob@example.com"})
    assert result.data == {"a": "literal <EMAIL_1> in the ticket", "b": "real: <EMAIL_2>"}


def test_allow_list_and_allow_patterns_keep_values() -> None:
    sanitizer = Sanitizer(allow=["Support@Example.com"], allow_patterns=[r".*@status\.example\.com"])
    result = sanitizer.sanitize_text("support@example.com, alerts@status.example.com, ann@example.com")
    assert result.text == "support@example.com, alerts@status.example.com, <EMAIL_1>"


def test_entities_pick_what_is_replaced() -> None:
    text = "ann@example.com +1 415-555-0132"
    assert Sanitizer(entities=["phone"]).sanitize_text(text).text == "ann@example.com <PHONE_1>"
    with pytest.raises(ValueError, match="unknown entity types"):
        Sanitizer(entities=["passport"])
    assert {"email", "phone", "card", "iban", "ssn", "ip", "secret", "url_credentials"} <= set(ENTITY_TYPES)


def test_presidio_sample_sentences() -> None:
    sample = json.loads((FIXTURES / "presidio_sample.json").read_text())
    for item in sample:
        found = sorted((s.entity_type, s.value) for s in Sanitizer().detect(item["text"]))
        expected = sorted((e["type"], e["value"]) for e in item["entities"])
        assert found == expected, item["text"]
