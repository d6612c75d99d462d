"""The ``openai`` provider: wire format, error mapping (mock transport) and a real llama.cpp server."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx
import pytest

from patchbay.errors import ModelOutputError, ModelRejected, ModelTimeout, ModelUnavailable
from patchbay.http import HttpClientFactory
from patchbay.providers import openai
from patchbay.providers.base import ModelRequest
from patchbay.providers.resilience import RetryPolicy, WithRetry
from patchbay.registry import BuildContext

KEY = "sk-test-0123456789abcdefSECRET"
REQUEST = ModelRequest(prompt="Summarize: the login page returns 500.", system="Be brief.", max_tokens=50)


def completion(
    text: str = "The login page fails with a server error.", finish: str = "stop"
) -> dict[str, object]:
    return {
        "id": "cmpl-1",
        "model": "gpt-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30},
    }


Handler = Callable[[httpx.Request], httpx.Response]


def make(handler: Handler, **options: object) -> openai.OpenAIProvider:
    config = openai.Config.model_validate(
        {"base_url": "https://llm.example.test/v1", "model": "gpt-test", "api_key": KEY, **options}
    )
    ctx = BuildContext(name="llm", http=HttpClientFactory(transport=httpx.MockTransport(handler)))
    return openai.build(config, ctx)


async def test_sends_a_chat_completion_and_reads_text_tokens_and_finish_reason() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=completion(finish="length"))

    response = await make(handler, extra_headers={"OpenAI-Organization": "org-1"}).complete(REQUEST)
    assert response.text == "The login page fails with a server error."
    assert (response.tokens_in, response.tokens_out, response.finish_reason) == (21, 9, "length")
    assert (response.provider, response.model) == ("llm", "gpt-test")
    sent = seen[0]
    assert str(sent.url) == "https://llm.example.test/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["openai-organization"] == "org-1"
    body = json.loads(sent.content)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": REQUEST.prompt},
    ]
    assert (body["model"], body["max_tokens"]) == ("gpt-test", 50)


async def test_azure_style_uses_api_key_header_and_api_version() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=completion())

    await make(handler, azure_api_version="2024-06-01").complete(REQUEST)
    assert seen[0].url.params["api-version"] == "2024-06-01"
    assert seen[0].headers["api-key"] == KEY
    assert "authorization" not in seen[0].headers


async def test_429_with_retry_after_is_retryable_and_the_retry_waits_that_long() -> None:
    limited = httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"message": "slow down"}})
    replies = iter([limited, httpx.Response(200, json=completion())])
    provider = make(lambda request: next(replies))
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    response = await WithRetry(provider, RetryPolicy(sleep=sleep)).complete(REQUEST)
    assert response.text
    assert delays == [3.0]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
async def test_overload_statuses_are_retryable(status: int) -> None:
    provider = make(lambda request: httpx.Response(status, json={"error": {"message": "busy"}}))
    with pytest.raises(ModelUnavailable) as caught:
        await provider.complete(REQUEST)
    assert caught.value.status_code == status
    assert "busy" in caught.value.message


async def test_401_is_permanent_quotes_the_provider_and_hides_the_key() -> None:
    echoed = f"Incorrect API key provided: {KEY[:6]}***{KEY[-6:]}. Also {KEY}."
    provider = make(lambda request: httpx.Response(401, json={"error": {"message": echoed}}))
    with pytest.raises(ModelRejected) as caught:
        await provider.complete(REQUEST)
    message = caught.value.message
    assert caught.value.status_code == 401
    assert "Incorrect API key provided" in message and "api_key" in message
    assert KEY not in message and KEY[-6:] not in message


async def test_timeout_maps_to_model_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ModelTimeout, match="did not answer within 10s"):
        await make(handler).complete(REQUEST)


async def test_connection_reset_maps_to_model_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("Connection reset by peer", request=request)

    with pytest.raises(ModelUnavailable, match="could not be reached"):
        await make(handler).complete(REQUEST)


async def test_truncated_json_in_a_200_is_retryable() -> None:
    cut = json.dumps(completion()).encode()[:40]
    provider = make(
        lambda request: httpx.Response(200, content=cut, headers={"Content-Type": "application/json"})
    )
    with pytest.raises(ModelUnavailable, match="not valid JSON"):
        await provider.complete(REQUEST)


@pytest.mark.parametrize("body", [{}, {"choices": []}, {"choices": [{"text": "legacy"}]}, []])
async def test_valid_json_of_the_wrong_shape_is_an_output_error(body: object) -> None:
    provider = make(lambda request: httpx.Response(200, json=body))
    with pytest.raises(ModelOutputError, match="choices"):
        await provider.complete(REQUEST)


def test_config_rejects_unknown_keys_and_keeps_the_key_secret() -> None:
    with pytest.raises(ValueError, match="extra"):
        openai.Config.model_validate({"base_url": "http://x/v1", "model": "m", "apikey": "oops"})
    config = openai.Config.model_validate({"base_url": "http://x/v1", "model": "m", "api_key": KEY})
    assert KEY not in repr(config)


async def test_real_sockets_refused_is_unavailable_and_silent_is_a_timeout() -> None:
    """With the production (aiohttp) transport, not just the mock one."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        http = HttpClientFactory()
        config = openai.Config(base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout_s=0.3)
        try:
            with pytest.raises(ModelTimeout):
                await openai.build(config, BuildContext(name="silent", http=http)).complete(REQUEST)
            silent.close()
            with pytest.raises(ModelUnavailable, match="could not be reached"):
                await openai.build(config, BuildContext(name="closed", http=http)).complete(REQUEST)
        finally:
            await http.aclose()


@pytest.mark.llm_server
async def test_real_llama_cpp_server_answers_through_the_openai_provider(llama_server: str) -> None:
    config = openai.Config(base_url=llama_server, model="smollm2", timeout_s=60)
    http = HttpClientFactory()
    provider = openai.build(config, BuildContext(name="llama", http=http))
    request = ModelRequest(
        prompt="Summarize in one sentence: users cannot log in since the SSO certificate expired.",
        system="You summarize support tickets.",
        max_tokens=40,
        temperature=0.0,
    )
    try:
        response = await provider.complete(request)
    finally:
        await provider.aclose()
        await http.aclose()
    assert response.text.strip()
    assert response.tokens_in > 10
    assert 0 < response.tokens_out <= 40
    assert response.finish_reason in {"stop", "length"}


@pytest.mark.llm_server
async def test_real_server_unknown_route_is_a_permanent_rejection(llama_server: str) -> None:
    config = openai.Config(base_url=llama_server.removesuffix("/v1") + "/nope", model="smollm2")
    http = HttpClientFactory()
    provider = openai.build(config, BuildContext(name="llama", http=http))
    try:
        with pytest.raises(ModelRejected) as caught:
            await provider.complete(REQUEST)
    finally:
        await http.aclose()
    assert caught.value.status_code == 404
