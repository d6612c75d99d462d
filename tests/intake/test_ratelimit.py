"""Rate limits: a flood from one client or at one integration gets 429 with Retry-After, before any work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from patchbay.config.limits import LimitsConfig, RateLimit
from patchbay.config.loader import load_project
from patchbay.connectors.base import Delivery
from patchbay.intake.app import create_app
from patchbay.intake.ratelimit import RequestLimits, TokenBuckets, client_address
from patchbay.pipeline.build import build_runtime
from projects import encode, signed, ticket, write_project


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_burst_then_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(RateLimit(per_second=2, burst=3), clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    wait = buckets.take("a")
    assert wait is not None and 0.4 < wait <= 0.5
    assert buckets.take("b") is None  # keys are independent
    clock.now += 0.5
    assert buckets.take("a") is None


def request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request(
        {"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (peer, 1234)}
    )


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    limits = RequestLimits(LimitsConfig(trusted_proxies=["10.0.0.0/8"]))
    assert client_address(request("203.0.113.9", "1.2.3.4"), limits.trusted) == "203.0.113.9"  # spoofed
    assert client_address(request("10.0.0.2", "198.51.100.7, 10.0.0.5"), limits.trusted) == "198.51.100.7"
    # a client prepending its own X-Forwarded-For does not pick its identity
    assert client_address(request("10.0.0.2", "6.6.6.6, 198.51.100.7"), limits.trusted) == "198.51.100.7"
    assert client_address(request("10.0.0.2"), limits.trusted) == "10.0.0.2"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    root = write_project(tmp_path, openai_url="http://127.0.0.1:9", jira_url="http://127.0.0.1:9")
    text = (root / "patchbay.yaml").read_text()
    limits = "limits:\n  per_integration: {per_second: 0.01, burst: 2}\n  per_client: null\n"
    (root / "patchbay.yaml").write_text(limits + text)

    class Submitter:
        async def submit(self, integration: str, delivery: Delivery) -> Any:
            return type("S", (), {"run_id": "r", "duplicate": False})()

    app = create_app(build_runtime(load_project(root, env={})), Submitter())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pb") as c:
        yield c


async def test_integration_flood_gets_429_with_retry_after(client: httpx.AsyncClient) -> None:
    body = encode(ticket())
    codes = [
        (
            await client.post("/hooks/ticket-summary", content=body, headers=signed(body, delivery_id=str(i)))
        ).status_code
        for i in range(2)
    ]
    assert codes == [202, 202]
    resp = await client.post("/hooks/ticket-summary", content=body, headers=signed(body, delivery_id="x"))
    assert resp.status_code == 429
    assert int(resp.headers["retry-after"]) >= 1
    err = resp.json()["error"]
    assert err["code"] == "rate_limited" and "ticket-summary" in err["message"]
    assert err["request_id"] == resp.headers["x-request-id"]


async def test_rate_limit_applies_before_signature_checks(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await client.post("/hooks/ticket-summary", content=b"{}")).status_code == 401
    assert (await client.post("/hooks/ticket-summary", content=b"{}")).status_code == 429


async def test_duplicate_json_keys_are_400_through_the_app(tmp_path: Path) -> None:
    root = write_project(tmp_path, openai_url="http://127.0.0.1:9", jira_url="http://127.0.0.1:9")

    class Submitter:
        async def submit(self, integration: str, delivery: Delivery) -> Any:
            raise AssertionError("must not be reached")

    app = create_app(build_runtime(load_project(root, env={})), Submitter())
    body = b'{"webhookEvent": "jira:issue_created", "webhookEvent": "jira:issue_deleted"}'
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pb") as c:
        resp = await c.post("/hooks/ticket-summary", content=body, headers=signed(body))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_json"
    assert "twice" in resp.json()["error"]["message"]
