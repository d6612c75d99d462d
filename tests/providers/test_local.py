"""The ``local`` provider: lazy loading, one inference at a time, cancellation, and a real SmolLM2 run."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from patchbay.errors import ModelRejected, ModelTimeout
from patchbay.http import HttpClientFactory
from patchbay.providers import local
from patchbay.providers.base import ModelRequest
from patchbay.providers.resilience import WithTimeout
from patchbay.registry import BuildContext

from .conftest import missing

REQUEST = ModelRequest(
    prompt="Summarize in one sentence: users cannot log in since the SSO certificate expired on Monday.",
    system="You summarize support tickets for engineers.",
    max_tokens=48,
)


def provider(**options: object) -> local.LocalProvider:
    ctx = BuildContext(name="local", http=HttpClientFactory())
    return local.build(local.Config.model_validate(options), ctx)


class FakeLlama:
    """Stands in for ``llama_cpp.Llama``: records calls and how many ran at once."""

    instances: list[FakeLlama] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[dict[str, Any]] = []
        self.running = 0
        self.max_running = 0
        self.guard = threading.Lock()
        FakeLlama.instances.append(self)

    def token_eos(self) -> int:
        return 0

    def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
        with self.guard:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        time.sleep(0.02)
        with self.guard:
            self.running -= 1
        self.calls.append(kwargs)
        return {
            "choices": [{"message": {"role": "assistant", "content": "Logins fail since the cert expired."},
                         "finish_reason": "length"}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 8},
        }  # fmt: skip


@pytest.fixture
def fake_llama(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    FakeLlama.instances.clear()
    module = types.ModuleType("llama_cpp")
    module.Llama = FakeLlama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    return gguf


async def test_loads_lazily_runs_one_inference_at_a_time_and_reports_accounting(fake_llama: Path) -> None:
    p = provider(model_path=str(fake_llama), threads=1, max_tokens=16, seed=7)
    assert FakeLlama.instances == []  # nothing loads at build time
    responses = await asyncio.gather(*(p.complete(REQUEST) for _ in range(4)))
    (llm,) = FakeLlama.instances
    assert llm.max_running == 1
    assert llm.kwargs["n_threads"] == 1 and llm.kwargs["model_path"] == str(fake_llama)
    assert llm.calls[0]["max_tokens"] == 16  # the provider's cap beats the request's 48
    assert llm.calls[0]["messages"][0] == {"role": "system", "content": REQUEST.system}
    first = responses[0]
    assert (first.tokens_in, first.tokens_out, first.finish_reason) == (30, 8, "length")
    assert (first.provider, first.model) == ("local", "tiny")


async def test_missing_llama_cpp_is_a_permanent_error_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` raise ImportError
    with pytest.raises(ModelRejected, match=r"pip install 'patchbay\[local\]'"):
        await provider(model="smollm2-135m").complete(REQUEST)


async def test_missing_model_path_says_which_file(fake_llama: Path) -> None:
    with pytest.raises(ModelRejected, match=r"does-not-exist\.gguf does not exist"):
        await provider(model_path="does-not-exist.gguf").complete(REQUEST)


def test_the_module_imports_without_llama_cpp() -> None:
    assert "llama_cpp" not in vars(local)


@pytest.mark.slow
async def test_smollm2_answers_in_process(smollm2_gguf: Path) -> None:
    p = provider(model="smollm2-135m", threads=2, max_tokens=48)
    try:
        response = await p.complete(REQUEST)
    finally:
        await p.aclose()
    assert response.text.strip()
    assert response.tokens_in > 10 and 0 < response.tokens_out <= 48
    assert response.finish_reason in {"stop", "length"}
    assert response.model == "smollm2-135m"


@pytest.mark.slow
async def test_a_timed_out_generation_stops_and_frees_the_model(smollm2_gguf: Path) -> None:
    # 800 tokens take 7 s or more on 2 cores: far longer than the follow-up request may wait.
    p = provider(model="smollm2-135m", threads=2, max_tokens=800)
    try:
        await p.load()
        long = REQUEST.model_copy(
            update={"prompt": "Write a long story about a lighthouse.", "max_tokens": 800}
        )
        with pytest.raises(ModelTimeout):
            await WithTimeout(p, 0.05).complete(long)
        started = time.perf_counter()
        response = await p.complete(REQUEST)
        # The cancelled run ended at its next token instead of generating up to 800 first.
        assert time.perf_counter() - started < 6
        assert response.text.strip()
    finally:
        await p.aclose()


@pytest.mark.slow
async def test_a_prompt_longer_than_the_context_is_rejected(smollm2_gguf: Path) -> None:
    p = provider(model="smollm2-135m", context_tokens=256)
    try:
        with pytest.raises(ModelRejected, match="context_tokens"):
            await p.complete(REQUEST.model_copy(update={"prompt": "word " * 600}))
    finally:
        await p.aclose()


def test_a_missing_model_dependency_skips_locally_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no model"):
        missing("no model")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing("no model")
