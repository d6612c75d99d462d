"""Strict JSON for untrusted bodies: what json.loads lets through but a sender never means is a 400."""

from __future__ import annotations

import pytest

from patchbay import strict_json
from patchbay.errors import RequestError


def refused(body: bytes, **limits: int) -> str:
    with pytest.raises(RequestError) as info:
        strict_json.loads(body, **limits)
    assert (info.value.status_code, info.value.code) == (400, "invalid_json")
    return info.value.message


def test_ordinary_json_parses() -> None:
    assert strict_json.loads(b'{"a": [1, 2.5, "x", null, true], "b": {"c": -3}}') == {
        "a": [1, 2.5, "x", None, True],
        "b": {"c": -3},
    }


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400"])
def test_non_finite_numbers(constant: bytes) -> None:
    assert "finite" in refused(b'{"n": ' + constant + b"}") or "overflows" in refused(b"[" + constant + b"]")


def test_duplicate_keys_name_the_key() -> None:
    assert "'role'" in refused(b'{"role": "user", "role": "admin"}')
    assert "twice" in refused(b'{"a": {"x": 1, "x": 1}}')


def test_huge_integers() -> None:
    assert "64 digits" in refused(b'{"n": ' + b"1" * 65 + b"}")
    assert strict_json.loads(b'{"n": ' + b"1" * 64 + b"}")["n"] == int("1" * 64)
    assert "10 digits" in refused(b"12345678901", max_int_digits=10)


def test_depth_limit_counts_objects_and_arrays() -> None:
    assert strict_json.loads(b"[" * 64 + b"]" * 64) is not None
    assert "64 levels" in refused(b"[" * 65 + b"]" * 65)
    assert "64 levels" in refused(b'{"a":' * 65 + b"1" + b"}" * 65)
    assert "deeper" in refused(b"[" * 100_000 + b"]" * 100_000)  # the parser's own recursion limit


def test_not_utf8_and_not_json() -> None:
    assert "UTF-8" in refused(b'{"a": "\xff"}')
    assert "line 1" in refused(b'{"a": }')
