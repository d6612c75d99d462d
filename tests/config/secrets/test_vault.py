"""Vault/OpenBao KV v2 as a secret provider, against a real OpenBao dev server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from patchbay.config.loader import load_project
from patchbay.config.secrets import CachedSecrets, VaultConfig, VaultSecrets
from patchbay.config.secrets.vault import VaultAuth
from patchbay.errors import ConfigError, SecretError
from patchbay.intake.app import create_app
from patchbay.pipeline.build import build_runtime
from projects import encode, signed, ticket, write_project
from servers import Bao, openbao


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    with openbao(tmp_path_factory.mktemp("bao")) as server:
        yield server


def approle(bao: Bao, name: str, paths: list[str]) -> tuple[str, str]:
    """An AppRole allowed to read ``paths`` (KV v2); returns (role_id, secret_id)."""
    with bao.client() as c:
        mounts = c.get("/v1/sys/auth").json()
        if "approle/" not in mounts.get("data", mounts):
            c.post("/v1/sys/auth/approle", json={"type": "approle"}).raise_for_status()
        rules = "\n".join(f'path "secret/data/{p}" {{ capabilities = ["read"] }}' for p in paths)
        c.put(f"/v1/sys/policies/acl/{name}", json={"policy": rules}).raise_for_status()
        c.post(
            f"/v1/auth/approle/role/{name}", json={"token_policies": [name], "token_ttl": "5m"}
        ).raise_for_status()
        role_id = c.get(f"/v1/auth/approle/role/{name}/role-id").json()["data"]["role_id"]
        secret_id = c.post(f"/v1/auth/approle/role/{name}/secret-id").json()["data"]["secret_id"]
    return str(role_id), str(secret_id)


def test_token_auth_reads_fields_of_the_environment_path(bao: Bao) -> None:
    bao.put("patchbay/dev", {"HOOK_SECRET": "dev-hook"})
    bao.put("patchbay/prod", {"HOOK_SECRET": "prod-hook"})
    bao.put("patchbay/prod/jira", {"API_TOKEN": "prod-jira"})
    cfg = VaultConfig(url=bao.url, auth=VaultAuth(method="token", token=bao.token))  # type: ignore[arg-type]
    assert VaultSecrets(cfg, "dev").get("HOOK_SECRET") == "dev-hook"
    prod = VaultSecrets(cfg, "prod")
    assert prod.get("HOOK_SECRET") == "prod-hook"
    assert prod.get("jira/API_TOKEN") == "prod-jira"
    assert prod.get("NOT_THERE") is None
    assert VaultSecrets(cfg, "stage").get("HOOK_SECRET") is None  # no secret at patchbay/stage
    assert prod.origin("jira/API_TOKEN") == "vault:secret/patchbay/prod/jira#API_TOKEN"


def test_approle_login_and_policy_denial_is_a_clear_error(bao: Bao) -> None:
    bao.put("patchbay/stage", {"HOOK_SECRET": "stage-hook"})
    role_id, secret_id = approle(bao, "pb-stage", ["patchbay/stage"])
    auth = VaultAuth(method="approle", role_id=role_id, secret_id=secret_id)  # type: ignore[arg-type]
    cfg = VaultConfig(url=bao.url, auth=auth)
    assert VaultSecrets(cfg, "stage").get("HOOK_SECRET") == "stage-hook"
    # The stage role may not read prod's namespace: a SecretError that says what to fix, no value.
    with pytest.raises(SecretError, match=r"denied reading secret/patchbay/prod.*policy"):
        VaultSecrets(cfg, "prod").get("HOOK_SECRET")
    bad = VaultConfig(
        url=bao.url,
        auth=VaultAuth(method="approle", role_id=role_id, secret_id="wrong"),  # type: ignore[arg-type]
    )
    with pytest.raises(SecretError, match=r"AppRole login .* failed"):
        VaultSecrets(bad, "stage").get("HOOK_SECRET")


def test_unreachable_vault_names_the_address() -> None:
    cfg = VaultConfig(url="http://127.0.0.1:9", auth=VaultAuth(token="t"))  # type: ignore[arg-type]
    with pytest.raises(SecretError, match=r"cannot reach vault at http://127.0.0.1:9"):
        VaultSecrets(cfg, "dev").get("X")


def vault_project(tmp_path: Path, bao: Bao, *, ttl: float = 300, env_path: str = "patchbay/{env}") -> Path:
    root = write_project(tmp_path, openai_url="http://127.0.0.1:9", jira_url="http://127.0.0.1:9")
    # HOOK_SECRET comes from Vault now, not from .env.
    dotenv = root / ".env"
    dotenv.write_text(dotenv.read_text().replace("HOOK_SECRET=", "UNUSED=") + f"VAULT_TOKEN={bao.token}\n")
    text = (root / "patchbay.yaml").read_text()
    section = (
        "secrets:\n"
        "  providers: [vault, env]\n"
        f"  cache_ttl_s: {ttl}\n"
        f"  vault: {{url: '{bao.url}', path: '{env_path}', auth: {{token: '${{VAULT_TOKEN}}'}}}}\n"
    )
    (root / "patchbay.yaml").write_text(text.replace("runtime:\n", section + "runtime:\n", 1))
    return root


def test_project_resolves_secrets_from_vault_and_reports_misses_with_file_and_line(
    tmp_path: Path, bao: Bao
) -> None:
    bao.put("patchbay/dev", {"HOOK_SECRET": "from-vault"})
    loaded = load_project(vault_project(tmp_path, bao), env={})
    trigger = loaded.integrations["ticket-summary"].source_config
    assert trigger.secret.get_secret_value() == "from-vault"  # type: ignore[attr-defined]
    bao.put("patchbay/dev", {"OTHER": "x"})
    with pytest.raises(ConfigError) as exc:
        load_project(vault_project(tmp_path / "b", bao), env={})
    (issue,) = exc.value.issues
    assert issue.field == "integrations.ticket-summary.trigger.secret" and issue.line is not None
    assert "HOOK_SECRET" in issue.message and "vault:secret/patchbay/dev#HOOK_SECRET" in issue.message


async def test_a_rotated_webhook_secret_is_picked_up_without_a_restart(tmp_path: Path, bao: Bao) -> None:
    bao.put("patchbay/dev", {"HOOK_SECRET": "before-rotation"})
    runtime = build_runtime(load_project(vault_project(tmp_path, bao, ttl=1.0), env={}))

    class Accept:
        async def submit(self, integration: str, delivery: object) -> object:
            return type("S", (), {"run_id": "r", "duplicate": False})()

    app = create_app(runtime, Accept())
    body = encode(ticket())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pb") as client:

        async def post(secret: str) -> int:
            resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body, secret))
            return resp.status_code

        assert await post("before-rotation") == 202
        bao.put("patchbay/dev", {"HOOK_SECRET": "after-rotation"})
        assert await post("before-rotation") == 202  # still cached: within one TTL nothing changes
        time.sleep(1.1)
        assert await post("after-rotation") == 202  # same process, same app: the new secret
        assert await post("before-rotation") == 401


def test_cache_serves_the_last_value_when_the_store_goes_away(bao: Bao) -> None:
    bao.put("patchbay/dev", {"K": "v1"})
    now = [0.0]
    cfg = VaultConfig(url=bao.url, auth=VaultAuth(token=bao.token))  # type: ignore[arg-type]
    inner = VaultSecrets(cfg, "dev")
    cached = CachedSecrets(inner, ttl_s=10, clock=lambda: now[0])
    assert cached.get("K") == "v1"
    bao.put("patchbay/dev", {"K": "v2"})
    now[0] = 5
    assert cached.get("K") == "v1"
    now[0] = 11
    assert cached.get("K") == "v2"
    inner.config = VaultConfig(url="http://127.0.0.1:9", auth=cfg.auth)
    inner._client = httpx.Client(base_url="http://127.0.0.1:9")
    now[0] = 30
    assert cached.get("K") == "v2"  # outage: keep serving what we had
