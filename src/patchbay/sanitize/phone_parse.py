"""``phonenumbers.parse`` for the usual international window, without its generic steps.

Most phone windows that reach the parser are written ``+CC ...``: a plus sign, then ASCII digits
and the separators a candidate allows (space, ``-``, ``.``, ``(``, ``)``, ``/``), ending in a digit.
For such a window every generic step of ``parse`` is known in advance, so :func:`parse_plus`
skips them and asks ``phonenumbers`` only the steps that depend on the number:

- ``_build_national_number_for_parsing`` returns the window unchanged: it has no
  ``;phone-context=`` or ``;isub=``, it opens with a valid start character (``+``), ends in a
  digit (nothing for ``_UNWANTED_END_CHAR_PATTERN`` to cut) and holds no ``x`` (no second number).
- ``_is_viable_phone_number`` holds: a plus sign, then punctuation (every separator above is in
  ``_VALID_PUNCTUATION``) and 3+ digits.
- ``_check_region_for_parsing`` holds: the window starts with ``+``.
- ``_maybe_strip_extension`` finds none: every extension form needs a character outside this
  alphabet (``;ext=``, a letter, ``#``, ``~``, ``,`` or ``;``).
- ``_maybe_strip_i18n_prefix_and_normalize`` strips the one plus sign and keeps the digits (no
  letters, so no vanity mapping; ``normalize_digits_only`` drops the punctuation).

From there the steps are ``parse``'s own, in its order: the calling code (1-3 digits that
``COUNTRY_CODE_TO_REGION_CODE`` knows), the metadata of its main region, the national prefix and
carrier code (stripped by ``phonenumbers`` itself, kept only where the length test allows), the
Italian leading zeros. Every case where ``parse`` raises, or retries without the plus sign (a
calling code that starts with 0 or is unknown), returns None and the caller runs ``parse``.
``tests/sanitize/test_phone_parse.py`` holds the result equal to ``parse``'s, field by field. The
steps come from ``phonenumbers``' private helpers: a release without them makes :func:`parse_plus`
always answer None (same findings through ``parse``, slower), never an import error.
The cost was ~150k instructions a parse, a third of it ``normalize_digits_only`` calling a Python
function per character.
"""

from __future__ import annotations

import re

from phonenumbers import PhoneMetadata, PhoneNumber
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, ValidationResult

try:  # phonenumbers' own private steps: a release that renames them turns the shortcut off
    from phonenumbers.phonenumberutil import (
        _MAX_LENGTH_FOR_NSN,
        _maybe_strip_national_prefix_carrier_code,
        _set_italian_leading_zeros_for_phone_number,
        _test_number_length,
    )
except ImportError:  # pragma: no cover - depends on the installed phonenumbers
    AVAILABLE = False
else:
    AVAILABLE = True

# A plus sign, then ASCII digits and separators, ending in a digit (3+ digits: see parse_plus).
_PLUS_WINDOW = re.compile(r"\+[0-9 ().\-/]*[0-9]")
_SEPARATORS = b" ().-/+"
# What _test_number_length may say that makes parse keep the number with its national prefix.
_KEEP_PREFIX = (
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
)


def parse_plus(window: str, region: str | None) -> PhoneNumber | None:
    """What ``phonenumbers.parse(window, region)`` returns, for a window of the shape above; None
    for any other window and wherever ``parse`` would raise or retry (call it then)."""
    if not AVAILABLE or len(window) > 250 or _PLUS_WINDOW.fullmatch(window) is None:
        return None
    # The window is ASCII: bytes.translate deletes the separators in C (str.translate with a
    # deleting table looks up every character in a dict, raising KeyError for each digit).
    digits = window.encode().translate(None, _SEPARATORS).decode()
    # parse raises TOO_SHORT_AFTER_IDD at two digits or fewer; a leading 0 is no calling code
    # (parse then retries without the plus sign).
    if len(digits) <= 2 or digits[0] == "0":
        return None
    # _extract_country_code: the shortest prefix of 1-3 digits that is a known calling code.
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    number_region = COUNTRY_CODE_TO_REGION_CODE[country_code][0]
    if number_region != region:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, number_region)
    else:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
    if metadata is None or len(national) < 2:
        return None  # parse asserts the metadata exists; TOO_SHORT_NSN
    _, stripped, _ = _maybe_strip_national_prefix_carrier_code(national, metadata)
    if _test_number_length(stripped, metadata) not in _KEEP_PREFIX:
        national = stripped
    if not 2 <= len(national) <= _MAX_LENGTH_FOR_NSN:
        return None  # TOO_SHORT_NSN, TOO_LONG
    number = PhoneNumber(country_code=country_code)
    _set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number
