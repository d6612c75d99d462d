"""Dotted paths: what validate, select and write use to point into an event."""

from __future__ import annotations

import pytest

from patchbay.paths import MISSING, check_path, get_path, is_empty

EVENT = {"issue": {"key": "SUP-1", "fields": {"labels": ["sso", "login"], "count": 0, "flag": False}}}


def test_get_path_walks_dicts_and_list_indices() -> None:
    assert get_path(EVENT, "issue.key") == "SUP-1"
    assert get_path(EVENT, "issue.fields.labels.1") == "login"


@pytest.mark.parametrize(
    "path", ["issue.nope", "issue.fields.labels.5", "issue.fields.labels.x", "issue.key.0"]
)
def test_get_path_returns_missing_instead_of_raising(path: str) -> None:
    assert get_path(EVENT, path) is MISSING


def test_zero_and_false_are_values_not_empty() -> None:
    assert not is_empty(get_path(EVENT, "issue.fields.count"))
    assert not is_empty(get_path(EVENT, "issue.fields.flag"))
    assert is_empty("   ") and is_empty([]) and is_empty({}) and is_empty(None) and is_empty(MISSING)


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a."])
def test_malformed_paths_are_rejected_with_a_fix(bad: str) -> None:
    with pytest.raises(ValueError, match="path"):
        check_path(bad)
