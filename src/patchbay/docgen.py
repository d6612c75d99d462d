"""Generate the configuration reference from the config models (the source of truth).

``patchbay components --markdown`` prints it; ``docs/reference.md`` is its checked-in copy and a test
fails when the two drift. Regenerate with ``make docs``.
"""

from __future__ import annotations

import types
import typing
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from patchbay import registry
from patchbay.config.models import (
    ComponentSpec,
    IntegrationConfig,
    ProjectConfig,
    RuntimeConfig,
    SecretsConfig,
    ServerConfig,
    StorageConfig,
    TriggerConfig,
)
from patchbay.config.secrets import AwsSecretsConfig, VaultConfig
from patchbay.config.secrets.vault import VaultAuth

KIND_TITLES: dict[registry.Kind, str] = {
    "step": "Steps (`integrations.NAME.steps[]`)",
    "provider": "Providers (`providers.NAME`, by `type`)",
    "target": "Targets (`targets.NAME`, by `type`)",
    "source": "Sources (`integrations.NAME.trigger`, by `source`)",
}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(a).replace("'", '"') for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        try:
            value = info.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "(computed)"
        if isinstance(value, BaseModel):
            return "(see below)"
        return f"`{value!r}`"
    if info.default is PydanticUndefined:
        return "**required**"
    if isinstance(info.default, PurePath):
        return f"`{str(info.default)!r}`"
    return f"`{info.default!r}`"


def model_table(model: type[BaseModel]) -> str:
    """A markdown table of a model's fields: key, type, default, description."""
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        key = info.alias or name
        desc = (info.description or "").replace("\n", " ").replace("|", "\\|")
        lines.append(f"| `{key}` | {_type_name(info.annotation)} | {_default(info)} | {desc} |")
    return "\n".join(lines)


def reference_markdown() -> str:
    """The whole configuration reference."""
    out = [
        "# Configuration reference",
        "",
        "Generated from the config models by `patchbay components --markdown` (`make docs`);",
        "do not edit by hand.",
        "A test fails when this file and the models drift.",
        "",
        "## Project file (`patchbay.yaml` + `environments/{env}.yaml`)",
        "",
    ]
    sections: list[tuple[str, type[BaseModel]]] = [
        ("top level", ProjectConfig),
        ("`storage`", StorageConfig),
        ("`secrets`", SecretsConfig),
        ("`secrets.vault`", VaultConfig),
        ("`secrets.vault.auth`", VaultAuth),
        ("`secrets.aws`", AwsSecretsConfig),
        ("`server`", ServerConfig),
        ("`runtime`", RuntimeConfig),
        ("`providers.NAME` / `targets.NAME`", ComponentSpec),
        ("`integrations.NAME`", IntegrationConfig),
        ("`integrations.NAME.trigger`", TriggerConfig),
    ]
    for title, model in sections:
        out += [f"### {title}", "", (model.__doc__ or "").strip().splitlines()[0], "", model_table(model), ""]
    for kind, heading in KIND_TITLES.items():
        out += [f"## {heading}", ""]
        for name in registry.names(kind):
            module = registry.load(kind, name)
            doc = (module.Config.__doc__ or "").strip().splitlines()
            out += [f"### `{name}`", ""]
            if doc:
                out += [doc[0], ""]
            out += [model_table(module.Config), ""]
    return "\n".join(out).rstrip() + "\n"
