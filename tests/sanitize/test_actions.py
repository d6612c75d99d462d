"""Actions: redact, mask, hash, pseudonymize, drop."""

from __future__ import annotations

import pytest

from patchbay.sanitize import Sanitizer
from patchbay.sanitize.actions import Policy, mask


def test_mask_keeps_the_last_four_and_the_separators() -> None:
    assert mask("4111-1111-1111-1111") == "****-****-****-1111"
    assert mask("DE89 3704 0044 0532 0130 00") == "**** **** **** **** **30 00"


def test_each_action_as_the_user_sees_it() -> None:
    text = "ann@example.com / 4111 1111 1111 1111 / +1 415-555-0132 / 203.0.113.7 / SSN 123-45-6789"
    s = Sanitizer(
        actions={"email": "hash", "card": "mask", "phone": "drop", "ip": "pseudonymize", "ssn": "redact"},
        hash_key=b"tenant",
    )
    result = s.sanitize_text(text)
    parts = result.text.split(" / ")
    assert parts[0].startswith("<EMAIL:") and len(parts[0]) == len("<EMAIL:") + 11
    assert parts[1:] == ["**** **** **** 1111", "", "<IP_1>", "SSN <SSN_1>"]
    assert result.mapping == {"<IP_1>": "203.0.113.7"}  # only pseudonyms are restorable


def test_hash_needs_a_key_and_unknown_actions_are_refused() -> None:
    with pytest.raises(ValueError, match="hash_key"):
        Policy({"email": "hash"})
    with pytest.raises(ValueError, match="unknown actions"):
        Policy({"email": "shred"})  # type: ignore[dict-item]


def test_tokens_only_shortcut_writes_what_render_writes() -> None:
    """With every type redacted the replacer asks the numbering directly (no ``render``); the
    shortcut is taken only then, and gives the same text as rendering each span."""
    from patchbay.sanitize.replace import Placeholders, replace

    text = "ann@example.com, +1 415-555-0132, again ann@example.com"
    spans = Sanitizer().detect(text)
    assert Policy().tokens_only() and Policy({"email": "redact"}).tokens_only()
    assert not Policy({"email": "mask"}).tokens_only() and not Policy(default="drop").tokens_only()
    assert replace(text, spans, Placeholders()) == replace(text, spans, Placeholders(), Policy().render)
    assert Sanitizer(actions={"email": "drop"}).sanitize_text(text).text == ", <PHONE_1>, again "
