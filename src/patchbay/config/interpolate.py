"""``${VAR}``, ``${VAR:-default}``, ``${secret:NAME}`` and ``${secret:NAME:-default}``, resolved once at load.

``{{ ... }}`` is not touched: it is rendered per event, in a sandbox, by the ``prompt`` step. ``$${``
writes a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from patchbay.config.issues import located
from patchbay.config.secrets import SecretResolver
from patchbay.config.secrets.policy import Ref
from patchbay.config.yamlsource import Path_, Positions
from patchbay.errors import ConfigIssue, SecretError

_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def interpolate(
    value: Any,
    path: Path_,
    positions: Positions,
    variables: Mapping[str, str],
    resolver: SecretResolver,
    issues: list[ConfigIssue],
    secret_paths: set[Path_],
    refs: list[Ref] | None = None,
) -> Any:
    """``value`` with every reference replaced; problems go to ``issues``, what was used to ``refs``."""
    if isinstance(value, dict):
        return {
            k: interpolate(v, (*path, k), positions, variables, resolver, issues, secret_paths, refs)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            interpolate(v, (*path, i), positions, variables, resolver, issues, secret_paths, refs)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = _REF.fullmatch(value.strip()) is not None and not value.strip().startswith("$${")

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        expr = match.group(1).strip()
        if expr.startswith("secret:"):
            key, has_default, fallback = expr.removeprefix("secret:").partition(":-")
            key = key.strip()
            try:
                found = resolver.lookup(key)
            except SecretError as exc:
                if has_default:
                    return fallback
                issues.append(
                    located(
                        positions,
                        path,
                        exc.message,
                        "a secret available from the configured secret providers",
                    )
                )
                return ""
            secret_paths.add(path)
            if refs is not None:
                refs.append(Ref(path, key, True, found.value, found.origin, found.namespace, whole))
            return found.value
        name, sep, default = expr.partition(":-")
        name = name.strip()
        if not _ENV_NAME.match(name):
            issues.append(
                located(
                    positions,
                    path,
                    f"invalid reference '${{{expr}}}'",
                    "${VAR}, ${VAR:-default}, ${secret:NAME}, or $${ for a literal",
                )
            )
            return ""
        if name in variables and variables[name] != "":
            if refs is not None:
                refs.append(Ref(path, name, False, variables[name], f"env:{name}", "", whole))
            return variables[name]
        if sep:
            return default
        issues.append(
            located(
                positions,
                path,
                f"environment variable {name} is not set",
                f"export {name}=..., add it to .env, or write ${{{name}:-default}}",
            )
        )
        return ""

    return _REF.sub(replace, value)
