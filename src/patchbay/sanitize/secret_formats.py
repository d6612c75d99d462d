"""A catalogue of secret formats: auth headers, ``key=value`` credentials and known token shapes.

To add a format, append a :class:`SecretFormat` to :data:`FORMATS`: a name, a regex whose group
``value`` (or the whole match) is the secret, and optionally a check that rules out look-alikes.
Only the value is reported, so ``password=hunter2`` becomes ``password=<SECRET_1>``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from patchbay.sanitize import prefilter
from patchbay.sanitize.replace import PLACEHOLDER
from patchbay.sanitize.scan import lower, matches_at, present, triggers
from patchbay.sanitize.spans import Span, make_span


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
    hints: tuple[str, ...] = ()
    """Lower-case substrings one of which every match contains; a text with none is skipped
    without running the regex (most texts hold no secret, so this is most of the speed)."""


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
    SecretFormat(
        "gitlab_token", re.compile(r"\b(?:glpat|gldt|glrt|glptt|glft|glsoat|glimt)-[A-Za-z0-9_.-]{20,}")
    ),
    SecretFormat("gitlab_ci_job_token", re.compile(r"\bglcbt-[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20,}")),
    SecretFormat("gitlab_runner_registration_token", re.compile(r"\bGR1348941[\w-]{20,}")),
    SecretFormat("slack_token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    SecretFormat("slack_app_token", re.compile(r"\bxapp-\d-[A-Z0-9]+-\d+-[A-Za-z0-9]+")),
    SecretFormat(
        "slack_webhook",
        re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<value>[A-Za-z0-9+/]{20,80})"),
    ),
    SecretFormat("gcp_oauth_client_secret", re.compile(r"\bGOCSPX-[A-Za-z0-9_-]{28}")),
    SecretFormat(
        "azure_ad_client_secret",
        re.compile(r"(?<![\w~.])(?P<value>[a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34})(?![\w~.-])"),
    ),
    SecretFormat("azure_storage_key", re.compile(r"(?i)\bAccountKey=(?P<value>[A-Za-z0-9+/]{40,100}={0,2})")),
    SecretFormat(
        "azure_sas_signature", re.compile(r"[?&]sig=(?P<value>[A-Za-z0-9%+/]{30,100}(?:%3D|=){0,2})")
    ),
    SecretFormat("stripe_webhook_secret", re.compile(r"\bwhsec_[A-Za-z0-9]{24,}")),
    SecretFormat("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    SecretFormat("sendgrid_key", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}")),
    SecretFormat("digitalocean_token", re.compile(r"\bdo[opr]_v1_[a-f0-9]{64}\b")),
    SecretFormat("shopify_token", re.compile(r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b")),
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

# Literal hints per format name (see SecretFormat.hints); formats missing here always run.
_HINTS: dict[str, tuple[str, ...]] = {
    "authorization_header": ("authorization",),
    "authorization_digest": ("authorization",),
    "authorization_raw": ("authorization",),
    "bearer_token": ("bearer",),
    "private_key": ("private key",),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "github_fine_grained_token": ("github_pat_",),
    "gitlab_token": ("glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "glimt-"),
    "gitlab_ci_job_token": ("glcbt-",),
    "gitlab_runner_registration_token": ("gr1348941",),
    "slack_token": ("xox",),
    "slack_app_token": ("xapp-",),
    "slack_webhook": ("hooks.slack.com",),
    "gcp_oauth_client_secret": ("gocspx-",),
    "azure_ad_client_secret": ("q~",),
    "azure_storage_key": ("accountkey=",),
    "azure_sas_signature": ("sig=",),
    "stripe_webhook_secret": ("whsec_",),
    "npm_token": ("npm_",),
    "sendgrid_key": ("sg.",),
    "digitalocean_token": ("_v1_",),
    "shopify_token": ("shpat_", "shpca_", "shppa_", "shpss_"),
    "aws_access_key_id": ("akia", "asia"),
    "anthropic_key": ("sk-ant-",),
    "openai_key": ("sk-",),
    "stripe_key": ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
    "google_api_key": ("aiza",),
    "atlassian_token": ("atatt",),
    "jwt": ("eyj",),
}
_KEY_HINTS = ("pass", "pwd", "secret", "token", "key")

# Built-in formats whose pattern opens with one of their hints (after at most "\b"), so every match
# begins where a hint occurs: they are tried only at the hint offsets of the shared trigger index
# (scan.triggers, case-insensitive), not with finditer, which tries a "\b"-led pattern at every
# offset of the text (~1 µs each on a ticket). The authorization headers open with an optional
# "proxy-" before their hint, so they are also tried six characters before each hint that has it.
_STARTS_AT_HINT = frozenset(
    {
        "bearer_token", "github_token", "github_fine_grained_token", "gitlab_token",
        "gitlab_ci_job_token", "gitlab_runner_registration_token", "slack_token", "slack_app_token",
        "slack_webhook", "gcp_oauth_client_secret", "azure_storage_key", "stripe_webhook_secret",
        "npm_token", "sendgrid_key", "shopify_token", "aws_access_key_id", "anthropic_key",
        "openai_key", "stripe_key", "google_api_key", "atlassian_token", "jwt",
    }
)  # fmt: skip
_STARTS_AT_PROXY_OR_HINT = frozenset({"authorization_header", "authorization_digest", "authorization_raw"})
_PROXY = "proxy-"

# How a format is searched: over the whole text, at its hints, or at its hints and "proxy-" before them.
_SCAN, _AT_HINT, _AT_PROXY_OR_HINT = 0, 1, 2


def _scan_mode(fmt: SecretFormat) -> int:
    """Where ``fmt`` can match (a custom format, or one with other hints, is scanned whole)."""
    if fmt.hints or fmt not in FORMATS:
        return _SCAN
    if fmt.name in _STARTS_AT_HINT:
        return _AT_HINT
    return _AT_PROXY_OR_HINT if fmt.name in _STARTS_AT_PROXY_OR_HINT else _SCAN


def _value_group(pattern: re.Pattern[str]) -> str | int:
    """The group a format's value is in: ``value`` where the pattern has one, else the match."""
    return "value" if "value" in pattern.groupindex else 0


def _key_starts(text: str, hints: list[int]) -> list[int]:
    """Offsets where a :data:`_KEY_VALUE` match can begin: every key name holds one of
    :data:`_KEY_HINTS` (found at ``hints``), and the match begins where the key's word does (after
    any ``db_`` or ``X-`` prefixes), or after a '.' inside it, since the lookbehind rules out the rest."""
    starts: set[int] = set()
    for hint in hints:
        pos = hint
        while pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in "_.-"):
            pos -= 1
            if text[pos] == ".":
                starts.add(pos + 1)
        starts.add(pos)
    return sorted(starts)


class SecretDetector:
    """Secrets: every format in :data:`FORMATS` plus ``key=value`` pairs with a credential-like key."""

    entity_types: tuple[str, ...] = ("secret",)

    def __init__(self, formats: tuple[SecretFormat, ...] = FORMATS) -> None:
        self.formats = formats
        # Per format: its hints (None: always run) and the group holding the value, worked out once.
        self._plan = [
            (fmt, frozenset(fmt.hints or _HINTS.get(fmt.name, ())) or None, _value_group(fmt.pattern))
            for fmt in formats
        ]
        # Every hint is found in the shared Aho-Corasick pass over the text (scan.present), which
        # reports each hint present, overlapping ones included ("sk-" inside "sk-ant-"): far
        # cheaper than a substring search per hint, which was half of this detector's time.
        self._hints = tuple(sorted({hint for _, hints, _ in self._plan for hint in hints or ()}))
        # Per hint, the formats it enables (by position in the plan), and the formats with no hint:
        # most texts hold no hint at all, so only those few are looked at.
        self._by_hint: dict[str, list[int]] = {}
        for i, (_, hints, _) in enumerate(self._plan):
            for hint in hints or ():
                self._by_hint.setdefault(hint, []).append(i)
        self._unhinted = {i for i, (_, hints, _) in enumerate(self._plan) if hints is None}
        self._modes = [_scan_mode(fmt) for fmt in formats]

    @staticmethod
    def _key_values(text: str) -> Iterator[re.Match[str]]:
        hints = triggers(text, _KEY_HINTS)
        if hints is None:  # offsets differ after lower(): scan the whole text
            if any(h in lower(text) for h in _KEY_HINTS):
                yield from _KEY_VALUE.finditer(text)
            return
        yield from matches_at(_KEY_VALUE, text, _key_starts(text, hints))

    def _starts(self, text: str, mode: int) -> list[int] | None:
        """Where a format of scan ``mode`` can match: the offsets of every catalogue hint (a
        superset of its own), with ``proxy-`` before them for the authorization headers; None
        where lower() shifts offsets (scan the whole text)."""
        hints = triggers(text, self._hints)
        if hints is None or mode == _AT_HINT:
            return hints
        folded = lower(text)  # triggers() succeeded: the same offsets as text
        size = len(_PROXY)
        proxied = [at - size for at in hints if at >= size and folded.startswith(_PROXY, at - size, at)]
        return sorted({*hints, *proxied}) if proxied else hints

    def detect(self, text: str) -> Iterator[Span]:
        """Every secret value in ``text``."""
        enabled = set(self._unhinted)
        for hint in present(text, self._hints) if self._hints else ():
            enabled.update(self._by_hint[hint])
        at: dict[int, list[int] | None] = {}  # per scan mode, the offsets to try (None: everywhere)
        for i in sorted(enabled):  # in catalogue order, as before
            fmt, _, group = self._plan[i]
            mode = self._modes[i]
            if mode != _SCAN and mode not in at:
                at[mode] = self._starts(text, mode)
            starts = at.get(mode)
            for m in fmt.pattern.finditer(text) if starts is None else matches_at(fmt.pattern, text, starts):
                start, end = m.span(group)
                value = text[start:end].rstrip()
                if value and (fmt.check is None or fmt.check(value)):
                    yield make_span((start, start + len(value), "secret", value, None))
        for m in self._key_values(text):
            group = next(g for g in ("dq", "sq", "bare") if m.group(g) is not None)
            start, end = m.span(group)
            value = text[start:end]
            if _not_filler(value):
                yield make_span((start, end, "secret", value, None))


# A generic token: 24+ base64url characters standing alone. Paths, hex digests (commit hashes) and
# UUIDs are ruled out by the checks in EntropyDetector, not by the pattern.
_TOKEN = re.compile(r"(?<![\w/+.=-])[A-Za-z0-9_+/-]{24,512}={0,2}(?![\w/+=.-])")
# Where a _TOKEN match can begin: its lookbehind rules out every offset but the start of a run of
# token characters, and the run must be 24+ long. Finding these runs first and trying _TOKEN only
# there is cheaper than _TOKEN.finditer, which (starting with a lookbehind) tries every offset.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_+/-]{24,}")
_CAMEL_WORD = re.compile(r"[A-Z][a-z]{2,}")


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution."""
    counts = Counter(value)
    n = len(value)
    terms = _TERMS.get(n)
    if terms is None:
        if n > _MAX_TABLED:
            return -sum(c / n * math.log2(c / n) for c in counts.values())
        terms = _TERMS[n] = [0.0, *(c / n * math.log2(c / n) for c in range(1, n + 1))]
    # The same terms (each from the same expression), summed in the same order: the same float.
    return -sum(map(terms.__getitem__, counts.values()))


# Per length n, the entropy term c / n * log2(c / n) of each count c: a lookup instead of two
# divisions, a log and a product per character. looks_random asks for 24-512 characters (a _TOKEN
# match without its "=" padding); longer values are worked out directly, so the table holds at most
# ~130k floats (~4 MB) once every length has been seen, usually a few dozen lengths.
_TERMS: dict[int, list[float]] = {}
_MAX_TABLED = 512


def looks_random(value: str, *, min_entropy: float = 4.0) -> bool:
    """Whether ``value`` reads as a random token: upper, lower and digits mixed, high entropy, and
    not a hex digest, a path or a CamelCase identifier."""
    core = value.rstrip("=")
    if core.isascii():  # every token the pattern finds: a letter is upper-case iff lower() changes it
        mixed_case = core.lower() != core and core.upper() != core
    else:
        mixed_case = any(c.isupper() for c in core) and any(c.islower() for c in core)
    if not mixed_case:
        return False  # hex digests, lower-case slugs and SHOUTING_CONSTANTS
    # For ASCII, str.isdigit() is 0-9: counted as the bytes a translate drops (no call per character).
    digits = (
        len(core) - len(core.encode().translate(None, b"0123456789"))
        if core.isascii()
        else sum(map(str.isdigit, core))
    )
    if digits < 2 or core.count("/") > 2 or core.count("-") > 3:
        return False
    # CamelCase identifiers (AbstractSingletonProxyFactoryBean2) change case at word starts only.
    if len(_CAMEL_WORD.findall(core)) * 4 >= len(core) - 4:
        return False
    return shannon_entropy(core) >= min_entropy


class EntropyDetector:
    """Generic high-entropy tokens that match no known format (a leaked key from a vendor we do
    not know); off with ``entities`` like every other detector, tuned by ``min_entropy``."""

    entity_types: tuple[str, ...] = ("secret",)

    def __init__(self, *, min_entropy: float = 4.0) -> None:
        self.min_entropy = min_entropy

    def detect(self, text: str) -> Iterator[Span]:
        """Every random-looking token in ``text``."""
        starts = prefilter.starts(text, "token")
        if starts is None:
            starts = [run.start() for run in _TOKEN_RUN.finditer(text)]
        for m in matches_at(_TOKEN, text, starts):
            if looks_random(m.group(), min_entropy=self.min_entropy):
                yield make_span((m.start(), m.end(), "secret", m.group(), None))
