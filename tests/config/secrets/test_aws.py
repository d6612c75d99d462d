"""AWS Secrets Manager as a secret provider, against moto's server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from patchbay.config.loader import load_project
from patchbay.config.secrets import AwsSecrets, AwsSecretsConfig, CachedSecrets
from patchbay.errors import ConfigError, SecretError
from servers import moto_server

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install 'patchbay[aws]')")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def sm(endpoint: str) -> Any:
    return boto3.client("secretsmanager", region_name="eu-west-1", endpoint_url=endpoint)


def put(endpoint: str, name: str, value: str) -> None:
    client = sm(endpoint)
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)


def test_reads_the_environment_prefix_and_misses_are_none(endpoint: str) -> None:
    put(endpoint, "patchbay/dev/OPENAI_API_KEY", "sk-dev")
    put(endpoint, "patchbay/prod/OPENAI_API_KEY", "sk-prod")
    cfg = AwsSecretsConfig(region="eu-west-1", endpoint_url=endpoint)
    assert AwsSecrets(cfg, "dev").get("OPENAI_API_KEY") == "sk-dev"
    prod = AwsSecrets(cfg, "prod")
    assert prod.get("OPENAI_API_KEY") == "sk-prod"
    assert prod.get("NOPE") is None
    assert prod.origin("OPENAI_API_KEY") == "aws:patchbay/prod/OPENAI_API_KEY"


def test_rotation_is_seen_after_the_ttl(endpoint: str) -> None:
    put(endpoint, "patchbay/stage/TOKEN", "old")
    now = [0.0]
    cfg = AwsSecretsConfig(region="eu-west-1", endpoint_url=endpoint)
    cached = CachedSecrets(AwsSecrets(cfg, "stage"), ttl_s=60, clock=lambda: now[0])
    assert cached.get("TOKEN") == "old"
    put(endpoint, "patchbay/stage/TOKEN", "new")
    now[0] = 59
    assert cached.get("TOKEN") == "old"
    now[0] = 61
    assert cached.get("TOKEN") == "new"


def test_unreachable_endpoint_is_a_secret_error_without_the_value() -> None:
    cfg = AwsSecretsConfig(region="eu-west-1", endpoint_url="http://127.0.0.1:9", timeout_s=1)
    with pytest.raises(SecretError, match=r"could not read 'patchbay/dev/X'.*GetSecretValue"):
        AwsSecrets(cfg, "dev").get("X")


def aws_project(root: Path, endpoint: str, prefix: str = "patchbay/{env}/") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "patchbay.yaml").write_text(
        f"""\
secrets:
  providers: [aws]
  aws: {{region: eu-west-1, endpoint_url: "{endpoint}", prefix: "{prefix}"}}
providers:
  primary:
    type: openai
    base_url: https://api.openai.com/v1
    model: gpt-4o-mini
    api_key: ${{secret:OPENAI_API_KEY}}
"""
    )
    return root


def test_project_reads_its_environment_namespace(tmp_path: Path, endpoint: str) -> None:
    put(endpoint, "patchbay/prod/OPENAI_API_KEY", "sk-prod-real-4f9a")
    put(endpoint, "patchbay/dev/OPENAI_API_KEY", "sk-dev-real-77aa")
    root = aws_project(tmp_path, endpoint)
    for env, want in (("prod", "sk-prod-real-4f9a"), ("dev", "sk-dev-real-77aa")):
        loaded = load_project(root, environment=env, env={})
        key = loaded.providers["primary"][1].api_key  # type: ignore[attr-defined]
        assert key.get_secret_value() == want


def test_prod_refuses_a_dev_namespace_naming_the_key(tmp_path: Path, endpoint: str) -> None:
    put(endpoint, "patchbay/dev/OPENAI_API_KEY", "sk-dev-real-77aa")
    root = aws_project(tmp_path, endpoint, prefix="patchbay/dev/")
    with pytest.raises(ConfigError) as exc:
        load_project(root, environment="prod", env={})
    (issue,) = exc.value.issues
    assert issue.field == "providers.primary.api_key" and issue.line == 9
    assert "OPENAI_API_KEY" in issue.message and "non-production namespace" in issue.message
    assert "sk-dev-real-77aa" not in str(exc.value) + str(issue)
    load_project(root, environment="dev", env={})  # the same file is fine in dev
