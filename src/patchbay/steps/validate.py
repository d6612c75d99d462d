"""Step ``validate``: reject an event that lacks what the rest of the pipeline needs.

Two kinds of checks, both optional and both reported together:

* ``required``: dotted paths (``issue.fields.summary``, ``issue.fields.labels.0``) that must be
  present and non-empty;
* ``json_schema``: a JSON Schema (Draft 2020-12) the whole event must satisfy.

Every problem is collected before failing, so one :class:`~patchbay.errors.EventError` names every
bad path and what was expected there. Messages never quote event values: only paths and what the
config expects.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from patchbay.errors import EventError
from patchbay.paths import MISSING, check_path, get_path, is_empty
from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.registry import BuildContext


class Config(BaseModel):
    """Options of the ``validate`` step."""

    model_config = ConfigDict(extra="forbid")

    required: list[str] = Field(
        default_factory=list,
        description="Dotted paths into the event that must be present and non-empty, e.g. 'issue.key', "
        "'issue.fields.summary'; a number indexes a list ('issue.fields.labels.0').",
    )
    json_schema: dict[str, Any] | None = Field(
        default=None, description="A JSON Schema (Draft 2020-12) the whole event must satisfy."
    )

    @field_validator("required")
    @classmethod
    def _paths_well_formed(cls, value: list[str]) -> list[str]:
        for path in value:
            check_path(path)
        return value

    @field_validator("json_schema")
    @classmethod
    def _schema_valid(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.path) or "(top level)"
            raise ValueError(
                f"not a valid JSON Schema (Draft 2020-12) at {where}: {exc.message}; "
                "see https://json-schema.org/draft/2020-12"
            ) from None
        return value


# Keywords whose schema value says plainly what was expected ("expected maxLength 255").
_BOUND_KEYWORDS = frozenset(
    str.split(
        "minLength maxLength minItems maxItems minimum maximum exclusiveMinimum exclusiveMaximum "
        "multipleOf pattern format minProperties maxProperties uniqueItems"
    )
)


def _dotted(parts: Any) -> str:
    return ".".join(str(p) for p in parts) or "(event)"


def _expected(error: ValidationError) -> str:
    """What the schema wanted, from the schema's own words (never the event's value)."""
    keyword = str(error.validator)
    wanted = error.validator_value
    if keyword == "type":
        return f"expected type {' or '.join(wanted) if isinstance(wanted, list) else wanted}"
    if keyword in {"enum", "const"}:
        return f"expected one of {json.dumps(wanted if keyword == 'enum' else [wanted])[:200]}"
    if keyword in _BOUND_KEYWORDS:
        return f"expected {keyword} {json.dumps(wanted)[:200]}"
    if keyword == "additionalProperties":
        return "has properties the schema does not allow"
    return f"does not satisfy schema keyword '{keyword}'"


def _schema_problems(validator: Draft202012Validator, event: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for error in validator.iter_errors(event):
        if error.validator == "required" and isinstance(error.instance, dict):
            # The path of a 'required' error is the parent object; name each missing key instead.
            for key in error.validator_value:
                if key not in error.instance:
                    problems.append((_dotted([*error.absolute_path, key]), "required by the schema, missing"))
            continue
        problems.append((_dotted(error.absolute_path), _expected(error)))
    return problems


class ValidateStep:
    """Checks the event and returns the state unchanged, or raises ``EventError`` listing every problem."""

    name = "validate"

    def __init__(self, config: Config) -> None:
        self.config = config
        self._validator = (
            Draft202012Validator(config.json_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
            if config.json_schema is not None
            else None
        )

    def problems(self, event: dict[str, Any]) -> list[tuple[str, str]]:
        """Every (path, what was expected) pair the event fails; empty when it is valid."""
        found: list[tuple[str, str]] = []
        for path in self.config.required:
            value = get_path(event, path)
            if value is MISSING:
                found.append((path, "required, missing"))
            elif is_empty(value):
                found.append((path, "required, is empty"))
        if self._validator is not None:
            found.extend(_schema_problems(self._validator, event))
        # One line per path and reason, in a stable order, however many checks hit the same spot.
        return sorted(set(found))

    async def run(self, state: RunState, resources: Resources) -> RunState:
        """Return ``state`` unchanged when the event is valid; raise ``EventError`` otherwise."""
        found = self.problems(state.event)
        if found:
            listed = "; ".join(f"{path}: {why}" for path, why in found)
            raise EventError(
                f"event rejected by the validate step ({len(found)} problem{'s' if len(found) > 1 else ''}): "
                f"{listed}. Fix the sender, or relax 'required'/'json_schema' in the validate step."
            )
        return state


def build(config: Config, ctx: BuildContext) -> ValidateStep:
    """Build the ``validate`` step."""
    return ValidateStep(config)
