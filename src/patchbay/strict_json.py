"""Strict JSON for untrusted bodies: refuse what ``json.loads`` would accept but no sender means.

Refused with a 400 ``RequestError`` (code ``invalid_json``) that says what and where:

* nesting deeper than ``max_depth`` (default 64) - deep bodies cost stack and time in every step;
* ``NaN``, ``Infinity``, ``-Infinity`` and floats that overflow to infinity (``1e999``) - not JSON;
* integers with more than ``max_int_digits`` digits (default 64) - parsing huge ints is quadratic;
* duplicate keys in one object - two parsers may disagree on which value wins (a smuggling vector);
* bodies that are not UTF-8.
"""

from __future__ import annotations

import json
import math
from typing import Any

from patchbay.errors import RequestError

MAX_DEPTH = 64
MAX_INT_DIGITS = 64


class _Refused(ValueError):
    pass


def _bad(message: str) -> RequestError:
    return RequestError(message, status_code=400, code="invalid_json")


def _depth(value: Any, limit: int) -> int:
    """The nesting depth, iteratively (a recursive walk would itself be a stack risk)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def loads(body: bytes | str, *, max_depth: int = MAX_DEPTH, max_int_digits: int = MAX_INT_DIGITS) -> Any:
    """Parse ``body`` strictly; 400 ``invalid_json`` naming the problem otherwise."""

    def constant(name: str) -> Any:
        raise _Refused(f"the body contains {name}, which is not valid JSON; send finite numbers only")

    def integer(text: str) -> int:
        if len(text.lstrip("-")) > max_int_digits:
            raise _Refused(f"the body contains an integer with more than {max_int_digits} digits")
        return int(text)

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise _Refused(f"the body contains {text[:20]!r}, which overflows a 64-bit float")
        return value

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise _Refused(f"the body has the key {key[:40]!r} twice in one object; send each key once")
            result[key] = value
        return result

    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        value = json.loads(
            text, parse_constant=constant, parse_int=integer, parse_float=number, object_pairs_hook=pairs
        )
    except _Refused as exc:
        raise _bad(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise _bad(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8 encoded JSON") from None
    except RecursionError:
        raise _bad(f"the body is nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # e.g. Python's own int digit limit
        raise _bad(f"the body has a value that cannot be parsed: {str(exc)[:80]}") from None
    if _depth(value, max_depth) > max_depth:
        raise _bad(f"the body is nested deeper than {max_depth} levels")
    return value
