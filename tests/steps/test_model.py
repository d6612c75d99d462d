"""The ``model`` step: what ends up in ``state.answer`` when providers answer, fail or talk nonsense."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import ValidationError

from patchbay import registry
from patchbay.config.models import DEFAULT_FALLBACK_MESSAGE
from patchbay.errors import ModelRejected, ModelUnavailable, StepError
from patchbay.http import HttpClientFactory
from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.providers import extractive, openai
from patchbay.providers.base import ModelRequest, ModelResponse, Provider
from patchbay.providers.testing import FunctionProvider
from patchbay.registry import BuildContext
from patchbay.steps.model import Config, ModelStep

PROMPT = (
    "Summarize this ticket in two sentences.\n"
    "Title: Checkout times out for EU customers\n"
    "Description: Since the 2.14.1 deploy every checkout from the EU region times out after 30 seconds. "
    "Retrying does not help and the payment provider shows no incoming request."
)
GOOD = "EU checkouts time out since the 2.14.1 deploy. The payment provider never sees the request."


def state(prompt: str | None = PROMPT) -> RunState:
    return RunState(run_id="run-1", integration="triage", delivery_id="d-1", event={"id": 1},
                    system_prompt="You triage tickets.", prompt=prompt)  # fmt: skip


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def step(sleeps: Sleeps | None = None, **options: object) -> ModelStep:
    return ModelStep(Config.model_validate(options), sleep=sleeps or Sleeps())


def answering(text: str, name: str, **fields: object) -> FunctionProvider:
    return FunctionProvider(lambda r: ModelResponse(text=text, model=f"{name}-model", **fields), name=name)  # type: ignore[arg-type]


def down(name: str, error: Exception | None = None) -> FunctionProvider:
    def fail(request: ModelRequest) -> str:
        raise error or ModelUnavailable("503", status_code=503)

    return FunctionProvider(fail, name=name)


def resources(*providers: Provider) -> Resources:
    return Resources(providers={p.name: p for p in providers})


async def test_first_provider_answers() -> None:
    primary = answering(GOOD, "primary", tokens_in=50, tokens_out=20, cost_usd=0.001, finish_reason="stop")
    out = await step(providers=["primary"]).run(state(), resources(primary))
    answer = out.answer
    assert answer is not None
    assert (answer.text, answer.provider, answer.model) == (GOOD, "primary", "primary-model")
    assert (answer.tokens_in, answer.tokens_out, answer.cost_usd) == (50, 20, 0.001)
    assert not answer.fallback and not answer.safe_fallback
    assert [a.outcome for a in answer.attempts] == ["ok"]
    request = primary.calls[0]
    assert (request.prompt, request.system, request.max_tokens) == (PROMPT, "You triage tickets.", 200)


async def test_only_the_answer_slot_changes() -> None:
    before = state()
    out = await step(providers=["p"]).run(before, resources(answering(GOOD, "p")))
    assert out.model_dump(exclude={"answer"}) == before.model_dump(exclude={"answer"})
    assert before.answer is None


async def test_retries_then_falls_back_to_the_second_provider() -> None:
    sleeps = Sleeps()
    out = await step(sleeps, providers=["primary", "backup"], retry={"attempts": 2}).run(
        state(), resources(down("primary"), answering(GOOD, "backup"))
    )
    answer = out.answer
    assert answer is not None
    assert (answer.text, answer.provider, answer.fallback, answer.safe_fallback) == (
        GOOD,
        "backup",
        True,
        False,
    )
    assert [(a.provider, a.outcome, a.status_code) for a in answer.attempts] == [
        ("primary", "error", 503), ("primary", "error", 503), ("backup", "ok", None),
    ]  # fmt: skip
    assert len(sleeps.delays) == 1 and 0 <= sleeps.delays[0] <= 0.5


@pytest.mark.parametrize(
    "garbage",
    ["", "<EMAIL_1> <PHONE_NUMBER_1>", PROMPT, "checkout is down again " * 15],
    ids=["empty", "placeholders", "copy-of-prompt", "looping"],
)
async def test_a_200_with_a_garbage_answer_moves_the_chain_on(garbage: str) -> None:
    out = await step(providers=["primary", "backup"]).run(
        state(),
        resources(answering(garbage, "primary", tokens_out=30), answering(GOOD, "backup", tokens_out=20)),
    )
    answer = out.answer
    assert answer is not None
    assert (answer.text, answer.provider, answer.fallback) == (GOOD, "backup", True)
    assert [(a.provider, a.outcome) for a in answer.attempts] == [
        ("primary", "rejected_output"),
        ("backup", "ok"),
    ]
    assert answer.tokens_out == 50  # the rejected answer was paid for too


async def test_when_every_provider_fails_the_answer_is_the_safe_message() -> None:
    out = await step(providers=["a", "b"]).run(
        state(), resources(down("a", ModelRejected("401", status_code=401)), answering("", "b"))
    )
    answer = out.answer
    assert answer is not None
    assert answer.text == DEFAULT_FALLBACK_MESSAGE
    assert answer.safe_fallback and answer.fallback
    assert answer.provider == "safe-fallback"
    assert [a.outcome for a in answer.attempts] == ["error", "rejected_output"]


async def test_custom_fallback_message() -> None:
    out = await step(providers=["a"], fallback_message="Summary pending.", retry={"attempts": 1}).run(
        state(), resources(down("a"))
    )
    assert out.answer is not None and out.answer.text == "Summary pending."


async def test_guard_off_accepts_what_the_provider_said() -> None:
    out = await step(providers=["a"], guard=False).run(state(), resources(answering("", "a")))
    assert out.answer is not None and out.answer.text == "" and not out.answer.fallback


async def test_the_provider_timeout_applies_when_the_step_sets_none() -> None:
    async def slow(request: ModelRequest) -> str:
        await asyncio.sleep(5)
        return GOOD

    sluggish = FunctionProvider(slow, name="slow")
    sluggish.timeout_s = 0.05
    out = await step(providers=["slow", "b"], retry={"attempts": 1}).run(
        state(), resources(sluggish, answering(GOOD, "b"))
    )
    assert out.answer is not None
    assert [a.outcome for a in out.answer.attempts] == ["timeout", "ok"]
    out = await step(providers=["slow"], timeout_s=0.01, retry={"attempts": 1}).run(
        state(), resources(sluggish)
    )
    assert out.answer is not None and out.answer.safe_fallback


async def test_extractive_as_last_resort_is_not_rejected_for_quoting() -> None:
    quoting = extractive.build(extractive.Config(), BuildContext(name="extractive", http=HttpClientFactory()))
    out = await step(providers=["llm", "extractive"], retry={"attempts": 1}).run(
        state(), resources(down("llm"), quoting)
    )
    answer = out.answer
    assert answer is not None
    assert answer.provider == "extractive" and answer.fallback and not answer.safe_fallback
    assert "2.14.1" in answer.text


async def test_openai_provider_end_to_end_with_a_429_then_success() -> None:
    replies = iter([
        httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"message": "rate limited"}}),
        httpx.Response(200, json={"model": "gpt-test", "choices": [{"message": {"content": GOOD},
                       "finish_reason": "stop"}], "usage": {"prompt_tokens": 40, "completion_tokens": 18}}),
    ])  # fmt: skip
    http = HttpClientFactory(transport=httpx.MockTransport(lambda request: next(replies)))
    llm = openai.build(
        openai.Config(base_url="https://llm.test/v1", model="gpt-test"), BuildContext("llm", http)
    )
    sleeps = Sleeps()
    out = await step(sleeps, providers=["llm"]).run(state(), resources(llm))
    assert out.answer is not None and out.answer.text == GOOD
    assert sleeps.delays == [2.0]
    assert [(a.outcome, a.status_code) for a in out.answer.attempts] == [("error", 429), ("ok", None)]


async def test_without_a_prompt_the_step_says_what_is_missing() -> None:
    with pytest.raises(StepError, match="needs a prompt step before it"):
        await step(providers=["a"]).run(state(prompt=None), resources(answering(GOOD, "a")))


async def test_an_unbuilt_provider_is_a_step_error_naming_it() -> None:
    with pytest.raises(StepError, match="'ghost'"):
        await step(providers=["ghost"]).run(state(), resources(answering(GOOD, "a")))


def test_config_refs_and_validation() -> None:
    config = Config.model_validate({"providers": ["llm", "local"]})
    assert config.refs() == [("provider", "providers", "llm"), ("provider", "providers", "local")]
    with pytest.raises(ValidationError):
        Config.model_validate({"providers": []})
    with pytest.raises(ValidationError, match="extra"):
        Config.model_validate({"providers": ["a"], "retries": 3})
    with pytest.raises(ValidationError):
        Config.model_validate({"providers": ["a"], "retry": {"attempts": 0}})


def test_registered_as_the_model_step() -> None:
    module = registry.load("step", "model")
    built = module.build(Config(providers=["a"]), BuildContext(name="triage.model", http=HttpClientFactory()))
    assert built.name == "model"
