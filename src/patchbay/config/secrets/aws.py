"""AWS Secrets Manager as a secret provider.

``${secret:NAME}`` reads the secret ``{prefix}{NAME}`` (its ``SecretString``); ``{env}`` in the prefix
is the environment, so each environment reads its own namespace. Credentials come from the usual AWS
chain (environment, profile, instance/task role). Needs ``boto3``: ``pip install 'patchbay[aws]'``.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from patchbay.errors import SecretError


class AwsSecretsConfig(BaseModel):
    """The ``secrets.aws`` section."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(default="us-east-1", description="AWS region of the secrets.")
    prefix: str = Field(
        default="patchbay/{env}/",
        description="Prepended to every name; '{env}' becomes the environment (its own namespace).",
    )
    endpoint_url: str | None = Field(
        default=None, description="Override the endpoint (VPC endpoint, LocalStack/moto in tests)."
    )
    timeout_s: float = Field(default=5.0, gt=0, le=60, description="Connect and read timeout.")


class AwsSecrets:
    """Reads ``SecretString`` values from AWS Secrets Manager."""

    name = "aws"

    def __init__(self, config: AwsSecretsConfig, environment: str) -> None:
        self.config = config
        self.prefix = config.prefix.replace("{env}", environment)
        self.namespace = self.prefix
        try:
            boto3: Any = importlib.import_module("boto3")
            botocore_config: Any = importlib.import_module("botocore.config")
        except ImportError:
            raise SecretError("secrets provider 'aws' needs boto3: pip install 'patchbay[aws]'") from None
        self._client: Any = boto3.client(
            "secretsmanager",
            region_name=config.region,
            endpoint_url=config.endpoint_url,
            config=botocore_config.Config(
                connect_timeout=config.timeout_s, read_timeout=config.timeout_s, retries={"max_attempts": 2}
            ),
        )

    def origin(self, key: str) -> str:
        return f"aws:{self.prefix}{key}"

    def get(self, key: str) -> str | None:
        secret_id = f"{self.prefix}{key}"
        try:
            answer = self._client.get_secret_value(SecretId=secret_id)
        except Exception as exc:  # botocore raises its own tree; classify by code, never leak the value
            code = _error_code(exc)
            if code == "ResourceNotFoundException":
                return None
            raise SecretError(
                f"AWS Secrets Manager could not read {secret_id!r} ({code or type(exc).__name__}); "
                "check the region, the credentials and that the policy allows secretsmanager:GetSecretValue"
            ) from None
        value = answer.get("SecretString")
        if value is None:
            raise SecretError(f"AWS secret {secret_id!r} is binary; store it as a string")
        return str(value)


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None
