"""Step ``sanitize``: find personal data and secrets and replace each as its type's action says.

Reads ``state.selected`` (or the event when the integration has no ``select`` step) and writes the
sanitized copy to ``state.sanitized`` and per-type counts to ``state.findings``. The same value gets
the same token everywhere in one event (``<EMAIL_1>`` in the summary and the description). Values
the event names in structured fields (the reporter's name, email, phone) are found again in free
text. Pseudonyms (token -> value) go into ``state.pseudonyms``, encrypted, for ``postprocess`` to
restore; see :mod:`patchbay.sanitize.vault`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, get_args

import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.registry import BuildContext
from patchbay.sanitize import Sanitizer
from patchbay.sanitize.actions import DEFAULT_ACTIONS, NEVER_RESTORED, Action
from patchbay.sanitize.context import known_values
from patchbay.sanitize.ner import DEFAULT_MODEL, NER_MISSING, load_ner
from patchbay.sanitize.vault import Vault

log = structlog.get_logger(__name__)

Entity = Literal[
    "email", "phone", "card", "iban", "ssn", "ip", "dob", "secret", "url_credentials", "person", "address"
]


class Config(BaseModel):
    """Options of the ``sanitize`` step."""

    model_config = ConfigDict(extra="forbid")

    entities: list[Entity] = Field(
        default_factory=lambda: list(get_args(Entity)),
        min_length=1,
        description="Entity types to find: email, phone, card, iban, ssn, ip, dob, secret, url_credentials, "
        "person, address (default: all).",
    )
    actions: dict[Entity, Action] = Field(
        default_factory=dict,
        description="Action per entity type: redact (<EMAIL_1>), mask (keep last 4), hash (keyed, stable per "
        "tenant; needs hash_key), pseudonymize (<PERSON_1>, restored in postprocess), drop. Defaults: "
        "email/phone/person/address pseudonymize, card/iban mask, the rest redact. Secrets and URL "
        "credentials are always redacted.",
    )
    hash_key: SecretStr | None = Field(
        default=None, description="Per-tenant key for the 'hash' action. Use ${secret:...}."
    )
    vault_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts the pseudonym mapping kept in the run state (set the same on "
        "postprocess). Default: a key file generated once in the data dir (vault.key, mode 0600).",
    )
    phone_region: str = Field(
        default="US",
        pattern=r"^[A-Za-z]{2}$",
        description="Two-letter region (ISO 3166) used to read phone numbers written without a country code.",
    )
    allow: list[str] = Field(
        default_factory=list,
        description="Values kept as they are (case-insensitive), e.g. the support team's own address or "
        "product names.",
    )
    allow_patterns: list[str] = Field(
        default_factory=list,
        description="Regexes; a found value that fully matches one is kept, e.g. '.*@example\\.com'.",
    )
    known_values: bool = Field(
        default=True,
        description="Find the names, emails and phones in the event's structured fields (reporter, "
        "requester, ...) wherever they reappear in free text.",
    )
    ner: bool = Field(
        default=False,
        description="Also find person names with spaCy NER (pip install 'patchbay[ner]'); without the extra "
        "a warning is logged and the pattern and cue layers run alone.",
    )
    ner_model: str = Field(
        default=DEFAULT_MODEL, description="Installed spaCy model package used when ner is on."
    )

    @field_validator("allow_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for index, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"allow_patterns[{index}] {pattern!r} is not a valid regular expression: {exc}; "
                    "escape literal characters like '.' and '+' with a backslash"
                ) from None
        return value

    @model_validator(mode="after")
    def _actions_consistent(self) -> Config:
        for entity_type in sorted(NEVER_RESTORED):
            action = self.actions.get(entity_type)  # type: ignore[call-overload]
            if action is not None and action not in {"redact", "drop"}:
                raise ValueError(
                    f"actions.{entity_type}: {action!r} is not allowed; credentials are always redacted "
                    "(use redact or drop)"
                )
        hashed = sorted(t for t, a in self.actions.items() if a == "hash")
        if hashed and self.hash_key is None:
            raise ValueError(
                f"actions use 'hash' for {', '.join(hashed)} but no hash_key is set; add "
                "hash_key: ${secret:SANITIZE_HASH_KEY} (a per-tenant secret) or pick another action"
            )
        return self

    def resolved_actions(self) -> dict[str, Action]:
        """The defaults with this config's overrides on top."""
        merged: dict[str, Action] = dict(DEFAULT_ACTIONS)
        for entity_type, action in self.actions.items():
            merged[entity_type] = action
        return merged


class SanitizeStep:
    """Fills ``state.sanitized``, ``state.findings`` and (encrypted) ``state.pseudonyms``."""

    name = "sanitize"

    def __init__(self, config: Config, *, data_dir: Path = Path(".patchbay")) -> None:
        self.config = config
        ner = None
        if config.ner:
            ner = load_ner(config.ner_model)
            if ner is None:
                log.warning("sanitize.ner_missing", message=NER_MISSING)
        hash_key = config.hash_key.get_secret_value().encode() if config.hash_key else None
        self.sanitizer = Sanitizer(
            entities=config.entities,
            phone_region=config.phone_region.upper(),
            allow=config.allow,
            allow_patterns=config.allow_patterns,
            actions=config.resolved_actions(),
            hash_key=hash_key,
            ner=ner,
        )
        self._vault_key = config.vault_key.get_secret_value() if config.vault_key else None
        self._data_dir = data_dir
        self._vault: Vault | None = None

    def vault(self) -> Vault:
        """The vault, opened (and its key file created) on first use only."""
        if self._vault is None:
            self._vault = Vault.resolve(self._vault_key, self._data_dir)
        return self._vault

    async def run(self, state: RunState, resources: Resources) -> RunState:
        """Sanitize the selected fields (or the whole event when nothing was selected)."""
        source = state.selected if state.selected is not None else state.event
        known = known_values(state.event) if self.config.known_values else []
        result = self.sanitizer.sanitize_data(source, known=known)
        sealed = self.vault().seal(result.mapping) if result.mapping else None
        return state.model_copy(
            update={"sanitized": result.data, "findings": result.findings, "pseudonyms": sealed}
        )


def build(config: Config, ctx: BuildContext | None) -> SanitizeStep:
    """Build the ``sanitize`` step."""
    return SanitizeStep(config, data_dir=ctx.data_dir if ctx is not None else Path(".patchbay"))
