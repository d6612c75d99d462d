"""Placeholders: typed, numbered, stable for a value, never clashing with numbers already in use."""

from __future__ import annotations

from patchbay.sanitize import PLACEHOLDER, Placeholders, Span
from patchbay.sanitize.replace import replace


def test_same_key_same_token_and_types_count_separately() -> None:
    numbering = Placeholders()
    a = numbering.token(Span(0, 1, "email", "A@x.io", canonical="a@x.io"))
    b = numbering.token(Span(0, 1, "email", "a@x.io", canonical="a@x.io"))
    c = numbering.token(Span(0, 1, "url_credentials", "u:p"))
    assert (a, b, c) == ("<EMAIL_1>", "<EMAIL_1>", "<URL_CREDENTIALS_1>")


def test_reserve_skips_numbers_already_used() -> None:
    numbering = Placeholders()
    numbering.reserve("see <EMAIL_3> and <URL_CREDENTIALS_2>")
    assert numbering.token(Span(0, 1, "email", "new@x.io")) == "<EMAIL_4>"
    assert numbering.token(Span(0, 1, "url_credentials", "a:b")) == "<URL_CREDENTIALS_3>"


def test_replace_writes_tokens_over_spans() -> None:
    text = "to a@x.io and b@x.io"
    spans = [Span(3, 9, "email", "a@x.io"), Span(14, 20, "email", "b@x.io")]
    assert replace(text, spans, Placeholders()) == "to <EMAIL_1> and <EMAIL_2>"
    assert PLACEHOLDER.fullmatch("<URL_CREDENTIALS_12>")
