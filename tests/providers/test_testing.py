"""Test doubles: the scripted ``function`` provider and ``FunctionProvider``."""

from __future__ import annotations

import pytest

from patchbay import registry
from patchbay.errors import ModelRejected, ModelUnavailable
from patchbay.http import HttpClientFactory
from patchbay.providers.base import ModelRequest, ModelResponse
from patchbay.providers.testing import Config, FunctionProvider, ScriptedProvider, build

REQUEST = ModelRequest(prompt="Summarize the ticket please.")


def scripted(**options: object) -> ScriptedProvider:
    return build(Config.model_validate(options), registry.BuildContext(name="fake", http=HttpClientFactory()))


async def test_scripted_answers_cycle_in_order() -> None:
    provider = scripted(responses=["one answer here.", "two answer here."])
    texts = [(await provider.complete(REQUEST)).text for _ in range(3)]
    assert texts == ["one answer here.", "two answer here.", "one answer here."]
    assert len(provider.calls) == 3


async def test_fail_first_injects_retryable_failures_with_retry_after() -> None:
    provider = scripted(fail_first=2, retry_after=1.5)
    for _ in range(2):
        with pytest.raises(ModelUnavailable) as caught:
            await provider.complete(REQUEST)
        assert (caught.value.status_code, caught.value.retry_after) == (503, 1.5)
    assert (await provider.complete(REQUEST)).text


async def test_fail_status_4xx_injects_a_permanent_failure() -> None:
    with pytest.raises(ModelRejected):
        await scripted(fail_first=1, fail_status=401).complete(REQUEST)


async def test_function_provider_accepts_sync_and_async_functions() -> None:
    async def answer(request: ModelRequest) -> ModelResponse:
        return ModelResponse(text="async answer", tokens_out=2)

    sync = FunctionProvider(lambda request: f"echo {len(request.prompt)}", name="sync")
    assert (await sync.complete(REQUEST)).text == f"echo {len(REQUEST.prompt)}"
    assert sync.calls == [REQUEST]
    response = await FunctionProvider(answer, name="async").complete(REQUEST)
    assert (response.text, response.provider) == ("async answer", "async")


def test_registered_as_the_function_provider() -> None:
    assert registry.load("provider", "function").Config is Config
