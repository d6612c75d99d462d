"""The ``prompt-api`` provider: request shape, accounting and the shared error mapping."""

from __future__ import annotations

import json

import httpx
import pytest

from patchbay.errors import ModelOutputError, ModelRejected, ModelTimeout, ModelUnavailable
from patchbay.http import HttpClientFactory
from patchbay.providers import prompt_api
from patchbay.providers.base import ModelRequest
from patchbay.registry import BuildContext

KEY = "pk-live-9f8e7d6c5b4a3210"
REQUEST = ModelRequest(
    prompt="Summarize: refunds fail for orders over 1000 EUR.", system="Be brief.", max_tokens=80
)
ANSWER = {
    "output": {"text": "Refunds above 1000 EUR fail at the payment step."},
    "metadata": {"tokens_consumed": 57, "cost_usd": 0.00042, "model": "claude-x"},
}


def make(handler: object, **options: object) -> prompt_api.PromptApiProvider:
    config = prompt_api.Config.model_validate(
        {"base_url": "https://ai.internal.test/api", "api_key": KEY, "model": "claude-x", **options}
    )
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    return prompt_api.build(
        config, BuildContext(name="prompt-api", http=HttpClientFactory(transport=transport))
    )


@pytest.mark.parametrize("path", ["/prompt-execute", "/execute"])
async def test_posts_the_prompt_with_a_bearer_key_and_reads_output_and_cost(path: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ANSWER)

    response = await make(handler, path=path).complete(REQUEST)
    assert response.text == "Refunds above 1000 EUR fail at the payment step."
    assert (response.tokens_out, response.cost_usd, response.model) == (57, 0.00042, "claude-x")
    assert str(seen[0].url) == f"https://ai.internal.test/api{path}"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(seen[0].content) == {
        "prompt": REQUEST.prompt, "system": "Be brief.", "model": "claude-x",
        "max_tokens": 80, "temperature": 0.2,
    }  # fmt: skip


async def test_separate_token_counts_are_used_when_the_api_reports_them() -> None:
    body = {
        "output": {"text": "Fine answer here."},
        "metadata": {"tokens_in": 40, "tokens_out": 12, "cost_usd": 0.1},
    }
    response = await make(lambda request: httpx.Response(200, json=body)).complete(REQUEST)
    assert (response.tokens_in, response.tokens_out) == (40, 12)


async def test_429_carries_retry_after_and_5xx_is_retryable() -> None:
    reply = httpx.Response(
        429, headers={"Retry-After": "7"}, json={"error": {"code": "rate_limited", "message": "x"}}
    )
    with pytest.raises(ModelUnavailable) as caught:
        await make(lambda request: reply).complete(REQUEST)
    assert (caught.value.status_code, caught.value.retry_after) == (429, 7.0)
    with pytest.raises(ModelUnavailable):
        await make(lambda request: httpx.Response(503, text="upstream down")).complete(REQUEST)


async def test_401_is_permanent_and_never_shows_the_key() -> None:
    reply = httpx.Response(401, json={"error": {"code": "unauthorized", "message": f"bad key {KEY}"}})
    with pytest.raises(ModelRejected) as caught:
        await make(lambda request: reply).complete(REQUEST)
    assert "bad key" in caught.value.message and KEY not in caught.value.message


async def test_timeout_reset_and_truncated_body() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    with pytest.raises(ModelTimeout):
        await make(timeout).complete(REQUEST)
    with pytest.raises(ModelUnavailable):
        await make(reset).complete(REQUEST)
    with pytest.raises(ModelUnavailable, match="not valid JSON"):
        await make(lambda request: httpx.Response(200, content=b'{"output": {"te')).complete(REQUEST)


async def test_missing_output_text_is_an_output_error() -> None:
    with pytest.raises(ModelOutputError, match=r"output\.text"):
        await make(lambda request: httpx.Response(200, json={"result": "hi"})).complete(REQUEST)


def test_path_is_limited_to_the_known_endpoints() -> None:
    with pytest.raises(ValueError, match="prompt-execute"):
        prompt_api.Config.model_validate({"base_url": "http://x", "api_key": "k", "path": "/run"})
