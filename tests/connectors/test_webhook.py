"""Signed-webhook sources (github, slack, zendesk, standard-webhooks, http): verify, then parse."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest

from patchbay import registry
from patchbay.connectors.base import Source
from patchbay.connectors.webhook import WebhookSource
from patchbay.errors import RequestError
from patchbay.http import HttpClientFactory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "signatures"
SECRET = "test-secret-for-sources"
WHSEC = "whsec_" + base64.b64encode(b"standard-webhooks-test-key").decode()


def source(name: str, **options: Any) -> WebhookSource:
    module = registry.load("source", name)
    built = module.build(
        module.Config.model_validate(options), registry.BuildContext(name="it", http=HttpClientFactory())
    )
    assert isinstance(built, Source)
    assert isinstance(built, WebhookSource)
    return built


def hexmac(body: bytes, key: bytes = SECRET.encode()) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def test_github_issue_opened() -> None:
    body = (FIXTURES / "github_issues_opened.json").read_bytes()
    headers = {
        "X-Hub-Signature-256": "sha256=" + hexmac(body),
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    }
    src = source("github", secret=SECRET)
    src.verify(headers, body)
    delivery = src.parse(headers, body)
    assert delivery.event_type == "issues.opened"
    assert delivery.delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    with pytest.raises(RequestError) as info:
        src.verify({**headers, "X-Hub-Signature-256": "sha256=" + hexmac(body, b"other")}, body)
    assert info.value.status_code == 401


def test_slack_app_mention_uses_inner_event_type_and_event_id(monkeypatch: pytest.MonkeyPatch) -> None:
    body = (FIXTURES / "slack_event_app_mention.json").read_bytes()
    import time

    ts = str(int(time.time()))
    headers = {
        "X-Slack-Signature": "v0=" + hexmac(f"v0:{ts}:".encode() + body),
        "X-Slack-Request-Timestamp": ts,
    }
    src = source("slack", secret=SECRET)
    src.verify(headers, body)
    delivery = src.parse(headers, body)
    assert delivery.event_type == "app_mention"
    assert delivery.delivery_id.startswith("Ev")


def test_zendesk_event_type_from_body() -> None:
    body = (FIXTURES / "zendesk_event_ticket_created.json").read_bytes()
    from datetime import UTC, datetime

    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sig = base64.b64encode(hmac.new(SECRET.encode(), ts.encode() + body, hashlib.sha256).digest()).decode()
    headers = {
        "X-Zendesk-Webhook-Signature": sig,
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
        "X-Zendesk-Webhook-Invocation-Id": "inv-1",
    }
    src = source("zendesk", secret=SECRET)
    src.verify(headers, body)
    delivery = src.parse(headers, body)
    assert delivery.event_type == "zen:event-type:ticket.created"
    assert delivery.delivery_id == "inv-1"


def test_standard_webhooks_source() -> None:
    import time

    body = b'{"type": "invoice.paid", "data": {"id": 1}}'
    ts = str(int(time.time()))
    key = base64.b64decode(WHSEC.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, f"msg_9.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    headers = {"webhook-id": "msg_9", "webhook-timestamp": ts, "webhook-signature": f"v1,{sig}"}
    src = source("standard-webhooks", secret=WHSEC)
    src.verify(headers, body)
    delivery = src.parse(headers, body)
    assert (delivery.event_type, delivery.delivery_id) == ("invoice.paid", "msg_9")


def test_http_source_with_configured_scheme_and_fields() -> None:
    body = b'{"event": {"kind": "lead.created"}, "uid": 77}'
    src = source(
        "http",
        signature={"scheme": "hmac", "header": "X-CRM-Signature", "prefix": "sha256=", "secret": SECRET},
        event_type_field="event.kind",
        delivery_id_field="uid",
    )
    headers = {"x-crm-signature": "sha256=" + hexmac(body)}
    src.verify(headers, body)
    delivery = src.parse(headers, body)
    assert (delivery.event_type, delivery.delivery_id) == ("lead.created", "77")


def test_http_source_without_ids_uses_defaults_and_body_hash() -> None:
    src = source("http", signature={"scheme": "shared-secret", "secret": SECRET})
    body = b'{"a": 1}'
    src.verify({"X-Patchbay-Token": SECRET}, body)
    delivery = src.parse({}, body)
    assert delivery.event_type == "webhook"
    assert delivery.delivery_id == "sha256:" + hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("name", ["github", "slack", "zendesk", "standard-webhooks", "http"])
def test_no_secret_is_401_unless_unsigned_is_allowed(name: str) -> None:
    with pytest.raises(RequestError) as info:
        source(name).verify({}, b"{}")
    assert (info.value.status_code, info.value.code) == (401, "no_secret_configured")
    assert "allow_unsigned" in info.value.message
    source(name, allow_unsigned=True).verify({}, b"{}")


@pytest.mark.parametrize(
    "body",
    [
        b"[1]",
        b'"x"',
        b"{",
        b'{"a": NaN}',
        b'{"a": 1, "a": 2}',
        b"[" * 200 + b"]" * 200,
        b'{"n": ' + b"9" * 100 + b"}",
    ],
)
def test_hostile_bodies_are_400(body: bytes) -> None:
    src = source("github", allow_unsigned=True)
    with pytest.raises(RequestError) as info:
        src.parse({"X-GitHub-Event": "issues"}, body)
    assert info.value.status_code == 400


def test_github_without_event_header_is_400() -> None:
    with pytest.raises(RequestError) as info:
        source("github", allow_unsigned=True).parse({}, b'{"action": "opened"}')
    assert info.value.code == "invalid_event"
