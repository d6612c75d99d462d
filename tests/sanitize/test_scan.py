"""The trigger-first scanning helpers give exactly what a full regex scan gives."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchbay.sanitize import scan
from patchbay.sanitize.context import (
    _MENTION,
    _MENTION_TRIGGERS,
    _NAME,
    _PERSON_LABEL,
    _SIGN_OFF,
    _TITLE,
    AddressDetector,
    NameCueDetector,
    _greetings,
)
from patchbay.sanitize.detectors import EmailDetector, UrlCredentialsDetector
from patchbay.sanitize.identifiers import _DOB, DateOfBirthDetector
from patchbay.sanitize.scan import exact_triggers, find_all, fold, line_starts, matches_at, present, triggers
from patchbay.sanitize.secret_formats import _TOKEN, EntropyDetector, SecretDetector, looks_random

WORD = re.compile(r"(?<![\w-])ab+c")


def test_matches_at_equals_finditer_when_starts_cover_every_match() -> None:
    text = "abc xabc ab abbbc-abc abc"
    expected = [m.span() for m in WORD.finditer(text)]
    starts = find_all(text, ["ab"])
    assert [m.span() for m in matches_at(WORD, text, starts)] == expected
    # Offsets inside an earlier match are skipped, as finditer skips them.
    assert [m.span() for m in matches_at(re.compile(r"a.."), "aaaaaa", range(6))] == [(0, 3), (3, 6)]


def test_find_all_reports_each_offset_once_in_order() -> None:
    assert find_all("token tok", ["tok", "token", "ok"]) == [0, 1, 6, 7]


def test_fold_refuses_texts_where_offsets_or_case_insensitive_matches_would_differ() -> None:
    assert fold("Hello") == "hello"
    assert fold("\u0130stanbul") is None  # lower() makes two characters of one
    assert fold("pa\u017fsword") is None  # long s matches "s" in a case-insensitive pattern
    assert fold("\u0131 am") is None


def test_case_insensitive_keywords_are_still_found_through_the_fallback() -> None:
    # "(?i)this is" matches a long s; the trigger search would miss it, the fallback does not.
    assert [s.value for s in NameCueDetector().detect("Hello, thi\u017f i\u017f Ann Lee.")] == ["Ann Lee"]
    assert [s.value for s in NameCueDetector().detect("My name is Ann Lee. \u0130")] == ["Ann Lee"]


def test_triggered_detectors_find_what_they_found_before() -> None:
    text = (
        "Hi there.  Hello Ann Lee, my colleague Bob Stone wrote. "
        "Street address: 12 Oak Street, Austin, TX 78701\n"
        "a.b.c_password=s3cret! mail ann.lee@example.com or x@y; https://bob:pw@host.example/x"
    )
    assert [s.value for s in NameCueDetector().detect(text)] == ["Ann Lee", "Bob Stone"]
    assert [s.value for s in AddressDetector().detect(text)][:1] == ["12 Oak Street, Austin, TX 78701"]
    # (pw@host.example is an email too; the URL credential wins the overlap in the sanitizer)
    assert [s.value for s in EmailDetector().detect(text)] == ["ann.lee@example.com", "pw@host.example"]
    assert [s.value for s in UrlCredentialsDetector().detect(text)] == ["bob:pw"]
    assert "s3cret!" in [s.value for s in SecretDetector().detect(text)]


ANCHORED_GREETING = re.compile(
    rf"(?m)(?:^|(?<=[.!?]\s))[ \t]*(?:Hi|Hello|Hey|Dear|Greetings|Morning)[ \t,]+{_TITLE}(?P<name>{_NAME})"
)


_GREETING_PIECES = [
    "Hi", "Hello", "Dear", " ", "\t", "\n", ".", "!", ",", "Ann", "Bob", "Lee", "x", "this", "HI", "s",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_GREETING_PIECES)))
def test_greetings_found_from_the_greeting_word_equal_the_anchored_pattern(parts: list[str]) -> None:
    text = "".join(parts)
    expected = [(m.start("name"), m.group("name")) for m in ANCHORED_GREETING.finditer(text)]
    assert [(m.start("name"), m.group("name")) for m in _greetings(text)] == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["\n", " ", "\t", "Thanks,", "Name:", "Ann", "Lee", "x", "\r", "Best"])))
def test_line_led_patterns_tried_at_line_starts_equal_finditer(parts: list[str]) -> None:
    text = "".join(parts)
    for pattern in (_SIGN_OFF, _PERSON_LABEL):
        expected = [m.span() for m in pattern.finditer(text)]
        assert [m.span() for m in matches_at(pattern, text, line_starts(text))] == expected


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="abk\u212a\U0001f600 ", max_size=40), st.lists(st.sampled_from(["ab", "b", "k", "bab"]))
)
def test_find_all_equals_a_find_loop_per_needle(text: str, needles: list[str]) -> None:
    expected = sorted({i for n in needles for i in range(len(text)) if text.startswith(n, i)})
    assert find_all(text, needles) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["aB3dE5gH7jK9mN1pQ3sT5vW7", "x", "-", "/", "=", " ", ".", "\u00e9", "9"])))
def test_entropy_tokens_found_from_runs_equal_the_full_scan(parts: list[str]) -> None:
    text = "".join(parts)
    assert [(s.start, s.end) for s in EntropyDetector().detect(text)] == [
        m.span() for m in _TOKEN.finditer(text) if looks_random(m.group())
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["DOB", "dob:", "born on", "Birthday", "birth date", "d.o.b.", " ", "3/4/1990", "x"])
    )
)
def test_dates_of_birth_found_from_labels_equal_the_full_scan(parts: list[str]) -> None:
    text = "".join(parts)
    expected = [(m.start("date"), m.end("date")) for m in _DOB.finditer(text)]
    assert [(s.start, s.end) for s in DateOfBirthDetector().detect(text)] == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abHhiI\u0130\u017f ", max_size=40))
def test_the_shared_trigger_pass_equals_a_search_per_needle_set(text: str) -> None:
    folded = fold(text)
    for needles in (("ab", "b"), ("hi", "bab"), ("i",)):
        assert triggers(text, needles) == (None if folded is None else find_all(folded, needles))
        assert present(text, needles) == {n for n in needles if n in text.lower()}
    assert exact_triggers(text, ("Hi", "ab")) == find_all(text, ("Hi", "ab"))


def test_needle_sets_past_the_shared_limit_are_searched_on_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_MAX_SETS", 0)
    monkeypatch.setattr(scan, "_needles", scan._Needles({}))
    assert triggers("Token and KEY", ("key", "tok")) == [0, 10]
    assert present("Token and KEY", ("key", "zzz")) == {"key"}
    assert exact_triggers("Hi hi", ("Hi",)) == [0]


def test_the_sanitizer_keeps_no_ticket_text_in_the_shared_slot() -> None:
    from patchbay.sanitize import Sanitizer

    text = "Hi Ann, my password=hunter22"
    Sanitizer().sanitize_text(text)
    assert scan._last is None or scan._last.text is not text


_MENTION_PIECES = [
    "cc", "Cc", "CC", "acc", "cc:", " ", "\t", ":", "\n", "Ann Lee", "Bob", "x", "manager", "contact",
]  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_MENTION_PIECES)))
def test_mentions_tried_at_their_triggers_equal_finditer(parts: list[str]) -> None:
    """The "cc" triggers carry the space, tab or colon that _MENTION needs after "cc"."""
    text = "".join(parts)
    at = triggers(text, _MENTION_TRIGGERS)
    found = _MENTION.finditer(text) if at is None else matches_at(_MENTION, text, at)
    assert [m.span() for m in found] == [m.span() for m in _MENTION.finditer(text)]
    scan.forget(text)
