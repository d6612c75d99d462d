"""Context layer: the event's own values, name cues, labelled fields, street addresses."""

from __future__ import annotations

from patchbay.sanitize.context import AddressDetector, KnownValuesDetector, NameCueDetector, known_values


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
