"""A catalogue of secret formats: auth headers, ``key=value`` credentials and known token shapes.

To add a format, append a :class:`SecretFormat` to :data:`FORMATS`: a name, a regex whose group
``value`` (or the whole match) is the secret, and optionally a check that rules out look-alikes.
Only the value is reported, so ``password=hunter2`` becomes ``password=<SECRET_1>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from patchbay.sanitize.replace import PLACEHOLDER
from patchbay.sanitize.spans import Span


def _mixed(value: str) -> bool:
    """Letters and digits both present: a token, not a word like 'sk-learn-compatible-estimator'."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _not_filler(value: str) -> bool:
    """A real value, not an empty marker or something already masked ('***', '<SECRET_1>', 'null')."""
    stripped = value.strip("\"'`")
    if len(stripped) < 3 or PLACEHOLDER.fullmatch(stripped):
        return False
    if set(stripped) <= set("*xX.•-_#"):
        return False
    return stripped.lower() not in {"null", "none", "true", "false", "undefined", "redacted", "changeme?"}


@dataclass(frozen=True)
class SecretFormat:
    """One secret shape: ``pattern`` finds it, group ``value`` (else the match) is masked."""

    name: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None


_KEY_NAMES = r"(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|client[_-]?secret)"
# The key may carry prefixes and suffixes joined by '_', '-' or '.' (db_password, X-Api-Key,
# aws_secret_access_key) but not plain letters, so 'max_tokens' or 'passwords' are not keys.
_KEY = rf"(?<![\w-])(?:[A-Za-z0-9]+[_.-])*{_KEY_NAMES}(?:[_-][A-Za-z0-9]+)*"
_VALUE = r"(?:\"(?P<dq>[^\"\n]{1,256})\"|'(?P<sq>[^'\n]{1,256})'|(?P<bare>[^\s\"',;&<>)\]}]{1,256}))"
_AUTH = r"(?im)\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
_KEY_VALUE = re.compile(rf"(?i){_KEY}[\"']?[ \t]*(?::=|=>|[:=])[ \t]*{_VALUE}")

FORMATS: tuple[SecretFormat, ...] = (
    SecretFormat(
        "authorization_header",
        re.compile(
            rf"{_AUTH}(?:bearer|basic|token|bot|apikey|ssws|negotiate|ntlm)[ \t]+(?P<value>[^\s\"',;]+)"
        ),
        _not_filler,
    ),
    # Digest credentials are several comma-separated parameters: mask the rest of the header line.
    SecretFormat(
        "authorization_digest",
        re.compile(rf"{_AUTH}digest[ \t]+(?P<value>(?:[^\n\"]|\"[^\"\n]*\")+)"),
        _not_filler,
    ),
    # A header with no scheme word: the value itself is the key.
    SecretFormat("authorization_raw", re.compile(rf"{_AUTH}(?P<value>[A-Za-z0-9._~+/=-]{{8,}})"), _mixed),
    SecretFormat("bearer_token", re.compile(r"\bBearer[ \t]+(?P<value>[A-Za-z0-9\-._~+/]{8,}=*)"), _mixed),
    SecretFormat(
        "private_key",
        re.compile(
            r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s]*)"
        ),
    ),
    SecretFormat("github_token", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b")),
    SecretFormat("github_fine_grained_token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b")),
    SecretFormat("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    SecretFormat("slack_token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    SecretFormat("aws_access_key_id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    SecretFormat("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    SecretFormat("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), _mixed),
    SecretFormat("stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}")),
    SecretFormat("google_api_key", re.compile(r"\bAIza[A-Za-z0-9_-]{35}(?![\w-])")),
    SecretFormat("atlassian_token", re.compile(r"\bATATT[A-Za-z0-9_=-]{20,}")),
    SecretFormat(
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.(?:[A-Za-z0-9_-]{8,}\b|(?![A-Za-z0-9_-]))"),
    ),
)


class SecretDetector:
    """Secrets: every format in :data:`FORMATS` plus ``key=value`` pairs with a credential-like key."""

    entity_types: tuple[str, ...] = ("secret",)

    def __init__(self, formats: tuple[SecretFormat, ...] = FORMATS) -> None:
        self.formats = formats

    def detect(self, text: str) -> Iterator[Span]:
        """Every secret value in ``text``."""
        for fmt in self.formats:
            for m in fmt.pattern.finditer(text):
                group = "value" if "value" in fmt.pattern.groupindex else 0
                start, end = m.span(group)
                value = text[start:end].rstrip()
                if value and (fmt.check is None or fmt.check(value)):
                    yield Span(start, start + len(value), "secret", value)
        for m in _KEY_VALUE.finditer(text):
            group = next(g for g in ("dq", "sq", "bare") if m.group(g) is not None)
            start, end = m.span(group)
            value = text[start:end]
            if _not_filler(value):
                yield Span(start, end, "secret", value)
