"""The jira target with OAuth 2.0 client credentials: one token for many writes, sent as Bearer."""

from __future__ import annotations

import json
from typing import Any

import httpx

from patchbay import registry
from patchbay.connectors.base import WriteRequest
from patchbay.connectors.jira.target import Config, JiraTarget
from patchbay.http import HttpClientFactory


async def test_oauth2_client_credentials_token_is_fetched_once_and_used_for_every_write() -> None:
    seen: list[tuple[str, str]] = []
    properties: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("authorization", "")))
        if request.url.host == "idp.acme.test":
            return httpx.Response(200, json={"access_token": "short-lived-1", "expires_in": 3600})
        if "/properties/" in request.url.path:
            if request.method == "GET":
                return (
                    httpx.Response(404)
                    if request.url.path not in properties
                    else httpx.Response(200, json={"value": properties[request.url.path]})
                )
            properties[request.url.path] = json.loads(request.content)
            return httpx.Response(200)
        return httpx.Response(204)

    config = Config.model_validate(
        {
            "base_url": "https://acme.atlassian.net",
            "auth": {
                "kind": "oauth2",
                "token_url": "https://idp.acme.test/oauth/token",
                "client_id": "patchbay",
                "client_secret": "oauth-client-secret",
                "scope": "write:jira-work",
            },
        }
    )
    http = HttpClientFactory(transport=httpx.MockTransport(handler))
    target = JiraTarget(config, registry.BuildContext(name="jira", http=http))
    for n in range(3):
        req = WriteRequest(
            integration="i",
            delivery_id=f"d{n}",
            idempotency_key=f"k{n}",
            event={"issue": {"key": f"SUP-{n + 1}"}},
            text="summary",
            record_path="issue.key",
            field="customfield_1",
        )
        await target.write(req)
    token_calls = [s for s in seen if s[0] == "/oauth/token"]
    jira_calls = [s for s in seen if s[0].startswith("/rest/")]
    assert len(token_calls) == 1
    assert jira_calls and {auth for _, auth in jira_calls} == {"Bearer short-lived-1"}
    assert target.plan(req)[0].headers["Authorization"] == "Bearer ***"
