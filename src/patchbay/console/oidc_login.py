"""Console login through the company's identity provider: OIDC authorization code with PKCE (S256).

``GET /console/login/oidc`` sends the browser to the IdP's ``authorization_endpoint`` (from discovery)
with a fresh ``state``, ``nonce`` and PKCE challenge; the three secrets travel in a short-lived signed
cookie ``pb_oidc`` (HMAC with ``console.key``, 10 minutes, ``SameSite=Lax`` because the IdP's redirect
back is a cross-site navigation). ``GET /console/login/callback`` checks ``state`` against the cookie,
exchanges the code at the ``token_endpoint`` (with the verifier), verifies the ID token (signature,
``iss``, ``aud`` = our client id, ``exp``, ``nonce``) and the access token with the same validator the
APIs use, maps its roles to scopes and issues the ordinary console session cookie.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from patchbay.auth.callers import Caller, Denied
from patchbay.auth.oidc import OidcConfig, OidcValidator
from patchbay.console.access import PAGE_SCOPE, Access
from patchbay.console.pages import _safe_next as safe_next
from patchbay.console.render import SECURITY_HEADERS, Renderer

if TYPE_CHECKING:
    from patchbay.config.loader import LoadedProject

FLOW_COOKIE = "pb_oidc"
FLOW_S = 600
CALLBACK_PATH = "/console/login/callback"


@dataclass(frozen=True)
class Flow:
    """One login under way: what the callback must see again."""

    state: str
    nonce: str
    verifier: str
    next_url: str
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OidcLogin:
    """Starts and finishes the code + PKCE flow for one issuer and client."""

    def __init__(self, config: OidcConfig, validator: OidcValidator, key: bytes, public_url: str) -> None:
        assert config.console_client_id is not None
        self.config = config
        self.client_id = config.console_client_id
        self.validator = validator
        self._key = key
        self.redirect_uri = config.console_redirect_uri or public_url.rstrip("/") + CALLBACK_PATH

    @property
    def label(self) -> str:
        """What the login button names: the issuer's host."""
        return self.config.issuer.split("://", 1)[-1].split("/", 1)[0]

    # -- the flow cookie ---------------------------------------------------------------------------
    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, b"oidc-flow:" + payload.encode(), hashlib.sha256).hexdigest()

    def encode(self, flow: Flow) -> str:
        """The ``pb_oidc`` cookie value."""
        body = {
            "s": flow.state,
            "n": flow.nonce,
            "v": flow.verifier,
            "x": flow.next_url,
            "e": int(flow.expires),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def decode(self, value: str | None) -> Flow | None:
        """The flow in a cookie; None when absent, tampered with or expired."""
        if not value or "." not in value or len(value) > 2048:
            return None
        payload, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            flow = Flow(str(body["s"]), str(body["n"]), str(body["v"]), str(body["x"]), float(body["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return flow if flow.expires > time.time() else None

    # -- the two legs ------------------------------------------------------------------------------
    def _endpoint(self, name: str) -> str:
        url = self.validator.discovery().get(name)
        if not isinstance(url, str):
            raise Denied(503, "idp_unavailable", f"the identity provider's discovery document has no {name}")
        return url

    def start(self, next_url: str) -> tuple[str, Flow]:
        """(the IdP's authorization URL, the flow to keep in the cookie); ``Denied`` if the IdP is down."""
        flow = Flow(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next_url=next_url,
            expires=time.time() + FLOW_S,
        )
        scopes = ["openid", *[s for s in self.config.console_scopes if s != "openid"]]
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(scopes),
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": _b64(hashlib.sha256(flow.verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        if self.config.console_resource:
            params["resource"] = self.config.console_resource
        endpoint = self._endpoint("authorization_endpoint")
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}", flow

    def finish(self, params: dict[str, str], flow: Flow | None) -> Caller:
        """The person behind the IdP's redirect; ``Denied`` with a message for the login page."""
        if flow is None:
            raise Denied(400, "login_expired", "this sign-in expired or was started elsewhere; sign in again")
        if not hmac.compare_digest(params.get("state", "").encode(), flow.state.encode()):
            raise Denied(
                400, "state_mismatch", "the sign-in answer does not belong to this browser; sign in again"
            )
        if "error" in params:
            reason = (params.get("error_description") or params["error"])[:200]
            raise Denied(401, "login_refused", f"the identity provider refused the sign-in: {reason}")
        code = params.get("code", "")
        if not code:
            raise Denied(400, "login_refused", "the identity provider sent no authorization code")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": flow.verifier,
        }
        if self.config.console_resource:
            form["resource"] = self.config.console_resource
        tokens: dict[str, Any] = self.validator.post_form(self._endpoint("token_endpoint"), form)
        id_token, access_token = tokens.get("id_token"), tokens.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise Denied(401, "login_refused", "the identity provider's answer lacks an ID or access token")
        person = self.validator.id_claims(id_token, client_id=self.client_id, nonce=flow.nonce)
        caller = self.validator.caller(access_token)  # roles -> scopes, exactly as for the APIs
        name = str(person.get("preferred_username") or person.get("email") or person["sub"])
        return Caller("oidc", name[:200], caller.scopes)


class SsoPages:
    """The two routes of the flow, rendering failures on the login page (never a 500)."""

    def __init__(self, login: OidcLogin, access: Access, render: Renderer) -> None:
        self.login = login
        self.access = access
        self.render = render

    async def begin(self, request: Request) -> Response:
        """``GET /console/login/oidc``: off to the IdP."""
        next_url = safe_next(request.query_params.get("next"))
        try:
            url, flow = await asyncio.to_thread(self.login.start, next_url)
        except Denied as exc:
            return self.render.login(request, next_url=next_url, status=exc.status, error=_sentence(exc))
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            FLOW_COOKIE,
            self.login.encode(flow),
            max_age=FLOW_S,
            path="/console/login",
            httponly=True,
            samesite="lax",  # the IdP's redirect back is a cross-site top-level navigation
            secure=self.access.secure,
        )
        return response

    async def callback(self, request: Request) -> Response:
        """``GET /console/login/callback``: the IdP's answer; a session cookie or the login page."""
        flow = self.login.decode(request.cookies.get(FLOW_COOKIE))
        next_url = flow.next_url if flow else "/console/"
        params = {k: v[:4096] for k, v in request.query_params.items()}
        try:
            caller = await asyncio.to_thread(self.login.finish, params, flow)
            if not caller.allows(PAGE_SCOPE):
                raise Denied(
                    403,
                    "insufficient_scope",
                    f"{caller.name} has no role that grants {PAGE_SCOPE!r} (auth.oidc.role_scopes)",
                )
        except Denied as exc:
            response: Response = self.render.login(
                request, next_url=next_url, status=exc.status, error=_sentence(exc)
            )
        else:
            session = self.access.codec.new(kind="oidc", name=caller.name, scopes=caller.scopes)
            # A page, not a redirect: a SameSite=Strict cookie set in a cross-site redirect chain would
            # not be sent with the next hop, so the browser moves on by itself (no script needed).
            response = HTMLResponse(
                f'<!doctype html><meta http-equiv="refresh" content="0;url={html.escape(next_url)}">'
                f'<p>Signed in. <a href="{html.escape(next_url)}">Continue to the console</a></p>',
                headers=SECURITY_HEADERS,
            )
            self.access.set_cookie(response, session)
        response.delete_cookie(FLOW_COOKIE, path="/console/login")
        return response


def _sentence(exc: Denied) -> str:
    return exc.message[:1].upper() + exc.message[1:] + "."


def sso_pages(project: LoadedProject, access: Access, render: Renderer) -> SsoPages | None:
    """The sign-in routes' handlers when ``auth.oidc.console_client_id`` is set (else None)."""
    config = project.config.auth.oidc
    if config is None or config.console_client_id is None:
        return None
    shared = access.authorizer.oidc
    validator = shared if isinstance(shared, OidcValidator) else OidcValidator(config)  # one JWKS cache
    login = OidcLogin(config, validator, access.codec_key, project.config.server.public_url)
    render.sso = login.label
    return SsoPages(login, access, render)
