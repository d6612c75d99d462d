"""Doctor checks of model providers: can Patchbay reach each one, and does it accept the key?

* ``openai`` - ``GET {base_url}/models`` with the key (Azure: ``GET {site}/openai/models``), and
  whether the configured model is listed;
* ``prompt-api`` - ``GET {base_url}{path}`` with the key: 401/403 mean the key is refused, 404 a wrong
  URL; any other answer (405, 400, 200) means the endpoint is there and let the key through;
* ``local`` - ``llama_cpp`` importable (without importing it) and the model file present and, for the
  built-in model, already verified (its stamp), without reading the 1 GB file;
* ``extractive`` / ``function`` - in-process, nothing to reach.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from patchbay.errors import ModelRejected
from patchbay.http import HttpClientFactory
from patchbay.ops.doctor.findings import Finding
from patchbay.ops.doctor.probe import Clocks, get
from patchbay.ops.doctor.verdict import status_finding
from patchbay.providers import model_files


async def check_provider(
    name: str,
    type_name: str,
    config: BaseModel,
    *,
    http: HttpClientFactory,
    clocks: Clocks,
    root: Path,
    timeout_s: float,
) -> list[Finding]:
    """The findings for one provider."""
    check = f"provider {name}"
    if type_name == "openai":
        return [await _openai(check, config, http, clocks, timeout_s)]
    if type_name == "prompt-api":
        return [await _prompt_api(check, config, http, clocks, timeout_s)]
    if type_name == "local":
        return _local(check, config, root)
    if type_name in {"extractive", "function"}:
        return [Finding(check, "ok", f"{type_name}: runs in-process, nothing to reach")]
    return [Finding(check, "skip", f"no doctor check for provider type {type_name!r}")]


def _key(config: Any) -> str | None:
    secret = getattr(config, "api_key", None)
    return secret.get_secret_value() if secret is not None else None


def _timeout(config: Any, cap: float) -> httpx.Timeout:
    seconds = min(float(getattr(config, "timeout_s", cap)), cap)
    return httpx.Timeout(seconds, connect=min(5.0, seconds))


async def _openai(check: str, config: Any, http: HttpClientFactory, clocks: Clocks, cap: float) -> Finding:
    headers = dict(config.extra_headers)
    key = _key(config)
    if config.azure_api_version:
        parts = urlsplit(config.base_url)
        url = f"{parts.scheme}://{parts.netloc}/openai/models?api-version={config.azure_api_version}"
        if key:
            headers["api-key"] = key
    else:
        url = config.base_url.rstrip("/") + "/models"
        if key:
            headers["Authorization"] = f"Bearer {key}"
    client = http.client(f"doctor:{check}", headers=headers, timeout=_timeout(config, cap))
    result = await get(client, url, where=check, clocks=clocks)
    bad = status_finding(check, result, "provider", f"openai at {config.base_url}")
    if bad is not None:
        return bad
    data = result.json()
    listed = data.get("data") if isinstance(data, dict) else None
    if isinstance(listed, list):
        ids = {str(m.get("id")) for m in listed if isinstance(m, dict)}
        if ids and config.model not in ids:
            shown = ", ".join(sorted(ids)[:5])
            return Finding(
                check,
                "warn",
                f"key accepted, but model {config.model!r} is not listed by {url} (it lists {shown})",
                "check 'model' against GET /models; a wrong id answers 404 on every request",
            )
    return Finding(check, "ok", f"reachable, key accepted, answered {result.status} to GET {url}")


async def _prompt_api(
    check: str, config: Any, http: HttpClientFactory, clocks: Clocks, cap: float
) -> Finding:
    headers = dict(config.extra_headers)
    headers["Authorization"] = f"Bearer {_key(config)}"
    url = config.base_url.rstrip("/") + config.path
    client = http.client(f"doctor:{check}", headers=headers, timeout=_timeout(config, cap))
    result = await get(client, url, where=check, clocks=clocks)
    status = result.status
    # The execution endpoint takes POST: a 405/400/422 to a GET means it exists and let the key through.
    if status in {400, 405, 422}:
        return Finding(check, "ok", f"reachable, key accepted (GET {url} answered {status}; it takes POST)")
    bad = status_finding(check, result, "provider", f"prompt-api at {url}")
    if bad is not None:
        return bad
    return Finding(check, "ok", f"reachable, key accepted, answered {status} to GET {url}")


def _local(check: str, config: Any, root: Path) -> list[Finding]:
    findings: list[Finding] = []
    if importlib.util.find_spec("llama_cpp") is None:
        findings.append(
            Finding(check, "fail", "llama-cpp-python is not installed", f"run: {model_files.LOCAL_EXTRA}")
        )
    else:
        findings.append(Finding(check, "ok", "llama_cpp is importable"))
    findings.append(_model_file(check, config, root))
    return findings


def _model_file(check: str, config: Any, root: Path) -> Finding:
    if config.model_path is not None:
        path = config.model_path if config.model_path.is_absolute() else root / config.model_path
        if not path.is_file():
            return Finding(check, "fail", f"model_path {path} does not exist", "fix model_path")
        with path.open("rb") as handle:
            magic = handle.read(4)
        if magic != b"GGUF":
            return Finding(check, "fail", f"{path} is not a GGUF file", "point model_path at a .gguf model")
        return Finding(check, "ok", f"model file {path} ({path.stat().st_size:,} bytes, GGUF)")
    if config.model == "smollm2-135m":
        try:
            path = model_files.smollm2_path()
        except ModelRejected as exc:
            return Finding(check, "fail", "the smollm2-135m model is not installed", exc.message)
        return Finding(check, "ok", f"model file {path}")
    split = model_files.QWEN
    dest = model_files.model_dir() / split.filename
    if dest.is_file() and model_files.is_verified(dest, split.sha256):
        return Finding(check, "ok", f"model file {dest} present and verified (sha256 stamp)")
    try:
        model_files.part_paths(split)
    except ModelRejected as exc:
        return Finding(check, "fail", "the embedded model is not installed", exc.message)
    if dest.is_file():
        return Finding(
            check, "ok", f"model file {dest} present; its sha256 is checked on first use (~1.1 GB read)"
        )
    return Finding(
        check,
        "warn",
        f"model packages installed; {dest} is assembled and verified on the first run (~1.1 GB, slow)",
        "run 'patchbay run' once before serving traffic, so the first real run is not slow",
    )
