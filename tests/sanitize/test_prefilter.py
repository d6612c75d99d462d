"""The hyperscan prefilter never hides a match: with it and without it, every detector finds the same."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchbay.sanitize import Sanitizer, prefilter, scan
from patchbay.sanitize.context import _ADDRESS
from patchbay.sanitize.detectors import _CANDIDATE, _CARD, _candidates
from patchbay.sanitize.identifiers import _IBAN, _IPV4, _IPV6, _SSN
from patchbay.sanitize.scan import forget, matches_at
from patchbay.sanitize.secret_formats import _TOKEN

# hyperscan is a dependency wherever it has a wheel (x86_64, aarch64); CI must have it.
needs_hyperscan = pytest.mark.skipif(
    not prefilter._installed and os.environ.get("CI") != "true",
    reason="hyperscan not installed (no wheel for this platform): the plain scans are tested instead",
)


@pytest.fixture(autouse=True)
def _warm() -> None:
    prefilter.warm()  # build the database now, not after the first WARM_AFTER texts


@needs_hyperscan
def test_a_process_builds_the_database_only_after_its_first_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    # A one-shot command keeps its cold start: the first WARM_AFTER texts use the plain scans.
    monkeypatch.setattr(prefilter, "_engine", None)
    monkeypatch.setattr(prefilter, "_plain_scans", 0)
    text = "Card 4111 1111 1111 1111, call +1 415 555 0132."
    for _ in range(prefilter.WARM_AFTER):
        assert prefilter.hits(text) is None
    assert prefilter._engine is None
    found = prefilter.hits(text)
    assert found is not None and found.starts["card"] == [5]
    assert prefilter._engine is not None
    forget(text)


PATTERNS: dict[str, re.Pattern[str]] = {
    "card": _CARD,
    "ssn": _SSN,
    "ipv4": _IPV4,
    "ipv6": _IPV6,
    "iban": _IBAN,
    "address": _ADDRESS,
    "token": _TOKEN,
}

# Pieces the digit-led patterns care about, including what Python's re treats as a digit, a word
# character or a space outside ASCII (Arabic-Indic and fullwidth digits, ß, no-break and ideographic
# spaces), and characters in none of those classes (€, superscript two, circled one).
PIECES = st.sampled_from(
    [
        *"0123456789",
        "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "123-45-6789", "123 45 6789",
        "10.0.0.1", "192.168.1.254", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
        "221B Baker Street", "12 Main St", "1600 Pennsylvania Avenue", "Stra\u00dfe", " Hill", " Rd.",
        "+44 20 7946 0958", "(415) 555-0132", "00 44 20 7946 0958", "0", "00", "+", "(", ")",
        " ", "  ", "-", ".", "/", "_", "=", "#", ":", "\n", "\t", "a", "Z", "x", "A", "e", "Q",
        "aB3dE5gH7jK9mN1pQ3rS5tU7vW9", "ghp_x", "/+", "\u0663", "\u0966", "\uff11", "\u00e9",
        "\u00df", "\u00a0", "\u2007", "\u3000", "\u20ac", "\u00b2", "\u2460", "\u017f", "\u0130",
        "::", "fe80::1", "2001:db8:0:0:1:0:0:1", "%eth0", "13:08:03", "ab:", "Ff", "1:2:3:4:5:6:7:8",
        "a:b::c", "123456789", "123-45-67890", "123 45-6789",
    ]
)  # fmt: skip
TEXTS = st.lists(PIECES, max_size=40).map("".join)


def _spans(matches: Iterator[re.Match[str]]) -> list[tuple[int, int]]:
    return [m.span() for m in matches]


@needs_hyperscan
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_every_match_begins_at_a_reported_start(text: str) -> None:
    for name, pattern in PATTERNS.items():
        starts = prefilter.starts(text, name)
        assert starts is not None
        keep = KEPT.get(name, _any)
        full = [m.span() for m in pattern.finditer(text) if keep(m.group())]
        assert {start for start, _ in full} <= set(starts), name
        assert [m.span() for m in matches_at(pattern, text, starts) if keep(m.group())] == full, name
    forget(text)


def _any(raw: str) -> bool:
    return True


# The matches a detector goes on with, where its prefilter reports only those: IPv6 candidates
# need "::" or seven colons (times such as "13:08:03" are not reported).
KEPT = {"ipv6": lambda raw: "::" in raw or raw.count(":") >= 7}


@needs_hyperscan
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_phone_candidates_are_found_inside_the_reported_runs(text: str) -> None:
    assert _spans(_candidates(text)) == _spans(_CANDIDATE.finditer(text))
    forget(text)


@needs_hyperscan
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_detect_with_and_without_the_prefilter_agree(text: str) -> None:
    sanitizer = Sanitizer()
    with_prefilter = sanitizer.detect(text)
    prefilter.set_enabled(False)
    try:
        assert prefilter.hits(text) is None
        assert sanitizer.detect(text) == with_prefilter
    finally:
        prefilter.set_enabled(True)


def _tickets() -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from sanitize_tickets import generate

    return [d["text"] for d in generate(60, seed=5)]


def test_without_hyperscan_the_sanitizer_finds_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _tickets()
    sanitizer = Sanitizer()
    expected = [sanitizer.detect(t) for t in texts]
    monkeypatch.setattr(prefilter, "_installed", False)  # as on a platform without a wheel
    assert not prefilter.available()
    assert prefilter.starts(texts[0], "card") is None
    assert [sanitizer.detect(t) for t in texts] == expected
    assert sum(map(len, expected)) > 100  # the tickets do hold findings of every kind


def test_encoding_keeps_offsets_and_names_each_character_class() -> None:
    text = "a1\u0663\u00e9\u00a0\u20ac_"
    assert prefilter.encode(text) == b"\na1\x81\x82\x83\x80_\n"
    assert len(prefilter.encode(text)) == len(text) + 2


@needs_hyperscan
def test_a_non_ascii_digit_run_is_still_a_card_candidate() -> None:
    text = "card \u0664\u0661\u0661\u0661 1111 1111 1111 ok, 4111 1111 1111 1111"
    starts = [5, text.index("4111")]
    assert prefilter.starts(text, "card") == starts
    assert _spans(matches_at(_CARD, text, starts)) == _spans(_CARD.finditer(text)) == [(5, 24), (29, 48)]


@needs_hyperscan
def test_threads_scan_with_their_own_scratch_space() -> None:
    texts = _tickets()
    expected = [prefilter.hits(t) for t in texts]
    results: list[bool] = []

    def work() -> None:
        engine = prefilter._get_engine()
        results.append(all(engine.scan(t) == e for t, e in zip(texts, expected, strict=True)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 4


# Trigger words in any case, their overlaps ("sk-" in "sk-ant-", "birth" in "date of birth"),
# near misses and filler: what the shared trigger index is asked about.
WORD_PIECES = st.sampled_from(
    [
        "Hi", "hello", "DEAR", "cc", "Cc:", "key", "api_KEY=", "token", "Bearer ", "authorization",
        "sk-ant-", "sk-", "SK_live_", "date of birth", "Born", "dob", "my name is", "This is",
        "I'm", "addr", "Ship To", "ghp_", "eyJ", "xox", "q~", "sig=", "private key", "aaaa", " ",
        "\n", ".", "x", "Z", "0",
    ]
)  # fmt: skip


@needs_hyperscan
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(WORD_PIECES, max_size=40).map("".join))
def test_trigger_words_are_found_alike_by_hyperscan_and_aho_corasick(text: str) -> None:
    """An ASCII text's trigger words come from hyperscan when the prefilter is on, from the
    Aho-Corasick pass when it is off: the same offsets and the same words present."""
    Sanitizer().detect("warm up: every detector registers its trigger words")
    sets = list(scan._needles.ids)
    assert sets and text.isascii()

    def ask() -> list[object]:
        found: list[object] = [
            (scan.triggers(text, needles), scan.present(text, needles)) for needles in sets
        ]
        forget(text)
        return found

    with_hyperscan = ask()
    prefilter.set_enabled(False)
    try:
        without = ask()
    finally:
        prefilter.set_enabled(True)
    assert with_hyperscan == without


def test_the_address_start_is_found_back_from_the_end() -> None:
    # Only letters, '.', "'", '-', spaces, tabs and the word class byte may follow the number.
    suffix_letters = set(prefilter._street_suffixes().replace(b"|", b"").replace(b"?", b""))
    assert suffix_letters <= set(prefilter._AFTER_NUMBER)
    assert not set(prefilter._AFTER_NUMBER) & set(prefilter._DIGIT_BYTES)
    text = "Ship 3 items to 1600 Pennsylvania Avenue, or 221B Baker St.\n12 Main Street"
    assert set(prefilter.starts(text, "address") or ()) == {16, 45, 60}  # ("Ave" ends a match too)
    forget(text)


_TOKEN_CONTEXT = re.compile(rb"(?=[^A-Za-z0-9_\x81\x82/+.=\-][A-Za-z0-9_+/\-]{24})")


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(PIECES, st.sampled_from(["aB3" * 9, "x" * 23, "=" + "k" * 30, ".", "\u00e9"])), max_size=30
    )
)
def test_token_starts_are_what_the_hyperscan_pattern_reported(pieces: list[str]) -> None:
    # Every offset where a context byte is followed by 24 token bytes, as the pattern
    # [^\w/+.=-][A-Za-z0-9_+/-]{24} reported them (one report per end: a single start each).
    buffer = prefilter.encode("".join(pieces))
    assert prefilter._token_starts(buffer) == [m.start() for m in _TOKEN_CONTEXT.finditer(buffer)]
