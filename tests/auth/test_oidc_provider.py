"""OIDC against a real identity provider: panva's ``oidc-provider`` (npm) on 127.0.0.1.

``tests/support/oidc/server.js`` runs the provider (``make install-dev`` runs ``npm ci`` there). Its
clients get JWT access tokens (RFC 9068, ``typ: at+jwt``) with a ``roles`` claim by the client
credentials grant, and people get an ID token + access token by authorization code with PKCE
through the provider's stock login form. Skips without node or the installed package, fails under
CI=true.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

from patchbay.auth.callers import Denied
from patchbay.auth.oidc import OidcConfig, OidcValidator
from patchbay.config.loader import load_project
from patchbay.intake.admin import admin_routes
from patchbay.runs.store import RunStore
from procs import free_port
from servers import missing

SUPPORT = Path(__file__).resolve().parents[1] / "support" / "oidc"
AUD = "https://patchbay.acme.test/api"
CALLBACK = "http://127.0.0.1/callback"
ROLE_SCOPES = {"patchbay-admins": ["admin.manage"], "replayers": ["runs.replay"]}


def new_jwk(kid: str) -> dict[str, Any]:
    """A fresh RSA private key as a JWK for the provider's keystore."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


class Provider:
    """One oidc-provider process; ``restart(keys)`` keeps the issuer (same port) with new keys."""

    def __init__(
        self,
        workdir: Path,
        keys: list[dict[str, Any]],
        *,
        issuer_path: str = "",
        redirect_uris: tuple[str, ...] = (),
    ) -> None:
        node = shutil.which("node")
        if node is None:
            missing("node is not installed (Node 20+ runs the test OIDC provider)")
        if not (SUPPORT / "node_modules" / "oidc-provider").is_dir():
            missing(f"oidc-provider is not installed: run `npm ci` in {SUPPORT} (make install-dev does)")
        self.node = str(node)
        self.workdir = workdir
        self.port = free_port()
        self.issuer_path = issuer_path
        self.redirect_uris = redirect_uris  # besides CALLBACK, for the browser client
        self.issuer = f"http://127.0.0.1:{self.port}{issuer_path}"
        self.proc: subprocess.Popen[str] | None = None
        self.start(keys)

    def start(self, keys: list[dict[str, Any]]) -> None:
        """Run the provider signing with ``keys[0]`` and wait until it listens."""
        path = self.workdir / f"keys-{self.port}.json"
        path.write_text(json.dumps({"keys": keys}))
        args = [self.node, str(SUPPORT / "server.js"), "--port", str(self.port), "--keys", str(path)]
        if self.issuer_path:
            args += ["--issuer-path", self.issuer_path]
        for uri in self.redirect_uris:
            args += ["--redirect-uri", uri]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=SUPPORT
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until "listening <issuer>" or exit
        assert line.strip() == f"listening {self.issuer}", f"oidc-provider did not start: {line!r}"

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self, keys: list[dict[str, Any]]) -> None:
        """The same issuer with a new keystore (key rotation at the IdP)."""
        self.stop()
        self.start(keys)

    def client_token(self, client: str, *, resource: str = AUD) -> str:
        """An access token by the client credentials grant (``client`` is also the secret's prefix)."""
        secret = f"{client.split('-')[0]}-secret"
        response = httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": "client_credentials", "resource": resource, "scope": "api"},
            auth=(client, secret),
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def login(self, user: str = "alice") -> dict[str, Any]:
        """ID token + access token for a person: authorization code with PKCE via the login form."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        params = {
            "client_id": "browser",
            "response_type": "code",
            "scope": "openid api",
            "redirect_uri": CALLBACK,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "nonce": secrets.token_hex(8),
            "state": "st",
            "resource": AUD,
        }
        with httpx.Client(base_url=self.issuer, follow_redirects=False) as c:
            response = c.get("/auth", params=params)
            for _ in range(10):
                location = response.headers["location"]
                if location.startswith(CALLBACK):
                    break
                url = urljoin(str(response.url), location)
                if "/interaction/" in url:
                    page = c.get(url).text
                    prompt = "login" if 'value="login"' in page else "consent"
                    response = c.post(url, data={"prompt": prompt, "login": user, "password": "pw"})
                else:
                    response = c.get(url)
            code = parse_qs(urlparse(location).query)["code"][0]
            tokens = c.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": CALLBACK,
                    "code_verifier": verifier,
                    "client_id": "browser",
                    "resource": AUD,
                },
            )
        assert tokens.status_code == 200, tokens.text
        result: dict[str, Any] = tokens.json()
        return result


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    provider = Provider(tmp_path_factory.mktemp("oidc"), [new_jwk("k1")])
    yield provider
    provider.stop()


def validator(issuer: str, **options: Any) -> OidcValidator:
    return OidcValidator(OidcConfig(issuer=issuer, audience=[AUD], role_scopes=ROLE_SCOPES, **options))


def refused(v: OidcValidator, token: str) -> str:
    with pytest.raises(Denied) as exc:
        v.caller(token)
    assert exc.value.status == 401 and exc.value.code == "invalid_token"
    return exc.value.message


def test_client_credentials_tokens_pass_and_roles_map_to_scopes(idp: Provider) -> None:
    v = validator(idp.issuer)  # discovery, then the JWKS, from the real provider
    admin = v.caller(idp.client_token("admin-svc"))
    assert (admin.kind, admin.name) == ("oidc", "admin-svc") and admin.scopes == {"admin.manage"}
    assert v.caller(idp.client_token("replayer")).scopes == {"runs.replay"}
    assert v.caller(idp.client_token("nobody")).scopes == frozenset()  # authenticated, may do nothing
    assert jwt.get_unverified_header(idp.client_token("nobody"))["typ"] == "at+jwt"


def test_person_access_token_passes_but_the_id_token_is_refused(idp: Provider) -> None:
    tokens = idp.login("alice")
    v = validator(idp.issuer)
    person = v.caller(tokens["access_token"])
    assert person.name == "alice" and person.scopes == {"admin.manage"}
    assert "not an access token" in refused(v, tokens["id_token"])
    # Even where the 'typ' check is relaxed and the client id is an accepted audience, the ID
    # token's nonce gives it away.
    lax = validator(idp.issuer, require_access_token_type=False)
    lax.config.audience.append("browser")
    assert "ID token" in refused(lax, tokens["id_token"])


def test_wrong_audience_and_wrong_issuer_are_refused(idp: Provider, tmp_path: Path) -> None:
    v = validator(idp.issuer)
    assert "audience" in refused(v, idp.client_token("admin-svc", resource="https://other.acme.test/api"))
    # A second, genuine provider with the very same signing key: only 'iss' tells its tokens apart.
    keys = json.loads((idp.workdir / f"keys-{idp.port}.json").read_text())["keys"]
    other = Provider(tmp_path, keys, issuer_path="/other-realm")
    try:
        token = other.client_token("admin-svc")
        assert validator(other.issuer).caller(token).scopes == {"admin.manage"}  # valid at its issuer
        pinned = validator(idp.issuer, jwks_uri=f"{idp.issuer}/jwks")
        assert "not issued by" in refused(pinned, token)
    finally:
        other.stop()


def test_expired_tokens_are_refused(idp: Provider) -> None:
    v = validator(idp.issuer, leeway_s=0)
    token = idp.client_token("admin-svc", resource=AUD + "/short-lived")  # the provider gives it 5 s
    strict = OidcValidator(
        OidcConfig(issuer=idp.issuer, audience=[AUD + "/short-lived"], role_scopes=ROLE_SCOPES, leeway_s=0)
    )
    assert strict.caller(token).scopes == {"admin.manage"}
    time.sleep(max(0.0, jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()) + 1.1)
    assert "expired" in refused(strict, token)
    assert v.caller(idp.client_token("admin-svc")).scopes == {"admin.manage"}  # a fresh one still works


def test_key_rotation_at_the_provider_is_picked_up(tmp_path: Path) -> None:
    k1, k2 = new_jwk("k1"), new_jwk("k2")
    provider = Provider(tmp_path, [k1])
    try:
        v = validator(provider.issuer, jwks_min_refresh_s=0)
        old = provider.client_token("admin-svc")
        assert v.caller(old).scopes == {"admin.manage"}
        assert v.fetches == 1
        provider.restart([k2, k1])  # rotate: k2 signs from now on, k1 is still published
        new = provider.client_token("admin-svc")
        assert jwt.get_unverified_header(new)["kid"] == "k2"
        assert v.caller(new).scopes == {"admin.manage"}  # unknown kid -> one refresh -> verifies
        assert v.fetches == 2
        assert v.caller(old).scopes == {"admin.manage"}  # tokens signed before the rotation still pass
        provider.restart([k2])  # k1 retired at the IdP
        assert "not among the issuer's keys" in refused(validator(provider.issuer), old)
    finally:
        provider.stop()


async def test_admin_api_with_real_provider_tokens(idp: Provider, tmp_path: Path) -> None:
    (tmp_path / "patchbay.yaml").write_text(
        f"auth:\n  oidc:\n    issuer: {idp.issuer}\n    audience: ['{AUD}']\n"
        "    role_scopes: {patchbay-admins: [admin.manage], replayers: [runs.replay]}\n"
    )
    project = load_project(tmp_path, environment="prod", env={})

    class Engine:
        store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")

        def replay(self, run_id: str, *, from_step: str | None = None, force: bool = False) -> str:
            return run_id + "-again"

    app = Starlette(routes=admin_routes(project, Engine()))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://pb") as c:

        def bearer(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        admin, replayer = idp.client_token("admin-svc"), idp.client_token("replayer")
        nobody, person = idp.client_token("nobody"), idp.login("bob")
        assert (await c.get("/admin/runs", headers=bearer(admin))).status_code == 200
        assert (await c.get("/admin/runs", headers=bearer(person["access_token"]))).status_code == 200
        forbidden = await c.get("/admin/runs", headers=bearer(replayer))
        assert forbidden.status_code == 403 and forbidden.json()["error"]["request_id"]
        assert (await c.post("/admin/runs/r1/replay", headers=bearer(replayer))).status_code == 202
        assert (await c.get("/admin/runs", headers=bearer(nobody))).status_code == 403
        for bad in (person["id_token"], idp.client_token("admin-svc", resource="https://other.acme.test")):
            resp = await c.get("/admin/runs", headers=bearer(bad))
            assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"
            assert resp.headers["www-authenticate"].startswith("Bearer")


def test_missing_node_or_package_skips_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="node is not installed"):
        Provider(tmp_path, [])
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="node is not installed"):
        Provider(tmp_path, [])
    assert os.environ["CI"] == "true"
