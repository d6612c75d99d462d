"""``phonenumbers.is_valid_number`` with each region's number-type rules compiled once.

``is_valid_number`` asks ``_number_type_helper`` which type a number is (premium rate, toll free,
..., fixed line, mobile) and only wants to know whether it is any of them. Each of its up to eleven
questions goes through three Python functions, a lookup in ``re``'s cache and a regex; for +1
numbers the NANPA regions are tried one after another and the winner is asked again. That was
about half the cost of a real phone number in a ticket. Here the same rules are read from the
same metadata objects and, per national-number length, joined into ONE pattern (the patterns a
length rules out are left out, as ``_is_number_matching_desc`` skips them), so a number costs
two regex calls. Everything else (which regions share a calling code, their leading digits, the
national significant number) is asked of ``phonenumbers`` exactly as ``is_valid_number`` does;
``tests/sanitize/test_phone_rules.py`` holds the two to the same answers.

Nothing here depends on the numbers seen: the compiled rules are per region's metadata, built
the first time a number of that region is checked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from phonenumbers import PhoneMetadata, PhoneNumber
from phonenumbers.phonemetadata import REGION_CODE_FOR_NON_GEO_ENTITY
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    country_code_for_valid_region,
    national_significant_number,
)

# The descriptions _number_type_helper tries after the general one; mobile only where its
# pattern differs from the fixed-line one (the helper never asks it otherwise).
_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)
# A pattern that uses a backreference cannot be wrapped into an alternation safely.
_BACKREF = re.compile(r"\\[1-9]|\(\?P=")
_Check = Callable[[str], object]
"""A full-match test: truthy where the whole national number matches."""


def _never(nsn: str) -> object:
    return None


def _applies(desc: Any, length: int) -> str | None:
    """The pattern ``_is_number_matching_desc`` would try for a number of ``length`` digits
    against ``desc``, or None where it answers False without one."""
    if desc is None:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return desc.national_number_pattern or None


class _Rules:
    """One region's rules: per length, the general pattern's and the joined type patterns' test."""

    __slots__ = ("_by_length", "_lock", "metadata")

    def __init__(self, metadata: Any) -> None:
        self.metadata = metadata  # held, so the id() this is filed under stays this object's
        self._by_length: dict[int, tuple[_Check, _Check]] = {}
        self._lock = threading.Lock()

    def valid(self, nsn: str) -> bool:
        """``_number_type_helper(nsn, metadata) != PhoneNumberType.UNKNOWN``."""
        compiled = self._by_length.get(len(nsn))
        if compiled is None:
            compiled = self._compile(len(nsn))
        general, types = compiled
        return bool(general(nsn)) and bool(types(nsn))

    def _compile(self, length: int) -> tuple[_Check, _Check]:
        metadata = self.metadata
        general = _applies(metadata.general_desc, length)
        descs = [getattr(metadata, name) for name in _TYPES]
        if not metadata.same_mobile_and_fixed_line_pattern:
            descs.append(metadata.mobile)
        patterns = [p for p in (_applies(desc, length) for desc in descs) if p is not None]
        compiled = (re.compile(general).fullmatch if general is not None else _never, _any_of(patterns))
        with self._lock:
            self._by_length[length] = compiled
        return compiled


def _any_of(patterns: list[str]) -> _Check:
    """A test that passes where one of ``patterns`` matches the whole number."""
    if not patterns:
        return _never
    if not any(_BACKREF.search(p) for p in patterns):
        # fullmatch of an alternation succeeds iff one alternative matches the whole number.
        return re.compile("|".join(f"(?:{p})" for p in patterns)).fullmatch
    compiled = [re.compile(p) for p in patterns]  # one by one (no such pattern in today's data)
    return lambda nsn: any(p.fullmatch(nsn) for p in compiled)


_rules: dict[int, _Rules] = {}
_leading: dict[str, re.Pattern[str]] = {}


def _rules_for(metadata: Any) -> _Rules:
    rules = _rules.get(id(metadata))
    if rules is None or rules.metadata is not metadata:
        rules = _rules[id(metadata)] = _Rules(metadata)
    return rules


def _region_from_list(nsn: str, regions: tuple[str, ...]) -> str | None:
    """``phonenumbers``' ``_region_code_for_number_from_list``: the first region whose leading
    digits start the number or, for a region without them, whose rules the number meets."""
    for region_code in regions:
        test = _region_tests.get(region_code)
        if test is None:
            test = _region_tests[region_code] = _region_test(region_code)
        if test is not _NO_METADATA and test(nsn):
            return region_code
    return None


def _region_test(region_code: str) -> _Check:
    """What _region_from_list asks of a number for ``region_code``: its leading-digits pattern
    (a prefix match), else its rules; :data:`_NO_METADATA` for a region without metadata. Built
    once per region from the same metadata object (it is loaded once and kept by phonenumbers),
    instead of looking the metadata up for each region of a shared calling code per number."""
    metadata = PhoneMetadata.metadata_for_region(region_code.upper(), None)
    if metadata is None:
        return _NO_METADATA
    leading = metadata.leading_digits
    if leading is not None:
        pattern = _leading.get(leading)
        if pattern is None:
            pattern = _leading[leading] = re.compile(leading)
        return pattern.match
    return _rules_for(metadata).valid


def _no_metadata(nsn: str) -> object:
    return None


_NO_METADATA: _Check = _no_metadata
_region_tests: dict[str, _Check] = {}
# Per (calling code, region): the rules is_valid_number applies, or None where it answers False
# whatever the number (no metadata, or a region of another calling code).
_code_rules: dict[tuple[int, str], _Rules | None] = {}


def _rules_of(country_code: int, region_code: str) -> _Rules | None:
    """The metadata steps of is_valid_number for ``region_code``, which depend on the calling
    code and the region only: worked out once per pair."""
    key = (country_code, region_code)
    if key in _code_rules:
        return _code_rules[key]
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region_code.upper())
    if metadata is None or (
        region_code != REGION_CODE_FOR_NON_GEO_ENTITY
        and country_code != country_code_for_valid_region(region_code)
    ):
        rules = None
    else:
        rules = _rules_for(metadata)
    _code_rules[key] = rules
    return rules


def is_valid_number(numobj: PhoneNumber) -> bool:
    """The same answer as ``phonenumbers.is_valid_number(numobj)``, in the same steps."""
    country_code = numobj.country_code
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code) if country_code is not None else None
    if country_code is None or regions is None:
        return False
    nsn = national_significant_number(numobj)
    region_code = regions[0] if len(regions) == 1 else _region_from_list(nsn, regions)
    if region_code is None:
        return False
    rules = _rules_of(country_code, region_code)
    return rules is not None and rules.valid(nsn)
