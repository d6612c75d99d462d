"""Restoring pseudonyms after a model rewrote the tokens."""

from __future__ import annotations

import pytest

from patchbay.sanitize import Sanitizer
from patchbay.sanitize.restore import restore

MAPPING = {"<PERSON_1>": "Ann Lee", "<EMAIL_1>": "ann@example.com", "<PERSON_12>": "Bo Chen"}


@pytest.mark.parametrize(
    ("model_wrote", "restored"),
    [
        ("<PERSON_1> reported it.", "Ann Lee reported it."),
        ("<PERSON_1>'s laptop fails.", "Ann Lee's laptop fails."),
        ("<Person_1> and <person_12> agree.", "Ann Lee and Bo Chen agree."),
        ("PERSON_1 wrote from [EMAIL_1].", "Ann Lee wrote from ann@example.com."),
        ("(PERSON 1) and {EMAIL-1}", "Ann Lee and ann@example.com"),
        ("&lt;PERSON_1&gt; asked", "Ann Lee asked"),
        ("<<PERSON_1>> asked", "Ann Lee asked"),
        ("< PERSON_1 > asked", "Ann Lee asked"),
    ],
)
def test_mangled_tokens_are_restored(model_wrote: str, restored: str) -> None:
    assert restore(model_wrote, MAPPING)[0] == restored


def test_missing_unknown_and_prose_tokens_are_left_alone() -> None:
    text = "Only <PERSON_7> and person 1 of 3 saw PERSON_12X; <PERSON_1> did not."
    out, count = restore(text, MAPPING)
    assert out == "Only <PERSON_7> and person 1 of 3 saw PERSON_12X; Ann Lee did not."
    assert count == 1
    # <PERSON_1> must not eat the start of <PERSON_12>.
    assert restore("<PERSON_12>", MAPPING)[0] == "Bo Chen"


def test_secrets_are_never_restored_even_if_mapped() -> None:
    out, count = restore(
        "key <SECRET_1>, creds <URL_CREDENTIALS_1>", {"<SECRET_1>": "x", "<URL_CREDENTIALS_1>": "y"}
    )
    assert out == "key <SECRET_1>, creds <URL_CREDENTIALS_1>" and count == 0


def test_round_trip_through_the_sanitizer() -> None:
    sanitizer = Sanitizer(
        actions={"email": "pseudonymize", "person": "pseudonymize", "secret": "pseudonymize"}
    )
    text = "Hi Ann Lee, reply to ann@example.com; token=hunter2hunter2"
    result = sanitizer.sanitize_text(text)
    assert result.text == "Hi <PERSON_1>, reply to <EMAIL_1>; token=<SECRET_1>"
    assert "<SECRET_1>" not in result.mapping  # a secret is redacted even when asked to pseudonymize
    answer = "<person_1> can't log in; write to [EMAIL_1]. Key <SECRET_1> was rotated."
    assert restore(answer, result.mapping)[0] == (
        "Ann Lee can't log in; write to ann@example.com. Key <SECRET_1> was rotated."
    )
