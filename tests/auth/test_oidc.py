"""OIDC bearer validation against a JWKS served on 127.0.0.1: every hostile token is a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError
from starlette.applications import Starlette

from patchbay.auth.callers import Denied
from patchbay.auth.oidc import OidcConfig, OidcValidator
from patchbay.config.loader import load_project
from patchbay.intake.admin import admin_routes
from patchbay.runs.store import RunStore

AUD = "https://patchbay.acme.test/api"


class Idp:
    """Serves discovery and a JWKS whose keys the test can rotate."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.jwks_hits = 0
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    body = {"issuer": idp.issuer, "jwks_uri": f"{idp.issuer}/jwks"}
                elif self.path.endswith("/jwks"):
                    idp.jwks_hits += 1
                    body = {"keys": [idp.public_jwk(k) for k in idp.keys]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.add_key("k1")

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self, kid: str) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
        return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}

    def token(self, kid: str = "k1", typ: str = "at+jwt", alg: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": AUD, "sub": "svc-1", "iat": now, "exp": now + 300, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.keys[kid], algorithm=alg, headers={"kid": kid, "typ": typ})


@pytest.fixture
def idp() -> Iterator[Idp]:
    server = Idp()
    yield server
    server.server.shutdown()


def validator(idp: Idp, clock: list[float] | None = None, **options: Any) -> OidcValidator:
    cfg = OidcConfig(
        issuer=idp.issuer,
        audience=[AUD],
        role_scopes={"patchbay-admins": ["admin.manage"], "replayers": ["runs.replay"]},
        **options,
    )
    if clock is None:
        return OidcValidator(cfg)
    return OidcValidator(cfg, clock=lambda: clock[0])


def code(v: OidcValidator, token: str) -> str:
    with pytest.raises(Denied) as exc:
        v.caller(token)
    assert exc.value.status == 401
    return exc.value.message


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_valid_access_token_maps_roles_to_scopes(idp: Idp) -> None:
    v = validator(idp)
    caller = v.caller(idp.token(roles=["patchbay-admins", "unmapped"]))
    assert caller.kind == "oidc" and caller.name == "svc-1" and caller.scopes == {"admin.manage"}
    nested = validator(idp, roles_claim="realm_access.roles")
    assert nested.caller(idp.token(realm_access={"roles": ["replayers"]})).scopes == {"runs.replay"}
    assert v.caller(idp.token()).scopes == frozenset()  # authenticated, but may do nothing


def test_hostile_tokens_are_401(idp: Idp) -> None:
    v = validator(idp)
    now = int(time.time())
    header = {"alg": "none", "typ": "at+jwt", "kid": "k1"}
    payload = {"iss": idp.issuer, "aud": AUD, "sub": "x", "exp": now + 300}
    assert "algorithm 'none'" in code(v, f"{b64(header)}.{b64(payload)}.")
    # HS/RS confusion: an HMAC token keyed with the public key's PEM.
    pem = (
        idp.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'at+jwt', 'kid': 'k1'})}.{b64(payload)}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert "algorithm 'HS256'" in code(v, forged)
    assert "audience" in code(v, idp.token(aud="https://other.api"))
    assert "not issued by" in code(v, idp.token(iss="https://evil.example"))
    assert "expired" in code(v, idp.token(iat=now - 4000, exp=now - 3600))
    assert "not valid yet" in code(v, idp.token(nbf=now + 3600))
    assert "ID tokens" in code(v, idp.token(typ="JWT", nonce="n-1"))  # an ID token used as an access token
    lax = validator(idp, require_access_token_type=False)
    assert "ID token" in code(lax, idp.token(typ="JWT", nonce="n-1", at_hash="abc"))
    assert "exp" in code(v, idp.token(exp=None))
    tampered = idp.token(roles=["replayers"]).split(".")
    tampered[1] = b64(
        {**json.loads(base64.urlsafe_b64decode(tampered[1] + "==")), "roles": ["patchbay-admins"]}
    )
    assert "invalid" in code(v, ".".join(tampered))
    for garbage in ("a.b.c", "x" * 5000, "..", "eyJ.eyJ.sig"):
        code(v, garbage)


def test_key_rotation_is_picked_up_and_unknown_kids_cannot_flood_the_idp(idp: Idp) -> None:
    now = [0.0]
    v = validator(idp, now, jwks_min_refresh_s=60)
    v.caller(idp.token())
    assert v.fetches == 1
    for i in range(20):  # unknown kids (garbage, or an attacker's) within the interval: no fetches
        idp.add_key(f"evil{i}")
        code(v, idp.token(kid=f"evil{i}"))
        now[0] += 1
    assert v.fetches == 1
    idp.add_key("k2")  # the IdP rotates: new tokens carry kid k2
    now[0] = 61
    v.caller(idp.token(kid="k2"))  # unknown kid after the interval: one refresh, then it verifies
    assert v.fetches == 2
    now[0] = 62
    v.caller(idp.token(kid="k1"))  # known keys keep working from the cache
    code(v, idp.token(kid="k1", aud="x"))
    assert v.fetches == 2


def test_config_refuses_symmetric_and_none_algorithms() -> None:
    for bad in (["none"], ["HS256"], ["RS256", "HS512"], []):
        with pytest.raises(ValidationError, match="not allowed"):
            OidcConfig(issuer="https://idp", audience=["a"], algorithms=bad)


async def test_admin_api_accepts_oidc_tokens_by_role(idp: Idp, tmp_path: Path) -> None:
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

        def auth(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        admin, replayer = idp.token(roles=["patchbay-admins"]), idp.token(roles=["replayers"])
        assert (await c.get("/admin/runs", headers=auth(admin))).status_code == 200
        assert (await c.get("/admin/runs", headers=auth(replayer))).status_code == 403
        assert (await c.post("/admin/runs/r/replay", headers=auth(replayer))).status_code == 202
        expired = idp.token(roles=["patchbay-admins"], iat=1, exp=2)
        resp = await c.get("/admin/runs", headers=auth(expired))
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"


def test_console_sign_in_id_token_checks_nonce_audience_issuer_expiry(idp: Idp) -> None:
    v = validator(idp)

    def refused(token: str, nonce: str = "n1") -> str:
        with pytest.raises(Denied) as exc:
            v.id_claims(token, client_id="console", nonce=nonce)
        assert exc.value.status == 401
        return exc.value.message

    good = idp.token(typ="JWT", aud="console", sub="alice", nonce="n1")
    assert v.id_claims(good, client_id="console", nonce="n1")["sub"] == "alice"
    assert "nonce" in refused(good, nonce="other")  # a token from another sign-in (replay)
    assert "nonce" in refused(idp.token(typ="JWT", aud="console", nonce=None))
    assert "InvalidAudience" in refused(idp.token(typ="JWT", nonce="n1"))  # issued for the API, not us
    assert "InvalidIssuer" in refused(idp.token(typ="JWT", aud="console", nonce="n1", iss="https://evil"))
    old = int(time.time()) - 3600
    assert "Expired" in refused(idp.token(typ="JWT", aud="console", nonce="n1", iat=old, exp=old + 60))
