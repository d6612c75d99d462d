"""Overlap resolution: the most specific, then the longest span wins."""

from __future__ import annotations

from patchbay.sanitize import Detector, Span, resolve
from patchbay.sanitize.detectors import EmailDetector, PhoneDetector
from patchbay.sanitize.secret_formats import SecretDetector


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
