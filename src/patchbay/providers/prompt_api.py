"""Provider ``prompt-api``: a client for an internal Prompt Execution API.

    providers:
      prompt-api:
        type: prompt-api
        base_url: https://ai.internal.example.com
        api_key: ${secret:PROMPT_API_KEY}

Sends ``POST {base_url}{path}`` with a bearer key and the body
``{"prompt", "system", "model", "max_tokens", "temperature"}``; reads ``output.text`` and the
accounting in ``metadata`` (``tokens_in``/``tokens_out`` when present, else ``tokens_consumed``, and
``cost_usd``). Errors are mapped exactly like the ``openai`` provider's.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from patchbay.errors import ModelOutputError
from patchbay.http import HttpClientFactory
from patchbay.providers import _wire
from patchbay.providers.base import ModelRequest, ModelResponse
from patchbay.registry import BuildContext


class Config(BaseModel):
    """Options of the Prompt Execution API client."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="Root URL of the Prompt Execution API, e.g. 'https://ai.internal'.")
    path: Literal["/prompt-execute", "/execute"] = Field(
        default="/prompt-execute", description="Execution endpoint appended to base_url."
    )
    api_key: SecretStr = Field(description="Bearer key of the API. Use ${secret:...}.")
    model: str | None = Field(default=None, description="Model id to ask for; None lets the API choose.")
    timeout_s: float = Field(default=10.0, gt=0, le=600, description="Seconds one attempt may take.")
    extra_headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers sent with every request."
    )


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return max(0.0, float(value or 0.0))
    except (TypeError, ValueError):
        return 0.0


class PromptApiProvider:
    """Calls the Prompt Execution API through the shared HTTP client factory."""

    def __init__(self, config: Config, *, name: str, http: HttpClientFactory) -> None:
        self.name = name
        self.config = config
        self.timeout_s = config.timeout_s
        self._http = http
        self._where = f"provider {name!r} (prompt-api at {config.base_url.rstrip('/')}{config.path})"

    def _client(self) -> httpx.AsyncClient:
        headers = dict(self.config.extra_headers)
        headers["Authorization"] = f"Bearer {self.config.api_key.get_secret_value()}"
        return self._http.client(
            f"provider:{self.name}",
            base_url=self.config.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(self.config.timeout_s, connect=min(5.0, self.config.timeout_s)),
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Execute one prompt and return the API's output text with its accounting."""
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "system": request.system,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if self.config.model:
            body["model"] = self.config.model
        try:
            response = await self._client().post(self.config.path, json=body)
        except httpx.HTTPError as exc:
            raise _wire.transport_error(exc, where=self._where, timeout_s=self.config.timeout_s) from None
        _wire.check_response(response, where=self._where, secret=self.config.api_key.get_secret_value())
        return self._parse(_wire.json_body(response, where=self._where))

    def _parse(self, data: Any) -> ModelResponse:
        output = data.get("output") if isinstance(data, dict) else None
        text = output.get("text") if isinstance(output, dict) else None
        if not isinstance(text, str):
            raise ModelOutputError(
                f"{self._where} answered 200 without 'output.text'; check base_url and path"
            )
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        if "tokens_in" in meta or "tokens_out" in meta:
            tokens_in, tokens_out = _int(meta.get("tokens_in")), _int(meta.get("tokens_out"))
        else:
            # The API reports only a total: count it as output so run totals stay right.
            tokens_in, tokens_out = 0, _int(meta.get("tokens_consumed"))
        return ModelResponse(
            text=text,
            model=str(meta.get("model") or data.get("model") or self.config.model or ""),
            provider=self.name,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=_float(meta.get("cost_usd")),
            finish_reason=meta.get("finish_reason") if isinstance(meta.get("finish_reason"), str) else None,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the shared factory."""


def build(config: Config, ctx: BuildContext) -> PromptApiProvider:
    """Construct the provider; no network is touched until the first request."""
    return PromptApiProvider(config, name=ctx.name, http=ctx.http)
