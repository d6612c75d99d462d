"""OIDC bearer tokens for APIs: JWT access tokens from the company's identity provider.

Checked: signature with a key from the issuer's JWKS (cached; an unknown ``kid`` refreshes it, at
most once per ``jwks_min_refresh_s``, so rotation works and garbage ``kid`` values cannot flood the
IdP), a pinned list of asymmetric algorithms (``none`` and HS* are refused at config time, so neither
``alg=none`` nor HS/RS confusion can pass), ``iss``, ``aud``, ``exp``, ``nbf``, and that the token is an
access token (``typ: at+jwt``, RFC 9068) rather than an ID token. Roles from a configurable claim map
to Patchbay scopes. The console's login (authorization code + PKCE) is
:mod:`patchbay.console.oidc_login`; it checks ID tokens with :meth:`OidcValidator.id_claims`.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from patchbay.auth.callers import Caller, Denied

if TYPE_CHECKING:
    from patchbay.config.loader import LoadedProject

ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")


class OidcConfig(BaseModel):
    """The ``auth.oidc`` section: which identity provider's access tokens the APIs accept."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(description="The IdP's issuer URL, exactly as in its tokens' 'iss'.")
    audience: list[str] = Field(
        min_length=1, description="Accepted 'aud' values: this API's identifier at the IdP."
    )
    jwks_uri: str | None = Field(
        default=None, description="Signing keys. Default: 'jwks_uri' from the issuer's discovery document."
    )
    algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "PS256", "ES256"],
        description="Accepted signature algorithms (asymmetric only: 'none' and HS* are refused).",
    )
    roles_claim: str = Field(
        default="roles", description="Claim holding the caller's roles; dots walk into objects."
    )
    role_scopes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Role -> Patchbay scopes, e.g. {patchbay-admins: [admin.manage]}. Unmapped roles grant "
        "nothing.",
    )
    require_access_token_type: bool = Field(
        default=True,
        description="Accept only tokens with header typ 'at+jwt' (RFC 9068). false: accept any typ but still "
        "refuse tokens with ID-token claims (nonce, at_hash).",
    )
    leeway_s: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp/nbf/iat.")
    jwks_cache_s: float = Field(default=3600, gt=0, description="How long fetched signing keys are reused.")
    jwks_min_refresh_s: float = Field(
        default=60, ge=0, description="At most one refresh on an unknown 'kid' per this many seconds."
    )

    console_client_id: str | None = Field(
        default=None,
        description="Client id of Patchbay's console at the IdP (a public client, code + PKCE). Set: the "
        "console login page offers 'Sign in with <issuer>'.",
    )
    console_redirect_uri: str | None = Field(
        default=None,
        description="Redirect URI registered at the IdP. Default: server.public_url + "
        "/console/login/callback.",
    )
    console_scopes: list[str] = Field(
        default_factory=lambda: ["openid"], description="Scopes the console asks for ('openid' is added)."
    )
    console_resource: str | None = Field(
        default=None,
        description="RFC 8707 resource indicator sent with the login, for IdPs that need it to issue a JWT "
        "access token for this API (e.g. the audience).",
    )

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if a not in ASYMMETRIC]
        if bad or not value:
            raise ValueError(
                f"algorithm {bad[0] if bad else '(none)'} is not allowed; use asymmetric ones: "
                f"{', '.join(sorted(ASYMMETRIC))}"
            )
        return value


class AuthConfig(BaseModel):
    """The ``auth`` section: how people and services authenticate to Patchbay's APIs."""

    model_config = ConfigDict(extra="forbid")

    oidc: OidcConfig | None = Field(default=None, description="Accept OIDC access tokens (JWT) as bearer.")


def _deny(message: str) -> Denied:
    return Denied(401, "invalid_token", message)


class OidcValidator:
    """Validates bearer JWTs against one issuer."""

    def __init__(
        self,
        config: OidcConfig,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._client = client or httpx.Client(timeout=5, follow_redirects=False, trust_env=False)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._jwks_uri = config.jwks_uri
        self._discovery: dict[str, Any] | None = None
        self.fetches = 0

    def discovery(self) -> dict[str, Any]:
        """The issuer's discovery document (fetched once)."""
        if self._discovery is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            self._discovery = self._get_json(url)
        return self._discovery

    def post_form(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        """POST a form to the IdP (the token endpoint); its JSON answer, or ``Denied`` saying why not."""
        try:
            response = self._client.post(url, data=form)
            data = response.json()
        except (httpx.HTTPError, ValueError):
            raise Denied(503, "idp_unavailable", f"cannot reach the identity provider at {url}") from None
        if not isinstance(data, dict):
            raise Denied(503, "idp_unavailable", f"{url} did not return a JSON object")
        if response.status_code != 200:
            error = str(data.get("error_description") or data.get("error") or response.status_code)
            raise Denied(401, "login_refused", f"the identity provider refused the login: {error[:200]}")
        return data

    def _discover(self) -> str:
        if self._jwks_uri:
            return self._jwks_uri
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        doc = self.discovery()
        uri = doc.get("jwks_uri")
        if not isinstance(uri, str):
            raise _deny(f"the issuer's discovery document at {url} has no jwks_uri")
        self._jwks_uri = uri
        return uri

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._client.get(url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError):
            raise Denied(503, "idp_unavailable", f"cannot fetch {url} from the identity provider") from None
        if not isinstance(data, dict):
            raise Denied(503, "idp_unavailable", f"{url} did not return a JSON object")
        return data

    def _refresh(self) -> None:
        jwks = self._get_json(self._discover())
        keys: dict[str, jwt.PyJWK] = {}
        for item in jwks.get("keys", []):
            if not isinstance(item, dict) or item.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(item)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                continue  # a key type we cannot use; others may still do
            keys[str(item.get("kid", ""))] = key
        self._keys = keys
        self._fetched_at = self._clock()
        self.fetches += 1

    def _key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.config.jwks_cache_s
            if stale:
                self._refresh()
            elif kid not in self._keys:
                assert self._fetched_at is not None
                if now - self._fetched_at >= self.config.jwks_min_refresh_s:
                    self._refresh()  # the IdP may have rotated its keys
            key = self._keys.get(kid)
        if key is None:
            raise _deny(f"the token's signing key {kid[:64]!r} is not among the issuer's keys")
        return key

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims; ``Denied`` (401) naming what was wrong."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _deny("the bearer token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            raise _deny(
                f"token algorithm {str(alg)[:20]!r} is not accepted ({', '.join(self.config.algorithms)})"
            )
        typ = str(header.get("typ", "")).lower()
        if self.config.require_access_token_type and typ not in ("at+jwt", "application/at+jwt"):
            raise _deny(
                "this is not an access token (header typ must be 'at+jwt'); ID tokens are not accepted"
            )
        key = self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[str(alg)],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _deny("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise _deny("the token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise _deny(f"the token's audience is not {', '.join(self.config.audience)}") from None
        except jwt.InvalidIssuerError:
            raise _deny(f"the token was not issued by {self.config.issuer}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _deny(f"the token lacks the required claim {exc.claim!r}") from None
        except jwt.PyJWTError as exc:
            raise _deny(f"the token is invalid ({type(exc).__name__})") from None
        if any(c in claims for c in ID_TOKEN_CLAIMS):
            raise _deny("this is an ID token; call the API with an access token")
        return claims

    def id_claims(self, token: str, *, client_id: str, nonce: str) -> dict[str, Any]:
        """A verified ID token (OIDC Core 3.1.3.7): signature, iss, aud = our client, exp, nonce."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _deny("the ID token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            raise _deny(f"ID token algorithm {str(alg)[:20]!r} is not accepted")
        key = self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[str(alg)],
                audience=client_id,
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _deny(f"the ID token is invalid ({type(exc).__name__})") from None
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
            raise _deny("the ID token's nonce is not the one this login sent (a replayed token?)")
        return claims

    def caller(self, token: str) -> Caller:
        """The caller behind a token, with its roles mapped to scopes."""
        claims = self.claims(token)
        scopes: set[str] = set()
        for role in roles_of(claims, self.config.roles_claim):
            scopes.update(self.config.role_scopes.get(role, []))
        name = str(claims.get("sub") or claims.get("client_id") or claims.get("azp") or "oidc")
        return Caller("oidc", name, frozenset(scopes))


def roles_of(claims: dict[str, Any], path: str) -> list[str]:
    """The roles at a dotted claim path: a list of strings, or one space-separated string."""
    node: Any = claims
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, str):
        return node.split()
    if isinstance(node, list):
        return [str(r) for r in node if isinstance(r, str | int)]
    return []


def oidc_validator(project: LoadedProject) -> OidcValidator | None:
    """The project's validator, when ``auth.oidc`` is configured."""
    oidc = project.config.auth.oidc
    return OidcValidator(oidc) if oidc is not None else None
