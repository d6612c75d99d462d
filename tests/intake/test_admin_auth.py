"""Who may call the admin API: scoped API keys (patchbay keys), the admin token, localhost in dev."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from typer.testing import CliRunner

from patchbay.cli import app as cli
from patchbay.config.loader import load_project
from patchbay.intake.admin import admin_routes
from patchbay.runs import databases
from patchbay.runs.store import RunStore

PROJECT = """\
project: adm
server:
  admin_token: ${ADMIN_TOKEN:-}
limits:
  trusted_proxies: ["10.9.0.0/16"]
"""


class Engine:
    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.replayed: list[str] = []

    def replay(self, run_id: str, *, from_step: str | None = None, force: bool = False) -> str:
        self.replayed.append(run_id)
        return f"{run_id}-replay"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PATCHBAY_DATABASE_URL", raising=False)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    (tmp_path / "patchbay.yaml").write_text(PROJECT)
    return tmp_path


def make_key(root: Path, *args: str, env: str = "dev") -> str:
    result = CliRunner().invoke(
        cli, ["keys", "create", "--config", str(root), "--env", env, "--json", *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout.strip().splitlines()[-1])["key"])


def client(
    root: Path, *, env: str = "dev", peer: str = "203.0.113.5", vars: dict[str, str] | None = None
) -> httpx.AsyncClient:
    project = load_project(root, environment=env, env=vars or {})
    engine = Engine(RunStore(databases.resolve(project).runs_url))
    app = Starlette(routes=admin_routes(project, engine))
    transport = httpx.ASGITransport(app=app, client=(peer, 4242))
    return httpx.AsyncClient(transport=transport, base_url="http://pb")


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


async def test_scopes_are_checked_per_route(root: Path) -> None:
    admin = make_key(root, "--name", "ops", "--scopes", "admin.manage")
    replayer = make_key(root, "--name", "ci", "--scopes", "runs.replay")
    analytics = make_key(root, "--name", "bi", "--scopes", "analytics.read,prompt.execute")
    async with client(root) as c:
        assert (await c.get("/admin/runs", headers=bearer(admin))).status_code == 200
        assert (await c.post("/admin/runs/r1/replay", headers=bearer(admin))).status_code == 202
        assert (await c.post("/admin/runs/r1/replay", headers=bearer(replayer))).status_code == 202
        listing = await c.get("/admin/runs", headers=bearer(replayer))
        assert listing.status_code == 403 and listing.json()["error"]["code"] == "insufficient_scope"
        assert "admin.manage" in listing.json()["error"]["message"]
        for path in ("/admin/runs", "/admin/runs/r1"):
            assert (await c.get(path, headers=bearer(analytics))).status_code == 403
        assert (
            await c.post("/admin/runs/replay", headers=bearer(analytics), json={"all_failed": True})
        ).status_code == 403


async def test_missing_or_bad_credentials_are_401_in_the_one_error_format(root: Path) -> None:
    async with client(root) as c:
        for headers in (
            {},
            bearer("pb_live_nope"),
            bearer("not-a-key"),
            {"Authorization": "Basic Zm9vOmJhcg=="},
        ):
            resp = await c.get("/admin/runs", headers=headers)
            assert resp.status_code == 401, headers
            err = resp.json()["error"]
            assert (
                set(err) == {"code", "message", "request_id"} and resp.headers["www-authenticate"] == "Bearer"
            )


async def test_ip_allow_list_uses_the_socket_and_trusted_proxies_only(root: Path) -> None:
    key = make_key(root, "--name", "ci", "--scopes", "admin.manage", "--allow-ip", "198.51.100.0/24")
    async with client(root, peer="198.51.100.7") as c:
        assert (await c.get("/admin/runs", headers=bearer(key))).status_code == 200
    async with client(root, peer="203.0.113.5") as c:
        spoofed = await c.get("/admin/runs", headers=bearer(key, **{"X-Forwarded-For": "198.51.100.7"}))
        assert spoofed.status_code == 403 and spoofed.json()["error"]["code"] == "ip_not_allowed"
    async with client(root, peer="10.9.1.1") as c:  # a trusted proxy: its X-Forwarded-For is believed
        ok = await c.get("/admin/runs", headers=bearer(key, **{"X-Forwarded-For": "198.51.100.7"}))
        assert ok.status_code == 200
        bad = await c.get("/admin/runs", headers=bearer(key, **{"X-Forwarded-For": "203.0.113.5"}))
        assert bad.status_code == 403


async def test_revoke_and_rotate_from_the_cli(root: Path) -> None:
    runner = CliRunner()
    key = make_key(root, "--name", "ci", "--scopes", "admin.manage")
    listed = runner.invoke(cli, ["keys", "list", "--config", str(root), "--json"])
    record = json.loads(listed.stdout.splitlines()[0])
    assert record["name"] == "ci" and key.startswith(record["prefix"]) and key not in listed.stdout
    rotated = runner.invoke(cli, ["keys", "rotate", record["id"], "--config", str(root), "--json"])
    new_key = json.loads(rotated.stdout.strip().splitlines()[-1])["key"]
    async with client(root) as c:  # a fresh server process: no cache
        assert (await c.get("/admin/runs", headers=bearer(key))).json()["error"]["code"] == "api_key_revoked"
        assert (await c.get("/admin/runs", headers=bearer(new_key))).status_code == 200
    new_id = json.loads(rotated.stdout.strip().splitlines()[-1])["id"]
    assert runner.invoke(cli, ["keys", "revoke", new_id, "--config", str(root)]).exit_code == 0
    async with client(root) as c:
        assert (await c.get("/admin/runs", headers=bearer(new_key))).status_code == 401
    bad = runner.invoke(cli, ["keys", "create", "--config", str(root), "--name", "x", "--scopes", "root"])
    assert bad.exit_code == 1 and "unknown scope 'root'" in bad.output


async def test_prod_refuses_test_keys_and_localhost_without_credentials(root: Path) -> None:
    test_key = make_key(root, "--name", "dev", "--scopes", "admin.manage", "--test")
    live_key = make_key(root, "--name", "prod", "--scopes", "admin.manage", env="prod")
    assert live_key.startswith("pb_live_") and test_key.startswith("pb_test_")
    async with client(root, env="prod", peer="127.0.0.1") as c:
        assert (await c.get("/admin/runs")).status_code == 401
        assert (await c.get("/admin/runs", headers=bearer(test_key))).status_code == 401
        assert (await c.get("/admin/runs", headers=bearer(live_key))).status_code == 200
    async with client(root, env="dev", peer="127.0.0.1") as c:
        assert (await c.get("/admin/runs")).status_code == 200  # localhost in dev, as before


async def test_admin_token_still_works(root: Path) -> None:
    async with client(root, env="prod", vars={"ADMIN_TOKEN": "t0k3n-9f8e7d6c5b4a"}) as c:
        assert (await c.get("/admin/runs", headers=bearer("t0k3n-9f8e7d6c5b4a"))).status_code == 200
        assert (await c.get("/admin/runs", headers=bearer("wrong-token"))).status_code == 401
