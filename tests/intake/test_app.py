"""Webhook intake: every malformed request gets a precise 4xx in one JSON format, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from patchbay.config.loader import load_project
from patchbay.connectors.base import Delivery
from patchbay.intake.app import create_app
from patchbay.pipeline.build import build_runtime
from projects import encode, signed, ticket, write_project


@dataclass
class Submitted:
    run_id: str
    duplicate: bool


@dataclass
class RecordingSubmitter:
    seen: list[tuple[str, Delivery]] = field(default_factory=list)

    async def submit(self, integration: str, delivery: Delivery) -> Any:
        duplicate = any(d.delivery_id == delivery.delivery_id for _, d in self.seen)
        self.seen.append((integration, delivery))
        return Submitted(run_id=f"run-{delivery.delivery_id}", duplicate=duplicate)


@pytest.fixture
def submitter() -> RecordingSubmitter:
    return RecordingSubmitter()


@pytest.fixture
async def client(tmp_path: Path, submitter: RecordingSubmitter) -> AsyncIterator[httpx.AsyncClient]:
    root = write_project(tmp_path, openai_url="http://127.0.0.1:9", jira_url="http://127.0.0.1:9")
    (root / "patchbay.yaml").write_text(
        (root / "patchbay.yaml")
        .read_text()
        .replace("workers: 2", "workers: 2\nserver:\n  max_body_bytes: 2048")
    )
    runtime = build_runtime(load_project(root, env={}))
    app = create_app(runtime, submitter)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pb") as c:
        yield c


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["code"] == code
    assert err["message"] and err["request_id"] == resp.headers["x-request-id"]
    assert "Traceback" not in resp.text
    return dict(err)


async def test_signed_delivery_is_accepted(client: httpx.AsyncClient, submitter: RecordingSubmitter) -> None:
    body = encode(ticket())
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="abc"))
    assert resp.status_code == 202
    assert resp.json() == {
        "status": "accepted",
        "duplicate": False,
        "run_id": "run-abc",
        "delivery_id": "abc",
        "request_id": resp.headers["x-request-id"],
    }
    ((name, delivery),) = submitter.seen
    assert name == "ticket-summary" and delivery.event["issue"]["key"] == "SUP-7"


async def test_duplicate_answers_200(client: httpx.AsyncClient) -> None:
    body = encode(ticket())
    await client.post("/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="x"))
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="x"))
    assert resp.status_code == 200 and resp.json()["duplicate"] is True


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "signature_missing"),
        ({"X-Hub-Signature": "sha256=" + "0" * 64}, "signature_invalid"),
        ({"X-Hub-Signature": "md5=abc"}, "signature_invalid"),
        ({"X-Hub-Signature": "sha256=not-hex"}, "signature_invalid"),
    ],
)
async def test_bad_signatures_are_401(
    client: httpx.AsyncClient, submitter: RecordingSubmitter, headers: dict[str, str], code: str
) -> None:
    body = encode(ticket())
    resp = await client.post("/hooks/ticket-summary", content=body, headers=headers)
    assert_error(resp, 401, code)
    assert submitter.seen == []


async def test_tampered_body_and_wrong_secret_are_401(client: httpx.AsyncClient) -> None:
    body = encode(ticket())
    headers = signed(body)
    resp = await client.post(
        "/hooks/ticket-summary", content=body.replace(b"SUP-7", b"SUP-8"), headers=headers
    )
    assert_error(resp, 401, "signature_invalid")
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body, secret="other"))
    assert_error(resp, 401, "signature_invalid")


async def test_oversized_body_is_413(client: httpx.AsyncClient, submitter: RecordingSubmitter) -> None:
    body = encode(ticket(description="x" * 5000))
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body))
    err = assert_error(resp, 413, "body_too_large")
    assert "2048" in err["message"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(10):
            yield b"x" * 500

    resp = await client.post(
        "/hooks/ticket-summary", content=chunks(), headers={"X-Hub-Signature": "sha256=00"}
    )
    assert_error(resp, 413, "body_too_large")
    assert submitter.seen == []


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    body = b'{"webhookEvent": "jira:issue_created", "issue": '
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body))
    err = assert_error(resp, 400, "invalid_json")
    assert "line 1" in err["message"]


async def test_unknown_integration_is_404(client: httpx.AsyncClient) -> None:
    err = assert_error(await client.post("/hooks/nope", content=b"{}"), 404, "unknown_integration")
    assert "ticket-summary" in err["message"]


async def test_unsubscribed_event_type_is_ignored(
    client: httpx.AsyncClient, submitter: RecordingSubmitter
) -> None:
    event = ticket()
    event["webhookEvent"] = "jira:issue_updated"
    body = encode(event)
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body))
    assert resp.status_code == 200 and resp.json()["status"] == "ignored"
    assert "jira:issue_updated" in resp.json()["reason"]
    assert submitter.seen == []


async def test_wrong_method_and_path_use_the_error_format(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/hooks/ticket-summary"), 405, "method_not_allowed")
    assert_error(await client.get("/nowhere"), 404, "not_found")


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    resp = await client.post("/hooks/nope", content=b"{}", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123" and resp.json()["error"]["request_id"] == "abc-123"


async def test_healthz(client: httpx.AsyncClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status_code == 200 and resp.json()["integrations"] == ["ticket-summary"]


async def test_a_delivery_that_cannot_be_recorded_is_503_not_500(
    client: httpx.AsyncClient, submitter: RecordingSubmitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(integration: str, delivery: Delivery) -> Any:
        raise ConnectionError("database restarting")

    monkeypatch.setattr(submitter, "submit", broken)
    body = encode(ticket())
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body))
    err = assert_error(resp, 503, "storage_unavailable")
    assert "retry" in err["message"] and resp.headers["retry-after"] == "5"
