"""Load a project: YAML + environment overlay + ``.env``, interpolate, validate, check references.

    patchbay.yaml                  the project
    environments/{env}.yaml        deep-merged on top, env from --env / ENVIRONMENT (default dev)
    .env                           variables for ${VAR} (the real environment wins)

``${VAR}``, ``${VAR:-default}``, ``${secret:NAME}`` and ``${secret:NAME:-default}`` are resolved here,
once. ``{{ ... }}`` is left alone: it is rendered per event, in a sandbox, by the ``prompt`` step.
``$${`` writes a literal ``${``.

Every problem found is reported at once, each with file, line, field path and what is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from dotenv import dotenv_values
from pydantic import BaseModel, ValidationError

from patchbay import registry
from patchbay.config.models import IntegrationConfig, ProjectConfig
from patchbay.config.secrets import EnvSecrets, FileSecrets, SecretProvider, SecretResolver
from patchbay.config.yamlsource import Path_, Positions, deep_merge, load_yaml
from patchbay.errors import ConfigError, ConfigIssue, SecretError

PROJECT_FILE = "patchbay.yaml"
ENVIRONMENT_ALIASES = {
    "dev": "dev",
    "development": "dev",
    "stage": "stage",
    "staging": "stage",
    "prod": "prod",
    "production": "prod",
}
_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class StepSpec:
    """One validated step of an integration."""

    name: str
    config: BaseModel


@dataclass(frozen=True)
class IntegrationSpec:
    """One validated integration: its raw config, its source options and its steps."""

    name: str
    config: IntegrationConfig
    source_config: BaseModel
    steps: list[StepSpec]


@dataclass
class LoadedProject:
    """A validated project, ready to build components from."""

    config: ProjectConfig
    root: Path
    environment: str
    files: list[str]
    env: dict[str, str]
    providers: dict[str, tuple[str, BaseModel]] = field(default_factory=dict)
    targets: dict[str, tuple[str, BaseModel]] = field(default_factory=dict)
    integrations: dict[str, IntegrationSpec] = field(default_factory=dict)
    secret_paths: set[Path_] = field(default_factory=set)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        """The embedded-storage folder, absolute."""
        d = self.config.storage.data_dir
        return d if d.is_absolute() else self.root / d


def normalize_environment(name: str) -> str:
    """'staging' -> 'stage', 'production' -> 'prod'; other names pass through lower-cased."""
    key = name.strip().lower()
    return ENVIRONMENT_ALIASES.get(key, key)


def find_project_file(start: Path | None = None) -> Path:
    """``patchbay.yaml`` in ``start`` (a file or folder) or, for a folder, in one of its parents."""
    start = (start or Path.cwd()).resolve()
    if start.is_file() or start.suffix in {".yaml", ".yml"}:
        return start
    for folder in (start, *start.parents):
        candidate = folder / PROJECT_FILE
        if candidate.exists():
            return candidate
    raise ConfigError(
        f"no {PROJECT_FILE} found in {start} or its parents",
        issues=[
            ConfigIssue(
                file=str(start / PROJECT_FILE),
                line=None,
                field="",
                message="no project file",
                allowed="run 'patchbay init DIR' or pass --config FILE",
            )
        ],
    )


def load_project(
    path: Path | str | None = None,
    *,
    environment: str | None = None,
    env: Mapping[str, str] | None = None,
) -> LoadedProject:
    """Load, interpolate and validate a project; raises ``ConfigError`` listing every problem."""
    project_file = find_project_file(Path(path) if path is not None else None)
    root = project_file.parent
    variables = _environment(root, env)
    env_name = normalize_environment(environment or variables.get("ENVIRONMENT") or "dev")

    data, positions = load_yaml(project_file, display_name=_display(project_file))
    files = [_display(project_file)]
    overlay_file = root / "environments" / f"{env_name}.yaml"
    if overlay_file.exists():
        overlay, overlay_pos = load_yaml(overlay_file, display_name=_display(overlay_file))
        data = deep_merge(data, overlay, positions, overlay_pos)
        files.append(_display(overlay_file))
    elif env_name not in {"dev", "stage", "prod"}:
        raise ConfigError(
            f"unknown environment {env_name!r}",
            issues=[
                ConfigIssue(
                    file=_display(overlay_file),
                    line=None,
                    field="ENVIRONMENT",
                    message=f"no overlay for environment {env_name!r}",
                    allowed="dev, stage (or staging), prod, or a name with environments/NAME.yaml",
                )
            ],
        )

    issues: list[ConfigIssue] = []
    secrets_cfg = data.get("secrets") if isinstance(data.get("secrets"), dict) else {}
    resolver = _resolver(root, secrets_cfg or {}, variables)
    secret_paths: set[Path_] = set()
    data = _interpolate(data, (), positions, variables, resolver, issues, secret_paths)
    if issues:
        raise ConfigError(f"cannot resolve references in {', '.join(files)}", issues=issues)

    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid config ({', '.join(files)})",
            issues=pydantic_issues(exc, (), positions, ProjectConfig),
        ) from None

    loaded = LoadedProject(
        config=config,
        root=root,
        environment=env_name,
        files=files,
        env=variables,
        secret_paths=secret_paths,
        raw=data,
    )
    _validate_components(loaded, positions, issues)
    if issues:
        raise ConfigError(f"invalid config ({', '.join(files)})", issues=issues)
    return loaded


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _environment(root: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    merged: dict[str, str] = {}
    dotenv = root / ".env"
    if dotenv.exists():
        merged.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    merged.update(os.environ if env is None else env)
    return merged


def _resolver(root: Path, secrets_cfg: dict[str, Any], variables: Mapping[str, str]) -> SecretResolver:
    names = secrets_cfg.get("providers") or ["env", "file"]
    directory = Path(str(secrets_cfg.get("dir") or "secrets"))
    directory = directory if directory.is_absolute() else root / directory
    providers: list[SecretProvider] = []
    for name in names:
        if name == "env":
            providers.append(EnvSecrets(variables))
        elif name == "file":
            providers.append(FileSecrets(directory))
    return SecretResolver(providers)


def _located(positions: Positions, path: Path_, message: str, allowed: str | None = None) -> ConfigIssue:
    """A ``ConfigIssue`` for the value at ``path``, at the file and line it came from."""
    file, line = _line(positions, path)
    return ConfigIssue(file=file, line=line, field=_dotted(path), message=message, allowed=allowed)


def _line(positions: Positions, path: Path_) -> tuple[str | None, int | None]:
    probe = path
    while True:
        if probe in positions:
            return positions[probe]
        if not probe:
            return None, None
        probe = probe[:-1]


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _interpolate(
    value: Any,
    path: Path_,
    positions: Positions,
    variables: Mapping[str, str],
    resolver: SecretResolver,
    issues: list[ConfigIssue],
    secret_paths: set[Path_],
) -> Any:
    if isinstance(value, dict):
        return {
            k: _interpolate(v, (*path, k), positions, variables, resolver, issues, secret_paths)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _interpolate(v, (*path, i), positions, variables, resolver, issues, secret_paths)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        expr = match.group(1).strip()
        if expr.startswith("secret:"):
            key, has_default, fallback = expr.removeprefix("secret:").partition(":-")
            key = key.strip()
            try:
                secret = resolver.resolve(key)
            except SecretError as exc:
                if has_default:
                    return fallback
                issues.append(
                    _located(
                        positions,
                        path,
                        exc.message,
                        "a secret available from the configured secret providers",
                    )
                )
                return ""
            secret_paths.add(path)
            return secret
        name, sep, default = expr.partition(":-")
        name = name.strip()
        if not _ENV_NAME.match(name):
            issues.append(
                _located(
                    positions,
                    path,
                    f"invalid reference '${{{expr}}}'",
                    "${VAR}, ${VAR:-default}, ${secret:NAME}, or $${ for a literal",
                )
            )
            return ""
        if name in variables and variables[name] != "":
            return variables[name]
        if sep:
            return default
        issues.append(
            _located(
                positions,
                path,
                f"environment variable {name} is not set",
                f"export {name}=..., add it to .env, or write ${{{name}:-default}}",
            )
        )
        return ""

    return _REF.sub(replace, value)


def pydantic_issues(
    exc: ValidationError, prefix: Path_, positions: Positions, model: type[BaseModel] | None = None
) -> list[ConfigIssue]:
    """Turn a pydantic ``ValidationError`` into located, fixable ``ConfigIssue`` objects."""
    found: list[ConfigIssue] = []
    for err in exc.errors(include_url=False):
        loc: Path_ = (*prefix, *(p for p in err["loc"] if isinstance(p, str | int)))
        file, line = _line(positions, loc)
        kind = err["type"]
        allowed: str | None = None
        message = err["msg"]
        if kind == "extra_forbidden":
            message = "unknown key"
            fields = _fields_at(model, tuple(err["loc"][:-1])) if model is not None else None
            allowed = ", ".join(sorted(fields)) if fields else None
        elif kind == "missing":
            message = "required field is missing"
            file, line = _line(positions, loc[:-1])
        elif kind == "literal_error":
            allowed = str(err.get("ctx", {}).get("expected", "")) or None
        elif ("input" in err and kind.endswith("_type")) or kind.endswith("_parsing"):
            message = f"{err['msg']} (got {type(err.get('input')).__name__})"
        found.append(ConfigIssue(file=file, line=line, field=_dotted(loc), message=message, allowed=allowed))
    return found


def _fields_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str] | None:
    current: Any = model
    for part in loc:
        if current is None:
            return None
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = _unwrap(info.annotation)
        else:
            current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _unwrap(annotation: Any) -> Any:
    """dict[str, X] / list[X] / X | None -> X (the model class one level down), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(get_args(annotation)):
        inner = _unwrap(arg)
        if inner is not None:
            return inner
    return None


def _component(
    kind: registry.Kind,
    type_name: str,
    options: dict[str, Any],
    path: Path_,
    type_path: Path_,
    positions: Positions,
    issues: list[ConfigIssue],
) -> BaseModel | None:
    try:
        module = registry.load(kind, type_name)
    except ConfigError:
        issues.append(
            _located(
                positions, type_path, f"unknown {kind} {type_name!r}", ", ".join(sorted(registry.names(kind)))
            )
        )
        return None
    except ImportError as exc:
        issues.append(
            _located(
                positions,
                type_path,
                f"{kind} {type_name!r} cannot be loaded: {exc}",
                "install the package that provides it",
            )
        )
        return None
    try:
        return module.Config.model_validate(options)
    except ValidationError as exc:
        issues.extend(pydantic_issues(exc, path, positions, module.Config))
        return None


def _validate_components(loaded: LoadedProject, positions: Positions, issues: list[ConfigIssue]) -> None:
    cfg = loaded.config
    for name, spec in cfg.providers.items():
        built = _component(
            "provider",
            spec.type,
            spec.options(),
            ("providers", name),
            ("providers", name, "type"),
            positions,
            issues,
        )
        if built is not None:
            loaded.providers[name] = (spec.type, built)
    for name, spec in cfg.targets.items():
        built = _component(
            "target",
            spec.type,
            spec.options(),
            ("targets", name),
            ("targets", name, "type"),
            positions,
            issues,
        )
        if built is not None:
            loaded.targets[name] = (spec.type, built)
    for name, integ in cfg.integrations.items():
        base: Path_ = ("integrations", name)
        source_cfg = _component(
            "source",
            integ.trigger.source,
            integ.trigger.options(),
            (*base, "trigger"),
            (*base, "trigger", "source"),
            positions,
            issues,
        )
        steps: list[StepSpec] = []
        for index, item in enumerate(integ.steps):
            step_path: Path_ = (*base, "steps", index)
            if len(item) != 1:
                issues.append(
                    _located(
                        positions,
                        step_path,
                        f"a step is a one-key mapping, got keys {sorted(item)}",
                        ", ".join(registry.names("step")),
                    )
                )
                continue
            ((step_name, options),) = item.items()
            built = _component(
                "step",
                step_name,
                options or {},
                (*step_path, step_name),
                (*step_path, step_name),
                positions,
                issues,
            )
            if built is None:
                continue
            steps.append(StepSpec(step_name, built))
            _check_refs(loaded, built, (*step_path, step_name), positions, issues)
        if source_cfg is not None and len(steps) == len(integ.steps):
            loaded.integrations[name] = IntegrationSpec(name, integ, source_cfg, steps)


def _check_refs(
    loaded: LoadedProject,
    step_config: BaseModel,
    path: Path_,
    positions: Positions,
    issues: list[ConfigIssue],
) -> None:
    """Steps name providers/targets; every name must exist. A step's Config says which via ``refs()``."""
    refs = getattr(step_config, "refs", None)
    if not callable(refs):
        return
    known = {"provider": loaded.config.providers, "target": loaded.config.targets}
    for kind, field_name, ref in refs():
        if ref not in known[kind]:
            issues.append(
                _located(
                    positions,
                    (*path, field_name),
                    f"no {kind} named {ref!r}",
                    ", ".join(sorted(known[kind])) or f"define one under '{kind}s:'",
                )
            )
