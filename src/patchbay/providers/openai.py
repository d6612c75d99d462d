"""Provider ``openai``: any OpenAI-compatible chat-completions endpoint.

Works with OpenAI, Azure OpenAI (set ``azure_api_version``), vLLM, Ollama and the llama.cpp server
(``python -m llama_cpp.server``)::

    providers:
      llm:
        type: openai
        base_url: http://127.0.0.1:8080/v1
        model: qwen2.5-coder-1.5b
        api_key: ${secret:OPENAI_API_KEY}

Errors are mapped by :mod:`patchbay.providers._wire`; a 200 whose JSON has the wrong shape is a
:class:`~patchbay.errors.ModelOutputError` (the endpoint is not speaking the OpenAI format).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from patchbay.errors import ModelOutputError
from patchbay.http import HttpClientFactory
from patchbay.providers import _wire
from patchbay.providers.base import ModelRequest, ModelResponse
from patchbay.registry import BuildContext


class Config(BaseModel):
    """Options of an OpenAI-compatible provider."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        description="API root that '/chat/completions' is appended to, e.g. 'https://api.openai.com/v1', "
        "'http://127.0.0.1:8080/v1' or an Azure deployment URL "
        "'https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT'."
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="API key, sent as 'Authorization: Bearer' (Azure: 'api-key'). Use ${secret:...}.",
    )
    model: str = Field(description="Model id sent with every request, e.g. 'gpt-4o-mini'.")
    timeout_s: float = Field(default=10.0, gt=0, le=600, description="Seconds one attempt may take.")
    extra_headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers sent with every request (e.g. an org id)."
    )
    azure_api_version: str | None = Field(
        default=None,
        description="Set for Azure OpenAI, e.g. '2024-06-01': sends the key as 'api-key' and adds "
        "'?api-version=' to every request.",
    )


class OpenAIProvider:
    """Calls ``POST {base_url}/chat/completions`` through the shared HTTP client factory."""

    def __init__(self, config: Config, *, name: str, http: HttpClientFactory) -> None:
        self.name = name
        self.config = config
        self.timeout_s = config.timeout_s
        self._http = http
        self._where = f"provider {name!r} (openai at {config.base_url.rstrip('/')})"

    def _client(self) -> httpx.AsyncClient:
        headers = dict(self.config.extra_headers)
        key = self.config.api_key.get_secret_value() if self.config.api_key else None
        if key and self.config.azure_api_version:
            headers["api-key"] = key
        elif key:
            headers["Authorization"] = f"Bearer {key}"
        return self._http.client(
            f"provider:{self.name}",
            base_url=self.config.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(self.config.timeout_s, connect=min(5.0, self.config.timeout_s)),
        )

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            body["stop"] = request.stop
        return body

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send one chat-completion request and return its first choice."""
        params = {"api-version": self.config.azure_api_version} if self.config.azure_api_version else None
        secret = self.config.api_key.get_secret_value() if self.config.api_key else None
        try:
            response = await self._client().post("chat/completions", json=self._body(request), params=params)
        except httpx.HTTPError as exc:
            raise _wire.transport_error(exc, where=self._where, timeout_s=self.config.timeout_s) from None
        _wire.check_response(response, where=self._where, secret=secret)
        return self._parse(_wire.json_body(response, where=self._where))

    def _parse(self, data: Any) -> ModelResponse:
        try:
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ModelOutputError(
                f"{self._where} answered 200 without 'choices[0].message.content'; "
                "check that base_url points at an OpenAI-compatible /v1 root"
            ) from None
        if content is not None and not isinstance(content, str):
            raise ModelOutputError(
                f"{self._where} answered with non-text content; only text answers are supported"
            )
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return ModelResponse(
            text=content or "",
            model=str(data.get("model") or self.config.model),
            provider=self.name,
            tokens_in=int(usage.get("prompt_tokens") or 0),
            tokens_out=int(usage.get("completion_tokens") or 0),
            finish_reason=choice.get("finish_reason"),
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the shared factory."""


def build(config: Config, ctx: BuildContext) -> OpenAIProvider:
    """Construct the provider; no network is touched until the first request."""
    return OpenAIProvider(config, name=ctx.name, http=ctx.http)
