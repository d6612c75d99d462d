"""``patchbay flags list|set|kill|clear``: rollout flags and the kill switch, without a restart."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from patchbay.cli._common import ConfigOption, EnvOption, console, err_console, load, user_errors
from patchbay.rollout.config import Mode, RolloutConfig
from patchbay.rollout.flags import MODES, Flags
from patchbay.runs.databases import resolve
from patchbay.runs.store import RunStore

app = typer.Typer(
    help="Rollout flags: off, shadow, percent, on - and the kill switch.", invoke_without_command=True
)


def _flags(config: ConfigOption, env: EnvOption) -> tuple[Flags, list[str], dict[str, RolloutConfig]]:
    project = load(config, env)
    store = RunStore(resolve(project).runs_url)
    rollouts = {name: integ.rollout for name, integ in project.config.integrations.items()}
    return Flags(store.engine, project.config.flags), sorted(rollouts), rollouts


def _check(name: str, names: list[str]) -> None:
    if name not in names:
        err_console.print(
            f"[bold red]error:[/] no integration named {name!r} (known: {', '.join(names) or 'none'})"
        )
        raise typer.Exit(2)


@app.callback()
def _default(ctx: typer.Context) -> None:
    """Rollout flags (default: list)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_flags)


@app.command("list")
def list_flags(
    config: ConfigOption = None,
    env: EnvOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per integration.")] = False,
) -> None:
    """Each integration's mode: from the YAML, the run-time override, and what is in effect."""
    flags, names, rollouts = _flags(config, env)
    table = Table("integration", "yaml", "override", "in effect", "source", "reason")
    for name in names:
        rollout = rollouts[name]
        mode, percent, source = flags.effective(name, rollout, fresh=True)
        override = flags.override(name)
        shown = f"{mode} {percent:g}%" if mode == "percent" else mode
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "integration": name,
                        "mode": mode,
                        "percent": percent,
                        "source": source,
                        "override": None if override is None else override["mode"],
                    }
                )
            )
            continue
        yaml_mode = rollout.mode
        table.add_row(
            name,
            yaml_mode,
            override["mode"] if override else "-",
            shown,
            source,
            (override or {}).get("reason") or "",
        )
    if not as_json:
        console.print(table)


@app.command("set")
def set_flag(
    integration: Annotated[str, typer.Argument(help="Integration name.")],
    mode: Annotated[str, typer.Option(help="off | shadow | percent | on")],
    percent: Annotated[
        float | None, typer.Option(help="With --mode percent: the share of keys, 0-100.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (shown in listings and the console).")] = None,
    config: ConfigOption = None,
    env: EnvOption = None,
) -> None:
    """Override an integration's mode at run time; every process follows within flags.cache_s."""
    flags, names, _ = _flags(config, env)
    _check(integration, names)
    if mode not in MODES:
        err_console.print(f"[bold red]error:[/] --mode must be one of {', '.join(MODES)}")
        raise typer.Exit(2)
    with user_errors():
        try:
            flags.set(integration, mode=_mode(mode), percent=percent, reason=reason, by="cli")
        except ValueError as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
    console.print(
        f"{integration}: {mode}" + (f" {percent:g}%" if percent is not None else ""), highlight=False
    )


@app.command("kill")
def kill(
    integration: Annotated[str, typer.Argument(help="Integration name.")],
    reason: Annotated[str | None, typer.Option(help="Why (shown in listings and the console).")] = None,
    config: ConfigOption = None,
    env: EnvOption = None,
) -> None:
    """The kill switch: mode off now; runs already under way stop before writing."""
    flags, names, _ = _flags(config, env)
    _check(integration, names)
    flags.set(integration, mode="off", reason=reason or "kill switch", by="cli")
    console.print(
        f"{integration}: off (kill switch). Undo with: patchbay flags clear {integration}", highlight=False
    )


@app.command("clear")
def clear(
    integration: Annotated[str, typer.Argument(help="Integration name.")],
    config: ConfigOption = None,
    env: EnvOption = None,
) -> None:
    """Remove the run-time override: the YAML (or OpenFeature) decides again."""
    flags, names, _ = _flags(config, env)
    _check(integration, names)
    removed = flags.clear(integration)
    console.print(f"{integration}: override {'removed' if removed else 'was not set'}", highlight=False)


def _mode(value: str) -> Mode:
    return value  # type: ignore[return-value]  # checked against MODES above
