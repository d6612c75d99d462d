"""``patchbay keys``: create, list, revoke and rotate API keys (stored as hashes in the run database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from patchbay.auth.apikeys import SCOPES, ApiKey, ApiKeyStore, Kind, parse_expiry
from patchbay.cli._common import ConfigOption, EnvOption, console, err_console, load, user_errors
from patchbay.runs import databases
from patchbay.runs.store import RunStore

app = typer.Typer(help="API keys for the admin API and service-to-service calls.", no_args_is_help=True)


def _store(config: ConfigOption, env: EnvOption) -> tuple[ApiKeyStore, str]:
    project = load(config, env)
    runs = RunStore(databases.resolve(project).runs_url)
    return ApiKeyStore(runs.engine), project.environment


def _public(key: ApiKey) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": key.key_id,
        "prefix": key.prefix,
        "name": key.name,
        "scopes": list(key.scopes),
        "allow_ips": list(key.allow_ips),
        "status": key.status(now),
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "rotated_to": key.rotated_to,
    }


def _show_once(token: str, key: ApiKey, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"key": token, **_public(key)}))
        return
    console.print(f"[bold]{token}[/]", highlight=False, soft_wrap=True)
    err_console.print(
        f"API key {key.prefix} ({key.name}; scopes: {', '.join(key.scopes)}). This is the only time the key "
        "is shown: store it in your secret manager now.",
        highlight=False,
    )


@app.command()
def create(
    name: Annotated[str, typer.Option("--name", help="What the key is for, e.g. 'ci-replayer'.")],
    scopes: Annotated[
        list[str],
        typer.Option("--scopes", "--scope", help=f"Scope (repeat or comma-separate): {', '.join(SCOPES)}"),
    ],
    allow_ip: Annotated[
        list[str] | None, typer.Option("--allow-ip", help="Only from this address or CIDR (repeatable).")
    ] = None,
    expires: Annotated[str | None, typer.Option("--expires", help="30d, 12h, 90m or a date.")] = None,
    test: Annotated[
        bool | None, typer.Option("--test/--live", help="Key type; default: live in prod, test elsewhere.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key and its record as JSON.")] = False,
    config: ConfigOption = None,
    env: EnvOption = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    with user_errors():
        store, environment = _store(config, env)
        kind: Kind = (
            ("test" if test else "live")
            if test is not None
            else ("live" if environment == "prod" else "test")
        )
        wanted = [s.strip() for item in scopes for s in item.split(",") if s.strip()]
        token, key = store.create(
            name=name,
            scopes=wanted,
            kind=kind,
            allow_ips=allow_ip or [],
            expires_at=parse_expiry(expires) if expires else None,
        )
        _show_once(token, key, as_json)


@app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    config: ConfigOption = None,
    env: EnvOption = None,
) -> None:
    """List keys (prefixes and records; keys themselves are never stored)."""
    with user_errors():
        store, _ = _store(config, env)
        keys = store.list()
        if as_json:
            for key in keys:
                typer.echo(json.dumps(_public(key)))
            return
        table = Table("prefix", "name", "scopes", "allow-ip", "status", "expires")
        for key in keys:
            row = _public(key)
            table.add_row(
                key.prefix,
                key.name,
                ", ".join(key.scopes),
                ", ".join(key.allow_ips) or "any",
                str(row["status"]),
                str(row["expires_at"] or "never"),
            )
        console.print(table)


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id or prefix (pb_live_<id>), from 'keys list'.")],
    config: ConfigOption = None,
    env: EnvOption = None,
) -> None:
    """Revoke a key; every server refuses it within a minute."""
    with user_errors():
        store, _ = _store(config, env)
        key = store.revoke(key_id)
        console.print(f"revoked {key.prefix} ({key.name})", highlight=False)


@app.command()
def rotate(
    key_id: Annotated[str, typer.Argument(help="The key's id or prefix, from 'keys list'.")],
    grace: Annotated[
        str | None,
        typer.Option("--grace", help="Keep the old key working this long (e.g. 1h). Default: none."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the new key and its record as JSON.")
    ] = False,
    config: ConfigOption = None,
    env: EnvOption = None,
) -> None:
    """Replace a key with a new one (same name, scopes, allow-list); print the new key once."""
    with user_errors():
        store, _ = _store(config, env)
        now = datetime.now(UTC)
        window = (parse_expiry(grace, now=now) - now) if grace else timedelta(0)
        token, key = store.rotate(key_id, grace=window, now=now)
        _show_once(token, key, as_json)
