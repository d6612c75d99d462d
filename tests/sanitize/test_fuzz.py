"""Property tests: no pattern backtracks catastrophically, and spans always slice the text."""

from __future__ import annotations

import itertools
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchbay.sanitize import Sanitizer
from patchbay.sanitize.restore import restore

SANITIZER = Sanitizer()
# Characters the patterns care about, so the fuzzer builds near-misses rather than noise.
ALPHABET = st.sampled_from(list("aA0 9.-_:/@+=#()[]<>'\"\n\tkeyPASSWORD=ghp_AKIAsk-eyJ" + "é🙂"))
NEAR_MISS = st.text(alphabet=ALPHABET, max_size=400)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NEAR_MISS)
def test_spans_are_valid_and_do_not_overlap(text: str) -> None:
    spans = SANITIZER.detect(text)
    for span in spans:
        assert text[span.start : span.end] == span.value
    for a, b in itertools.pairwise(spans):
        assert a.end <= b.start
    SANITIZER.sanitize_text(text)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["1", "1 ", "a.", "a@", "-", "1-", "+1 ", "a_", "A", "key=", ":1", "Abc ", "0:"]),
    st.integers(2_000, 20_000),
)
def test_long_repetitive_inputs_stay_linear(unit: str, repeat: int) -> None:
    text = unit * repeat
    started = time.perf_counter()
    SANITIZER.sanitize_text(text)
    restore(text, {"<PERSON_1>": "x"})
    # 20k-unit inputs in well under a second; catastrophic backtracking takes minutes.
    assert time.perf_counter() - started < 2.0, (unit, repeat)
