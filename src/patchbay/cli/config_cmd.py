"""``patchbay config validate|show``: check a project and print it resolved, secrets masked."""

from __future__ import annotations

from typing import Any

import typer
import yaml

from patchbay.cli._common import ConfigOption, EnvOption, console, load
from patchbay.config.loader import LoadedProject
from patchbay.config.yamlsource import Path_

app = typer.Typer(help="Check and show the project configuration.", no_args_is_help=True)

MASK = "**********"


def masked(project: LoadedProject) -> dict[str, Any]:
    """The merged, interpolated config with every value that came from ${secret:...} masked."""

    def walk(value: Any, path: Path_) -> Any:
        if path in project.secret_paths:
            return MASK
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        return value

    result: dict[str, Any] = walk(project.raw, ())
    return result


@app.command("validate")
def validate(config: ConfigOption = None, env: EnvOption = None) -> None:
    """Load the project and every component's options; print each problem with file, line and field."""
    project = load(config, env)
    console.print(
        f"[green]ok[/]: {', '.join(project.files)} ({project.environment}): "
        f"{len(project.providers)} providers, {len(project.targets)} targets, "
        f"{len(project.integrations)} integrations",
        highlight=False,
    )


@app.command("show")
def show(config: ConfigOption = None, env: EnvOption = None) -> None:
    """Print the merged config for an environment as YAML, secrets masked."""
    project = load(config, env)
    typer.echo(f"# {' + '.join(project.files)} (environment: {project.environment})")
    typer.echo(yaml.safe_dump(masked(project), sort_keys=False, allow_unicode=True).rstrip())
