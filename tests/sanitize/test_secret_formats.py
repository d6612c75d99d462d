"""The secret catalogue: each known format, auth headers and key=value pairs (value only)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchbay.sanitize import Sanitizer
from patchbay.sanitize.scan import forget, matches_at
from patchbay.sanitize.secret_formats import _CAMEL_WORD, SecretDetector, looks_random, shannon_entropy

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sanitize"

# Fake tokens, assembled so that no complete token sits in the source for scanners to trip on.
A36 = "a1B2c3D4e5" * 3 + "F6g7H8"
FAKE = {
    "github classic": "ghp_" + A36,
    "github oauth": "gho_" + A36,
    "github user-to-server": "ghu_" + A36,
    "github server-to-server": "ghs_" + A36,
    "github refresh": "ghr_" + A36,
    "github fine-grained": "github_pat_" + "11ABCDEFG0" + "abcdefghijkl_" + "x1y2z3" * 10,
    "gitlab": "glpat-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn",
    "slack bot": "xoxb-" + "1234567890-1234567890-" + "AbCdEfGhIjKlMnOp",
    "slack user": "xoxp-" + "1234567890-1234567890-" + "AbCdEfGhIjKlMnOp",
    "aws": "AKIA" + "IOSFODNN7EXAMPLE",
    "aws sts": "ASIA" + "Y34FZKBOKMUTVV7A",
    "openai legacy": "sk-" + "Ab1" * 16,
    "openai project": "sk-proj-" + "Ab1_Cd2-" * 10,
    "anthropic": "sk-ant-" + "api03-" + "Xy9" * 30 + "AA",
    "stripe live": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "stripe restricted": "rk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "stripe test": "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "google": "AIza" + "SyD-" + "a1b2c3d4e5" * 3 + "f",
    "atlassian": "ATATT" + "3xFfGF0" + "Ab1_Cd2-Ef3=" * 10,
    "jwt": "eyJhbGciOiJIUzI1NiJ9"
    + "."
    + "eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    + "."
    + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}


def secrets_in(text: str) -> list[str]:
    return [span.value for span in Sanitizer(entities=["secret"]).detect(text)]


@pytest.mark.parametrize("name", sorted(FAKE))
def test_each_known_format_is_masked(name: str) -> None:
    token = FAKE[name]
    result = Sanitizer().sanitize_text(f"Pasted my key {token} into the form.")
    assert result.text == "Pasted my key <SECRET_1> into the form."
    assert result.findings == {"secret": 1}


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-123_XYZ", "abc.def-123_XYZ"),
        ('curl -H "Authorization: Basic dXNlcjpwYXNzd29yZA=="', "dXNlcjpwYXNzd29yZA=="),
        ("authorization: token 0123abcdef0123abcdef", "0123abcdef0123abcdef"),
        ("Authorization: 9f8e7d6c5b4a39281706", "9f8e7d6c5b4a39281706"),
        (
            'Authorization: Digest username="bob", response="6629fae49393a053"',
            'username="bob", response="6629fae49393a053"',
        ),
        ("the header was Bearer eyJraWQiOi1234abcd", "eyJraWQiOi1234abcd"),
    ],
)
def test_authorization_values_are_masked_but_the_scheme_stays(text: str, secret: str) -> None:
    found = secrets_in(text)
    assert found and found[0].startswith(secret)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2", "password=<SECRET_1>"),
        ("db_password: 'correct horse battery'", "db_password: '<SECRET_1>'"),
        ('{"client_secret": "s3cr3t-Value"}', '{"client_secret": "<SECRET_1>"}'),
        ("API_KEY = abcd1234", "API_KEY = <SECRET_1>"),
        ("X-Api-Key: 0f1e2d3c", "X-Api-Key: <SECRET_1>"),
        ("pwd=letmein&user=bob", "pwd=<SECRET_1>&user=bob"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = <SECRET_1>",
        ),
        ("access_key: 'abc123xyz'", "access_key: '<SECRET_1>'"),
        ("passwd := 'trustno1'", "passwd := '<SECRET_1>'"),
    ],
)
def test_key_value_pairs_mask_the_value_only(text: str, expected: str) -> None:
    assert Sanitizer().sanitize_text(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens: 256 and passwords were reset",
        "password: ***",
        "token: <SECRET_1>",
        "we use sk-learn-compatible-estimators here",
        "Bearer tokens expire after an hour",
        "the secret is out",
    ],
)
def test_things_that_are_not_secrets(text: str) -> None:
    assert secrets_in(text) == []


def test_pem_private_key_block_is_masked_whole() -> None:
    pem = (FIXTURES / "detect_secrets_private_key.txt").read_text()
    result = Sanitizer().sanitize_text(f"key:\n{pem}\nthanks")
    assert result.text == "key:\n<SECRET_1>\n\nthanks"
    truncated = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n"
    )
    assert Sanitizer().sanitize_text(truncated + "\n(cut off)").text.startswith("<SECRET_1>")


def test_detect_secrets_fixture_values_are_masked() -> None:
    text = (FIXTURES / "detect_secrets_each_secret.py.txt").read_text()
    out = Sanitizer().sanitize_text(text).text
    for leaked in (
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "whywouldyouusehttpforpasswords",
        "8b1118b376c313ed420e5133ba91307817ed52c2",
    ):
        assert leaked not in out
    assert "red_herring = 'DEADBEEF'" in out
    assert "http://<URL_CREDENTIALS_1>@example.com" in out


def test_ini_passwords_are_masked_and_ids_kept() -> None:
    out = Sanitizer().sanitize_text((FIXTURES / "detect_secrets_config.ini").read_text()).text
    assert "123456789a1234" not in out and "12345678901234" not in out
    assert "password = <SECRET_1>" in out
    # The id field repeats the real secret's value: the same value gets the same token everywhere.
    assert "real_secret_which_isnt_an_i_d = <SECRET_4>" in out
    assert "foreign_key_id = <SECRET_4>" in out
    assert "vh987tyw9ehy8ghis7vwyhiwbwitefy7w3ASDGYDGUASDG" not in out


def test_detector_reports_spans_that_slice_the_text() -> None:
    text = "token=" + FAKE["github classic"]
    for span in SecretDetector().detect(text):
        assert text[span.start : span.end] == span.value


# Pieces of every format that is tried only at its hints, in other cases and glued to words, with
# the "proxy-" that may open an authorization header, and case traps (Kelvin sign, long s).
_SECRET_PIECES = st.sampled_from(
    [
        "Authorization: Bearer ", "PROXY-", "proxy-authorization: Basic ", "Proxy-Authorization=",
        "authorization: Digest ", "authorization: ", "bearer ", "Bearer ", "ghp_", "GHO_",
        "github_pat_", "glpat-", "glcbt-ab_", "GR1348941", "xoxb-", "xapp-1-", "hooks.slack.com/services/",
        "GOCSPX-", "AccountKey=", "accountkey=", "whsec_", "npm_", "SG.", "shpat_", "AKIA", "asia",
        "sk-ant-", "sk-", "SK-proj-", "sk_live_", "rk_test_", "AIza", "ATATT", "eyJ", "eyj", ".",
        "aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1z", "0123456789abcdef0123456789abcdef", "_", "-", " ", "\n",
        "=", ":", "x", "\u212a", "\u017f", "\u00e9", "'", '"',
    ]
)  # fmt: skip


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_SECRET_PIECES, max_size=24).map("".join))
def test_formats_tried_at_their_hints_find_what_a_full_scan_finds(text: str) -> None:
    """Formats that open with a hint are tried only at hint offsets; a detector that scans every
    format over the whole text finds the same."""
    fast = SecretDetector()
    full = SecretDetector()
    full._modes = [0] * len(full._modes)  # every format by finditer, as before
    found = list(fast.detect(text))
    forget(text)
    assert found == list(full.detect(text))
    forget(text)
    # And match by match (a format's value group can hide where its match began).
    for fmt, mode in zip(fast.formats, fast._modes, strict=True):
        starts = fast._starts(text, mode) if mode else None
        if starts is not None:
            expected = [m.span() for m in fmt.pattern.finditer(text)]
            assert [m.span() for m in matches_at(fmt.pattern, text, starts)] == expected, fmt.name
    forget(text)


def _entropy_by_definition(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_random_by_definition(value: str, min_entropy: float = 4.0) -> bool:
    core = value.rstrip("=")
    if not (any(c.isupper() for c in core) and any(c.islower() for c in core)):
        return False
    if sum(map(str.isdigit, core)) < 2 or core.count("/") > 2 or core.count("-") > 3:
        return False
    if len(_CAMEL_WORD.findall(core)) * 4 >= len(core) - 4:
        return False
    return _entropy_by_definition(core) >= min_entropy


_TOKENISH = st.text(alphabet=st.sampled_from([*"aAbBcCxyzXYZ0123456789_+/-=", "\u00b2", "\u0663", "\u00e9"]))


@settings(max_examples=1000)
@given(st.one_of(_TOKENISH, st.text(max_size=40), st.text(min_size=1000, max_size=1100)))
def test_entropy_and_randomness_equal_their_definitions(value: str) -> None:
    # shannon_entropy sums tabled terms and looks_random counts ASCII digits by translate: the very
    # same floats and answers as the plain formulas.
    assert shannon_entropy(value) == _entropy_by_definition(value)
    assert looks_random(value) == _looks_random_by_definition(value)
