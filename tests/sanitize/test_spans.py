"""Overlap resolution: the most specific, then the longest span wins."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from patchbay.sanitize import Detector, Span, resolve
from patchbay.sanitize.detectors import EmailDetector, PhoneDetector
from patchbay.sanitize.secret_formats import SecretDetector
from patchbay.sanitize.spans import SPECIFICITY, make_span


def test_more_specific_type_wins_an_overlap() -> None:
    secret = Span(10, 20, "secret", "x" * 10)
    email = Span(5, 30, "email", "y" * 25)
    assert resolve([email, secret]) == [secret]


def test_longer_span_of_the_same_type_wins_and_output_is_sorted() -> None:
    short = Span(0, 5, "secret", "aaaaa")
    long = Span(2, 12, "secret", "b" * 10)
    later = Span(20, 25, "email", "c" * 5)
    assert resolve([later, short, long]) == [long, later]


def test_empty_spans_are_dropped() -> None:
    assert resolve([Span(3, 3, "email", "")]) == []


def test_builtin_detectors_satisfy_the_protocol() -> None:
    for detector in (EmailDetector(), PhoneDetector(), SecretDetector()):
        assert isinstance(detector, Detector)


def _resolve_by_definition(spans: list[Span]) -> list[Span]:
    """The rule written plainly: by rank, keep each span that overlaps no span kept so far."""
    ranked = sorted(spans, key=lambda s: (-SPECIFICITY.get(s.entity_type, 0), -(s.end - s.start), s.start))
    kept: list[Span] = []
    for span in ranked:
        if span.end > span.start and all(span.end <= k.start or k.end <= span.start for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


_SPAN = st.builds(
    lambda start, length, entity_type, canonical: Span(
        start, start + length, entity_type, "x" * max(length, 0), canonical
    ),
    st.integers(0, 60),
    st.integers(-2, 20),
    st.sampled_from([*SPECIFICITY, "custom"]),  # a custom detector's type ranks 0
    st.sampled_from([None, "a", "b"]),  # equal ranks: the earlier span in the input must win
)


@given(st.lists(_SPAN, max_size=25))
def test_resolve_equals_the_rule_by_definition(spans: list[Span]) -> None:
    # resolve() bisects and keys spans by tuple index; a user would see a different value replaced.
    assert resolve(spans) == _resolve_by_definition(spans)


def test_make_span_builds_the_same_named_tuple() -> None:
    made = make_span((3, 9, "email", "a@b.co", "a@b.co"))
    assert type(made) is Span and made == Span(3, 9, "email", "a@b.co", canonical="a@b.co")
    assert (made.start, made.end, made.entity_type, made.value, made.canonical, made.key) == (
        3, 9, "email", "a@b.co", "a@b.co", "a@b.co",
    )  # fmt: skip
    assert make_span((0, 1, "ip", "x", None)) == Span(0, 1, "ip", "x")
