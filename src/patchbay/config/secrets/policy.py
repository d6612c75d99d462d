"""What ``prod`` refuses at load: placeholder secrets and secrets read from another environment's namespace.

Each refusal is a located :class:`~patchbay.errors.ConfigIssue` (file, line, field) that names the
offending key but never prints its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from patchbay.config.issues import located
from patchbay.config.yamlsource import Path_, Positions
from patchbay.errors import ConfigIssue

# Values nobody uses as a real secret: shipped defaults and the usual fill-me-in markers.
_PLACEHOLDER = re.compile(
    r"^(x{3,}|changeme|change[-_ ]me|change[-_ ]?it|replace[-_ ]?me|todo|tbd|fixme|placeholder|secret|"
    r"password|dummy|example|test|<[^>]*>|your[-_ ].*|\.\.\.|\*+)$",
    re.IGNORECASE,
)
_SECRETISH = re.compile(r"(SECRET|TOKEN|KEY|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
# Namespace segments that belong to a non-production environment.
_NON_PROD = re.compile(r"(^|[/:_.\-#])(dev|develop|development|test|testing|local|sandbox)($|[/_.\-#])")
SCAFFOLD_ENV_EXAMPLE = Path(__file__).resolve().parents[2] / "scaffold" / "env.example"


@dataclass(frozen=True)
class Ref:
    """One ``${...}`` reference resolved at load: where it is, what it named, what it gave."""

    path: Path_
    name: str
    secret: bool
    value: str
    origin: str
    namespace: str  # the secret store's path/prefix it was read from ('' for env and file)
    whole: bool  # the field's whole value is this one reference


def example_defaults(root: Path) -> set[str]:
    """Non-empty values of secret-looking keys in ``.env.example`` (the project's and the scaffold's)."""
    found: set[str] = set()
    for file in (root / ".env.example", SCAFFOLD_ENV_EXAMPLE):
        if not file.exists():
            continue
        for key, value in dotenv_values(file).items():
            if value and _SECRETISH.search(key):
                found.add(value.strip())
    return found


def is_placeholder(value: str, defaults: set[str]) -> bool:
    """True for ``xxxxx``, ``changeme``, ``<your-token>`` and the like, and for ``.env.example`` defaults."""
    text = value.strip()
    return bool(_PLACEHOLDER.match(text)) or text in defaults


def prod_issues(refs: list[Ref], positions: Positions, defaults: set[str]) -> list[ConfigIssue]:
    """Every reference ``prod`` must refuse, located at the field that uses it."""
    issues: list[ConfigIssue] = []
    for ref in refs:
        if not (ref.secret or _SECRETISH.search(ref.name)):
            continue
        kind = "secret" if ref.secret else "variable"
        if is_placeholder(ref.value, defaults):
            issues.append(
                located(
                    positions,
                    ref.path,
                    f"{kind} {ref.name} has a placeholder value (like 'changeme', 'xxxxx' or a "
                    f".env.example default); prod refuses to start with it",
                    f"store the real value of {ref.name} in prod's secret store",
                )
            )
        elif ref.secret and _NON_PROD.search(ref.namespace):
            issues.append(
                located(
                    positions,
                    ref.path,
                    f"secret {ref.name} was read from a non-production namespace ({ref.origin}); "
                    "prod must use its own",
                    "a prod path/prefix, e.g. 'patchbay/{env}' in secrets.vault.path or secrets.aws.prefix",
                )
            )
    return issues
