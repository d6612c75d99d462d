"""Target ``jira``: write the result into a field of a Jira issue, exactly once per delivery.

Cloud uses REST v3 (rich-text fields take Atlassian Document Format), Data Center REST v2 (strings,
read as wiki markup by rich-text fields). URLs are built from ``base_url`` and a validated issue key,
never from the event's ``issue.self`` (seen malformed, and attacker-controlled in any case).

Idempotency: the idempotency keys already written are recorded in an issue property
(``marker_property``). A write is two requests: one GET of the issue returns the field and the
property together (``?fields=F&properties=P``), and one edit sets the field and appends the key to
the property in the same request (the edit body's ``properties``, Cloud v3 and Data Center v2), so
no crash can leave the field written without its marker. A field that already holds exactly this
text (written by hand, or by an older version that sent two PUTs and crashed between them) is only
marked.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from patchbay.auth.outbound import OAuth2Config, build_auth
from patchbay.connectors.base import WriteRequest
from patchbay.connectors.jira._http import raise_for_status, send
from patchbay.connectors.jira.adf import adf_to_text, text_to_adf
from patchbay.errors import TargetRejected
from patchbay.paths import MISSING, get_path
from patchbay.pipeline.state import HttpRequestPlan, WriteOutcome
from patchbay.registry import BuildContext

ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[1-9][0-9]*|[1-9][0-9]*")
PROPERTY_KEY = re.compile(r"[A-Za-z0-9._-]{1,255}")
KEEP_KEYS = 50
# Jira wiki markup that could ping users, embed remote images or run macros if a model wrote it.
_WIKI_SPECIAL = re.compile(r"([\[\]{}!|])")


class BasicAuth(BaseModel):
    """Cloud: account email + API token. Data Center: username + password."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["basic"] = Field(description="HTTP Basic authentication.")
    email: str = Field(description="Atlassian account email (Cloud) or username (Data Center).")
    api_token: SecretStr = Field(description="API token (Cloud) or password. Use ${secret:...}.")


class BearerAuth(BaseModel):
    """A personal access token (Data Center) or an OAuth 2.0 access token (Cloud)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["bearer"] = Field(description="Bearer token authentication.")
    token: SecretStr = Field(description="The token. Use ${secret:...}.")


class Config(BaseModel):
    """Options of the ``jira`` target."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(
        default=None,
        description="Site URL, e.g. https://acme.atlassian.net. Empty: preview mode, nothing is sent.",
    )
    deployment: Literal["cloud", "datacenter"] = Field(
        default="cloud", description="'cloud' writes through REST v3, 'datacenter' through REST v2."
    )
    auth: Annotated[BasicAuth | BearerAuth | OAuth2Config, Field(discriminator="kind")] | None = Field(
        default=None,
        description="{kind: basic, email, api_token}, {kind: bearer, token} or {kind: oauth2, token_url, "
        "client_id, client_secret, scope} (OAuth 2.0 client credentials). None: preview.",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=300, description="Timeout of each request, in seconds.")
    notify_users: bool = Field(
        default=False, description="Email watchers about the edit (disabling needs project admin rights)."
    )
    marker_property: str = Field(
        default="patchbay.writes", description="Issue property that records which writes already happened."
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://acme.atlassian.net")
        if parts.username or parts.password:
            raise ValueError("must not contain credentials; put them under 'auth' (with ${secret:...})")
        if parts.query or parts.fragment:
            raise ValueError("must not contain a query or fragment; give the site URL only")
        return value

    @field_validator("marker_property")
    @classmethod
    def _check_property(cls, value: str) -> str:
        if not PROPERTY_KEY.fullmatch(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (at most 255)")
        return value


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class JiraTarget:
    """Writes text into one field of the issue named by the event, idempotently."""

    def __init__(self, config: Config, ctx: BuildContext) -> None:
        self.name = ctx.name
        self.config = config
        self._ctx = ctx
        self._api = "3" if config.deployment == "cloud" else "2"

    # -- planning ------------------------------------------------------------------------------
    def issue_key(self, request: WriteRequest) -> str:
        """The issue key (or numeric id) at ``request.record_path``; refuse anything else."""
        try:
            value = get_path(request.event, request.record_path)
        except ValueError as exc:
            raise TargetRejected(f"jira target {self.name!r}: {exc}", code="invalid_issue_key") from None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not ISSUE_KEY.fullmatch(value):
            found = "nothing" if value is MISSING else f"a {type(value).__name__}"
            raise TargetRejected(
                f"jira target {self.name!r}: the event's {request.record_path!r} is not an issue key like "
                f"PROJ-123 or a numeric id (found {found}); point the write step's 'record' at the issue key",
                code="invalid_issue_key",
            )
        return value

    def plan(self, request: WriteRequest) -> list[HttpRequestPlan]:
        """The edit ``write`` would send: the field and the marker property in one PUT (Authorization
        masked). The marker shown holds only this write's key; ``write`` appends it to those already there.
        """
        key = self.issue_key(request)
        return [self._edit_plan(key, [request.idempotency_key], self._field_value(request))]

    def _issue_url(self, key: str) -> str:
        base = self.config.base_url or "https://your-site.atlassian.net"
        return f"{base}/rest/api/{self._api}/issue/{quote(key, safe='')}"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        auth = self.config.auth
        if auth is not None:
            headers["Authorization"] = "Basic ***" if auth.kind == "basic" else "Bearer ***"
        return headers

    def _field_value(self, request: WriteRequest) -> tuple[str, Any]:
        field = request.field
        if not field:
            raise TargetRejected(
                f"jira target {self.name!r} needs a field to write: set 'field' on the write step "
                "(e.g. customfield_10050)",
                code="no_field",
            )
        value: Any = request.text
        if self.config.deployment == "cloud" and request.field_format == "rich":
            value = text_to_adf(request.text)
        elif request.field_format == "rich":
            value = _WIKI_SPECIAL.sub(r"\\\1", request.text)
        return field, value

    def _edit_plan(self, key: str, keys: list[str], field: tuple[str, Any] | None) -> HttpRequestPlan:
        """One issue edit: the field (unless None) and the marker property with ``keys`` (last 50)."""
        url = self._issue_url(key)
        if not self.config.notify_users:
            url += "?notifyUsers=false"
        body: dict[str, Any] = {} if field is None else {"fields": {field[0]: field[1]}}
        body["properties"] = [{"key": self.config.marker_property, "value": {"keys": keys[-KEEP_KEYS:]}}]
        return HttpRequestPlan(method="PUT", url=url, headers=self._headers(), json_body=body)

    # -- writing -------------------------------------------------------------------------------
    def _client(self, base_url: str, auth: BasicAuth | BearerAuth | OAuth2Config) -> httpx.AsyncClient:
        http_auth: httpx.Auth
        if auth.kind == "basic":
            http_auth = httpx.BasicAuth(auth.email, auth.api_token.get_secret_value())
        elif auth.kind == "bearer":
            http_auth = _Bearer(auth.token.get_secret_value())
        else:
            http_auth = build_auth(
                auth,
                token_client=lambda: self._ctx.http.client(
                    f"jira-token:{self.name}", timeout=self.config.timeout_s
                ),
            )
        return self._ctx.http.client(
            f"jira:{self.name}",
            base_url=base_url,
            auth=http_auth,
            headers={"Accept": "application/json"},
            timeout=self.config.timeout_s,
        )

    async def write(self, request: WriteRequest) -> WriteOutcome:
        """Write the field unless the marker property already holds this idempotency key."""
        base_url, auth = self.config.base_url, self.config.auth
        if not base_url or auth is None:
            missing = "base_url" if not base_url else "auth"
            return WriteOutcome(
                target=self.name,
                status="dry_run",
                requests=self.plan(request),
                detail=f"jira target {self.name!r} has no {missing}, so nothing was sent; set base_url "
                "(e.g. https://acme.atlassian.net) and auth ({kind: basic, email, api_token: "
                "${secret:JIRA_API_TOKEN}} or {kind: bearer, token}) to write to a real Jira",
            )
        key = self.issue_key(request)
        field = self._field_value(request)
        client = self._client(base_url, auth)
        where = f"jira target {self.name!r} ({base_url}, issue {key})"
        marker = self.config.marker_property
        query = f"fields={quote(field[0], safe='')}&properties={quote(marker, safe='')}"
        response = await send(client, "GET", f"{self._issue_url(key)}?{query}", where=where)
        raise_for_status(response, where=where, api=self._api, key=key)
        issue = _json_object(response)
        keys = _recorded_keys(issue.get("properties"), marker)
        if request.idempotency_key in keys:
            return WriteOutcome(
                target=self.name,
                status="already_written",
                detail=f"issue {key} already has this write ({request.idempotency_key}); nothing sent",
            )
        keys.append(request.idempotency_key)
        holds = _holds(issue.get("fields"), field[0], request.text)
        # Already there (by hand, or an older version crashed between its field and marker PUTs):
        # only mark it.
        edit = self._edit_plan(key, keys, None if holds else field)
        response = await send(client, "PUT", edit.url, json=edit.json_body, where=where)
        raise_for_status(response, where=where, api=self._api, key=key)
        if holds:
            return WriteOutcome(
                target=self.name,
                status="already_written",
                requests=[edit],
                detail=f"issue {key} already holds this text in {field[0]}; marked it, wrote nothing",
            )
        return WriteOutcome(
            target=self.name, status="written", requests=[edit], detail=f"wrote {field[0]} on {key}"
        )

    async def aclose(self) -> None:
        """Nothing to close: the HTTP client factory owns the clients."""


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _recorded_keys(properties: Any, marker: str) -> list[str]:
    """The idempotency keys in the issue's marker property; a property edited by hand may hold
    anything, and an unexpected shape reads as "no keys yet"."""
    value = properties.get(marker) if isinstance(properties, dict) else None
    keys = value.get("keys") if isinstance(value, dict) else None
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def _holds(fields: Any, field: str, text: str) -> bool:
    """Does the field already hold exactly this text (plain or as Atlassian Document Format)?"""
    value = fields.get(field) if isinstance(fields, dict) else None
    current = adf_to_text(value) if isinstance(value, dict) else value
    return isinstance(current, str) and current.strip() == text.strip()


def build(config: Config, ctx: BuildContext) -> JiraTarget:
    """Construct the target named ``ctx.name``."""
    return JiraTarget(config, ctx)
