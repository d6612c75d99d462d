"""Step ``sanitize``: replace emails, phone numbers, cards, secrets and URL credentials with placeholders.

Reads ``state.selected`` (or the event when the integration has no ``select`` step) and writes the
sanitized copy to ``state.sanitized`` and per-type counts to ``state.findings``. The same value gets
the same placeholder everywhere in one event (``<EMAIL_1>`` in the summary and the description).
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.registry import BuildContext
from patchbay.sanitize import Sanitizer

Entity = Literal["email", "phone", "card", "secret", "url_credentials"]


class Config(BaseModel):
    """Options of the ``sanitize`` step."""

    model_config = ConfigDict(extra="forbid")

    entities: list[Entity] = Field(
        default_factory=lambda: list(get_args(Entity)),
        min_length=1,
        description="Entity types to replace: email, phone, card, secret, url_credentials (default: all).",
    )
    phone_region: str = Field(
        default="US",
        pattern=r"^[A-Za-z]{2}$",
        description="Two-letter region (ISO 3166) used to read phone numbers written without a country code.",
    )
    allow: list[str] = Field(
        default_factory=list,
        description="Values kept as they are (case-insensitive), e.g. the support team's own address.",
    )
    allow_patterns: list[str] = Field(
        default_factory=list,
        description="Regexes; a found value that fully matches one is kept, e.g. '.*@example\\.com'.",
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


class SanitizeStep:
    """Fills ``state.sanitized`` and ``state.findings``; the selected data itself is left untouched."""

    name = "sanitize"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.sanitizer = Sanitizer(
            entities=config.entities,
            phone_region=config.phone_region.upper(),
            allow=config.allow,
            allow_patterns=config.allow_patterns,
        )

    async def run(self, state: RunState, resources: Resources) -> RunState:
        """Sanitize the selected fields (or the whole event when nothing was selected)."""
        source = state.selected if state.selected is not None else state.event
        result = self.sanitizer.sanitize_data(source)
        return state.model_copy(update={"sanitized": result.data, "findings": result.findings})


def build(config: Config, ctx: BuildContext) -> SanitizeStep:
    """Build the ``sanitize`` step."""
    return SanitizeStep(config)
