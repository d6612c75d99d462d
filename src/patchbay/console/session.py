"""Console sessions: a signed cookie that says who logged in, and the CSRF token of each form.

A person pastes an API key or the admin token once; the console checks it with the admin API's
authorizer and answers with a cookie ``pb_console`` = ``base64url(json).hmac_sha256`` (HttpOnly,
SameSite=Strict, Secure behind https). The cookie never holds the credential itself, only:

* ``kind``/``name``/``scopes`` of the caller, an expiry and a random ``nonce`` (the CSRF seed);
* for an API key its lookup id, so a revoked or expired key ends its sessions within ``RECHECK_S``;
* for the admin token a fingerprint of it, so rotating ``server.admin_token`` ends those sessions.

The signing key is ``console.key`` (0600) in the data folder, made on first use; deleting it logs
everybody out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COOKIE = "pb_console"
SESSION_S = 8 * 3600
RECHECK_S = 30.0


def console_key(data_dir: Path) -> bytes:
    """The cookie-signing key: ``<data dir>/console.key``, created (0600) on first use."""
    path = data_dir / "console.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def fingerprint(key: bytes, secret: str) -> str:
    """A short keyed hash of a secret (the admin token): comparable, not reversible."""
    return hmac.new(key, b"admin-token:" + secret.encode(), hashlib.sha256).hexdigest()[:24]


@dataclass(frozen=True)
class Session:
    """What a valid session cookie carries."""

    kind: str  # api_key | admin_token | oidc | local
    name: str
    scopes: frozenset[str]
    expires: float
    nonce: str
    key_id: str | None = None
    token_fp: str | None = None

    def allows(self, scope: str) -> bool:
        """Same rule as :class:`patchbay.auth.callers.Caller`: ``admin.manage`` holds every scope."""
        return scope in self.scopes or "admin.manage" in self.scopes or "*" in self.scopes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Signs and verifies session cookies and derives CSRF tokens from them."""

    def __init__(self, key: bytes, *, lifetime_s: float = SESSION_S) -> None:
        self._key = key
        self.lifetime_s = lifetime_s

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, b"session:" + payload.encode(), hashlib.sha256).hexdigest()

    def new(
        self,
        *,
        kind: str,
        name: str,
        scopes: frozenset[str],
        key_id: str | None = None,
        token_fp: str | None = None,
    ) -> Session:
        """A fresh session for a caller who just proved who they are."""
        return Session(
            kind=kind,
            name=name,
            scopes=scopes,
            expires=float(int(time.time() + self.lifetime_s)),
            nonce=secrets.token_urlsafe(16),
            key_id=key_id,
            token_fp=token_fp,
        )

    def encode(self, session: Session) -> str:
        """The cookie value."""
        body: dict[str, Any] = {
            "k": session.kind,
            "n": session.name,
            "s": sorted(session.scopes),
            "e": int(session.expires),
            "c": session.nonce,
        }
        if session.key_id:
            body["i"] = session.key_id
        if session.token_fp:
            body["t"] = session.token_fp
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def decode(self, value: str | None, *, now: float | None = None) -> Session | None:
        """The session in a cookie value; None when absent, tampered with, malformed or expired."""
        if not value or "." not in value or len(value) > 4096:
            return None
        payload, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):  # bytes: non-ASCII input
            return None
        try:
            body = json.loads(_unb64(payload))
            session = Session(
                kind=str(body["k"]),
                name=str(body["n"]),
                scopes=frozenset(str(s) for s in body["s"]),
                expires=float(body["e"]),
                nonce=str(body["c"]),
                key_id=body.get("i"),
                token_fp=body.get("t"),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires <= (time.time() if now is None else now):
            return None
        return session

    def csrf_token(self, session: Session) -> str:
        """The token every form of this session carries."""
        return hmac.new(self._key, b"csrf:" + session.nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        """Whether a submitted form's token belongs to this session."""
        return bool(token) and hmac.compare_digest(self.csrf_token(session).encode(), (token or "").encode())
