"""HashiCorp Vault / OpenBao KV v2 as a secret provider (token or AppRole login).

``${secret:NAME}`` reads field ``NAME`` of the KV v2 secret at ``{mount}/{path}``; a name with
slashes, ``jira/API_TOKEN``, reads field ``API_TOKEN`` of ``{mount}/{path}/jira``. ``{env}`` in
``path`` is the environment (``dev``, ``stage``, ``prod``), so each environment reads its own tree.

The Vault address is operator infrastructure, usually on a private network, so these requests do not
go through the SSRF guard (which refuses private addresses); they never follow redirects and ignore
proxy environment variables.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from patchbay.errors import SecretError


class VaultAuth(BaseModel):
    """How Patchbay logs in to Vault/OpenBao."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["token", "approle"] = Field(
        default="token", description="'token': a Vault token. 'approle': role_id + secret_id login."
    )
    token: SecretStr | None = Field(
        default=None, description="Vault token (method token). Use ${VAULT_TOKEN}."
    )
    role_id: str | None = Field(default=None, description="AppRole role id (method approle).")
    secret_id: SecretStr | None = Field(
        default=None, description="AppRole secret id (method approle). Use ${VAULT_SECRET_ID}."
    )
    mount: str = Field(default="approle", description="Where the AppRole auth method is mounted.")


class VaultConfig(BaseModel):
    """The ``secrets.vault`` section: where the KV v2 secrets live and how to log in."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="Vault/OpenBao address, e.g. https://vault.internal:8200.")
    mount: str = Field(default="secret", description="Mount point of the KV v2 engine.")
    path: str = Field(
        default="patchbay/{env}",
        description="Secret path under the mount; '{env}' becomes the environment, so each environment "
        "reads its own namespace.",
    )
    namespace: str | None = Field(default=None, description="Vault Enterprise namespace (X-Vault-Namespace).")
    auth: VaultAuth = Field(default_factory=VaultAuth, description="Login method.")
    timeout_s: float = Field(default=5.0, gt=0, le=60, description="Per-request timeout.")
    ca_cert: str | None = Field(default=None, description="CA bundle for a private certificate authority.")


class VaultSecrets:
    """Reads secrets from Vault/OpenBao KV v2; one request per KV path (then cached by the resolver)."""

    name = "vault"

    def __init__(self, config: VaultConfig, environment: str, *, client: httpx.Client | None = None) -> None:
        self.config = config
        self.path = config.path.replace("{env}", environment).strip("/")
        self.namespace = f"{config.mount.strip('/')}/{self.path}"
        self._client = client or httpx.Client(
            base_url=config.url.rstrip("/"),
            timeout=config.timeout_s,
            follow_redirects=False,
            trust_env=False,
            verify=config.ca_cert or True,
        )
        token = config.auth.token if config.auth.method == "token" else None
        self._token: str | None = token.get_secret_value() if token is not None else None
        self._lock = threading.Lock()

    def _where(self, key: str) -> tuple[str, str]:
        folder, _, field = key.rpartition("/")
        path = f"{self.path}/{folder}" if folder else self.path
        return path.strip("/"), field

    def origin(self, key: str) -> str:
        path, field = self._where(key)
        return f"vault:{self.config.mount}/{path}#{field}"

    def get(self, key: str) -> str | None:
        path, field = self._where(key)
        data = self._read(path)
        if data is None:
            return None
        value = data.get(field)
        return None if value is None else str(value)

    def _read(self, path: str) -> dict[str, Any] | None:
        url = f"/v1/{self.config.mount.strip('/')}/data/{path}"
        response = self._request("GET", url, authenticated=True)
        if response.status_code in (401, 403) and self.config.auth.method == "approle":
            with self._lock:
                self._token = None  # expired or revoked: log in again once
            response = self._request("GET", url, authenticated=True)
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise SecretError(
                f"vault at {self.config.url} denied reading {self.config.mount}/{path} "
                f"(HTTP {response.status_code}); check the token or AppRole policy allows 'read' on "
                f"{self.config.mount}/data/{path}"
            )
        if response.status_code != 200:
            raise SecretError(
                f"vault at {self.config.url} answered HTTP {response.status_code} reading "
                f"{self.config.mount}/{path}"
            )
        try:
            data = response.json()["data"]["data"]
        except (ValueError, KeyError, TypeError):
            raise SecretError(
                f"vault at {self.config.url}: {self.config.mount}/{path} is not a KV v2 secret "
                f"(is '{self.config.mount}' a kv-v2 mount?)"
            ) from None
        return data if isinstance(data, dict) else None

    def _headers(self, token: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if token:
            headers["X-Vault-Token"] = token
        if self.config.namespace:
            headers["X-Vault-Namespace"] = self.config.namespace
        return headers

    def _request(
        self, method: str, url: str, *, authenticated: bool, json: dict[str, Any] | None = None
    ) -> httpx.Response:
        token = self._login() if authenticated else None
        try:
            return self._client.request(method, url, headers=self._headers(token), json=json)
        except httpx.HTTPError as exc:
            raise SecretError(
                f"cannot reach vault at {self.config.url} ({type(exc).__name__}); check secrets.vault.url"
            ) from None

    def _login(self) -> str:
        with self._lock:
            if self._token:
                return self._token
        auth = self.config.auth
        if auth.method == "token":
            raise SecretError("secrets.vault.auth.token is empty; set it (e.g. token: ${VAULT_TOKEN})")
        if not auth.role_id or auth.secret_id is None:
            raise SecretError("secrets.vault.auth: method approle needs role_id and secret_id")
        response = self._request(
            "POST",
            f"/v1/auth/{auth.mount.strip('/')}/login",
            authenticated=False,
            json={"role_id": auth.role_id, "secret_id": auth.secret_id.get_secret_value()},
        )
        if response.status_code != 200:
            raise SecretError(
                f"vault AppRole login at {self.config.url} failed (HTTP {response.status_code}); "
                "check role_id/secret_id and that the secret id has not expired"
            )
        try:
            token = str(response.json()["auth"]["client_token"])
        except (ValueError, KeyError, TypeError):
            raise SecretError(f"vault AppRole login at {self.config.url} returned no client token") from None
        with self._lock:
            self._token = token
        return token
