"""Secret providers for ``${secret:NAME}`` references: ``env``, ``file``, ``vault`` (HashiCorp Vault /
OpenBao KV v2) and ``aws`` (AWS Secrets Manager), asked in the order ``secrets.providers`` lists them.

Values are resolved at load and handed to config models as strings that pydantic turns into
``SecretStr``; the loader remembers which paths held a secret so that ``config show`` masks them, and
turns whole-value secret fields into :class:`~patchbay.config.secrets.live.LiveSecret` so that a
rotated secret is picked up without a restart (remote providers answer through a TTL cache).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from patchbay.config.secrets.aws import AwsSecrets, AwsSecretsConfig
from patchbay.config.secrets.base import (
    CachedSecrets,
    EnvSecrets,
    FileSecrets,
    Resolved,
    SecretProvider,
    SecretResolver,
)
from patchbay.config.secrets.vault import VaultConfig, VaultSecrets
from patchbay.errors import SecretError

__all__ = [
    "AwsSecrets",
    "AwsSecretsConfig",
    "CachedSecrets",
    "EnvSecrets",
    "FileSecrets",
    "Resolved",
    "SecretProvider",
    "SecretResolver",
    "SecretsConfig",
    "VaultConfig",
    "VaultSecrets",
    "build_resolver",
]


class SecretsConfig(BaseModel):
    """How ``${secret:NAME}`` references are resolved: providers are asked in order."""

    model_config = ConfigDict(extra="forbid")

    providers: list[Literal["env", "file", "vault", "aws"]] = Field(
        default_factory=lambda: ["env", "file"],  # type: ignore[arg-type]
        description="Secret providers, asked in order. 'env': the environment variable NAME (also from "
        ".env). 'file': the file '{dir}/NAME'. 'vault': field NAME of the KV v2 secret at "
        "secrets.vault.path. 'aws': the AWS Secrets Manager secret '{secrets.aws.prefix}NAME'.",
    )
    dir: Path = Field(
        default=Path("secrets"), description="Folder of the 'file' provider (relative to the project)."
    )
    cache_ttl_s: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="How long a value from vault/aws is reused before asking again; a rotated secret is "
        "picked up within this time, without a restart. 0: ask on every read.",
    )
    vault: VaultConfig | None = Field(
        default=None, description="HashiCorp Vault / OpenBao (provider 'vault')."
    )
    aws: AwsSecretsConfig | None = Field(default=None, description="AWS Secrets Manager (provider 'aws').")


def build_resolver(
    config: SecretsConfig, *, root: Path, environment: str, variables: Mapping[str, str]
) -> SecretResolver:
    """The resolver for a project; raises ``SecretError`` when a listed provider is not configured."""
    directory = config.dir if config.dir.is_absolute() else root / config.dir
    providers: list[SecretProvider] = []
    for name in config.providers:
        if name == "env":
            providers.append(EnvSecrets(variables))
        elif name == "file":
            providers.append(FileSecrets(directory))
        elif name == "vault":
            if config.vault is None:
                raise SecretError("secrets.providers lists 'vault' but there is no secrets.vault section")
            providers.append(CachedSecrets(VaultSecrets(config.vault, environment), config.cache_ttl_s))
        elif name == "aws":
            if config.aws is None:
                raise SecretError("secrets.providers lists 'aws' but there is no secrets.aws section")
            providers.append(CachedSecrets(AwsSecrets(config.aws, environment), config.cache_ttl_s))
    return SecretResolver(providers)
