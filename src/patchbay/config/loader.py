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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, ValidationError

from patchbay import registry
from patchbay.config.interpolate import interpolate
from patchbay.config.issues import located, pydantic_issues
from patchbay.config.models import IntegrationConfig, ProjectConfig
from patchbay.config.secrets import (
    EnvSecrets,
    FileSecrets,
    SecretResolver,
    SecretsConfig,
    build_resolver,
)
from patchbay.config.secrets.live import attach
from patchbay.config.secrets.policy import Ref, example_defaults, prod_issues
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
    secrets: SecretResolver | None = None

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
    secret_paths: set[Path_] = set()
    secrets_section, resolver = _secrets(root, env_name, data, positions, variables, secret_paths, files)
    refs: list[Ref] = []
    rest = {k: v for k, v in data.items() if k != "secrets"}
    data = interpolate(rest, (), positions, variables, resolver, issues, secret_paths, refs)
    if "secrets" in data or secrets_section:
        data["secrets"] = secrets_section
    if issues:
        raise ConfigError(f"cannot resolve references in {', '.join(files)}", issues=issues)
    if env_name == "prod":
        refused = prod_issues(refs, positions, example_defaults(root))
        if refused:
            raise ConfigError(
                f"refusing to start in prod with placeholder or non-prod secrets ({', '.join(files)})",
                issues=refused,
            )

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
        secrets=resolver,
    )
    _validate_components(loaded, positions, issues)
    if issues:
        raise ConfigError(f"invalid config ({', '.join(files)})", issues=issues)
    for ref in refs:
        if ref.secret and ref.whole:
            _make_live(loaded, ref.path, resolver, ref.name)
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


def _secrets(
    root: Path,
    env_name: str,
    data: dict[str, Any],
    positions: Positions,
    variables: Mapping[str, str],
    secret_paths: set[Path_],
    files: list[str],
) -> tuple[dict[str, Any], SecretResolver]:
    """The ``secrets:`` section, validated, and the resolver it describes.

    The section itself may use ``${VAR}`` and env/file secrets (a Vault token, an AppRole secret id),
    never the stores it configures.
    """
    raw = data.get("secrets") if isinstance(data.get("secrets"), dict) else {}
    boot_dir = Path(str((raw or {}).get("dir") or "secrets"))
    boot = SecretResolver(
        [EnvSecrets(variables), FileSecrets(boot_dir if boot_dir.is_absolute() else root / boot_dir)]
    )
    issues: list[ConfigIssue] = []
    section = interpolate(raw or {}, ("secrets",), positions, variables, boot, issues, secret_paths)
    if issues:
        raise ConfigError(f"cannot resolve references in {', '.join(files)}", issues=issues)
    try:
        config = SecretsConfig.model_validate(section)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid config ({', '.join(files)})",
            issues=pydantic_issues(exc, ("secrets",), positions, SecretsConfig),
        ) from None
    try:
        resolver = build_resolver(config, root=root, environment=env_name, variables=variables)
    except SecretError as exc:
        raise ConfigError(
            f"invalid config ({', '.join(files)})",
            issues=[located(positions, ("secrets", "providers"), exc.message)],
        ) from None
    return section, resolver


def _make_live(loaded: LoadedProject, path: Path_, resolver: SecretResolver, key: str) -> None:
    """Swap the ``SecretStr`` at ``path`` for a re-resolving one, in whichever model holds it."""
    head = path[0] if path else None
    if head in ("providers", "targets") and len(path) > 2:
        table = loaded.providers if head == "providers" else loaded.targets
        if str(path[1]) in table:
            attach(table[str(path[1])][1], path[2:], resolver, key)
    elif head == "integrations" and len(path) > 3 and str(path[1]) in loaded.integrations:
        spec = loaded.integrations[str(path[1])]
        if path[2] == "trigger":
            attach(spec.source_config, path[3:], resolver, key)
        elif path[2] == "steps" and isinstance(path[3], int) and len(path) > 5 and path[3] < len(spec.steps):
            attach(spec.steps[path[3]].config, path[5:], resolver, key)
    attach(loaded.config, path, resolver, key)


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
            located(
                positions, type_path, f"unknown {kind} {type_name!r}", ", ".join(sorted(registry.names(kind)))
            )
        )
        return None
    except ImportError as exc:
        issues.append(
            located(
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
                    located(
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
                located(
                    positions,
                    (*path, field_name),
                    f"no {kind} named {ref!r}",
                    ", ".join(sorted(known[kind])) or f"define one under '{kind}s:'",
                )
            )
