"""Where component names come from: built-ins here, third-party ones through entry points.

Every component (step, provider, target, source, secret provider) is one module exposing:

* ``Config`` - a pydantic model with ``extra="forbid"`` and a description on every field;
* ``build(config: Config, ctx: BuildContext) -> component``.

The YAML key, the registry name and the module name are the same word. To add a component, write
its module and its test, and add one line to ``BUILTINS`` (or, from another package, declare an
entry point in the group ``patchbay.<kind>s``, e.g. ``patchbay.providers``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from pydantic import BaseModel

from patchbay.errors import ConfigError

if TYPE_CHECKING:
    from patchbay.http import HttpClientFactory

Kind = Literal["step", "provider", "target", "source"]

BUILTINS: dict[Kind, dict[str, str]] = {
    "step": {
        "validate": "patchbay.steps.validate",
        "select": "patchbay.steps.select",
        "sanitize": "patchbay.steps.sanitize",
        "prompt": "patchbay.steps.prompt",
        "model": "patchbay.steps.model",
        "postprocess": "patchbay.steps.postprocess",
        "write": "patchbay.steps.write",
    },
    "provider": {
        "local": "patchbay.providers.local",
        "openai": "patchbay.providers.openai",
        "prompt-api": "patchbay.providers.prompt_api",
        "extractive": "patchbay.providers.extractive",
        "function": "patchbay.providers.testing",
    },
    "target": {
        "jira": "patchbay.connectors.jira.target",
        "memory": "patchbay.connectors.memory",
        "file": "patchbay.connectors.file",
    },
    "source": {
        "jira": "patchbay.connectors.jira.source",
        "github": "patchbay.connectors.github.source",
        "slack": "patchbay.connectors.slack.source",
        "zendesk": "patchbay.connectors.zendesk.source",
        "standard-webhooks": "patchbay.connectors.standard_webhooks.source",
        "http": "patchbay.connectors.http.source",
    },
}


@dataclass(frozen=True)
class BuildContext:
    """What a component constructor may use besides its own config.

    ``root`` is the project folder: resolve relative paths in options against it.
    """

    name: str
    http: HttpClientFactory
    root: Path = Path(".")
    data_dir: Path = Path(".patchbay")
    environment: str = "dev"
    extra: dict[str, Any] = field(default_factory=dict)


class ComponentModule(Protocol):
    """The attributes every component module has."""

    Config: type[BaseModel]

    def build(self, config: Any, ctx: BuildContext) -> Any: ...


def _entry_point_modules(kind: Kind) -> dict[str, str]:
    found: dict[str, str] = {}
    for ep in entry_points(group=f"patchbay.{kind}s"):
        found[ep.name] = ep.value
    return found


def names(kind: Kind) -> list[str]:
    """All component names of one kind: built-ins first, then entry points."""
    merged = dict(BUILTINS[kind])
    for name, target in _entry_point_modules(kind).items():
        merged.setdefault(name, target)
    return list(merged)


def load(kind: Kind, name: str) -> ComponentModule:
    """Import the module that implements component ``name`` of ``kind``."""
    path = BUILTINS[kind].get(name) or _entry_point_modules(kind).get(name)
    if path is None:
        allowed = ", ".join(sorted(names(kind)))
        raise ConfigError(f"unknown {kind} {name!r}; known {kind}s: {allowed}")
    module: ModuleType = importlib.import_module(path)
    if not hasattr(module, "Config") or not hasattr(module, "build"):
        raise ConfigError(f"{kind} {name!r} ({path}) does not expose Config and build()")
    return cast(ComponentModule, module)
