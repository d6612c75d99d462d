"""Step ``select``: keep only the fields the prompt needs, as plain text.

Nothing reaches the model unless a config names it: each output field is a dotted path into the
event, so attachments, avatars, ``self`` URLs and other metadata are never copied unless named.
Values are turned into prompt-friendly text:

* strings are kept, truncated at a word boundary to ``max_chars`` (with `` …[truncated]``);
* Atlassian Document Format (``{"type": "doc", "content": [...]}``) is flattened to plain text,
  skipping media (attachments);
* lists of strings and numbers are joined with ``", "``;
* other objects are dropped (the field becomes null, with a debug log saying why): select a deeper
  path instead, e.g. ``issue.fields.priority.name`` rather than ``issue.fields.priority``.

A field missing from the event becomes null; it is logged, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from patchbay.paths import MISSING, check_path, get_path
from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.registry import BuildContext

log = structlog.get_logger(__name__)

TRUNCATED = " …[truncated]"

# ADF block nodes: their text starts on a new line. Media nodes are attachments: never copied.
_ADF_BLOCKS = frozenset(
    str.split(
        "paragraph heading blockquote codeBlock listItem rule panel tableRow decisionItem taskItem "
        "expand nestedExpand"
    )
)
_ADF_SKIP = {"media", "mediaSingle", "mediaGroup", "mediaInline"}


class Config(BaseModel):
    """Options of the ``select`` step."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str] = Field(
        min_length=1,
        description="Output name -> dotted path into the event, e.g. {summary: issue.fields.summary}.",
    )
    max_chars: int = Field(
        default=4000, ge=40, description="Longest text kept per field; longer text is cut at a word boundary."
    )
    optional: list[str] = Field(
        default_factory=list,
        description="Output names that are often absent (logged at debug level only). Every missing field "
        "becomes null; names not listed here are logged as a warning.",
    )

    @field_validator("fields")
    @classmethod
    def _paths_well_formed(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value.values():
            check_path(path)
        return value

    @model_validator(mode="after")
    def _optional_are_fields(self) -> Config:
        unknown = sorted(set(self.optional) - set(self.fields))
        if unknown:
            raise ValueError(
                f"optional names {unknown} are not output names in 'fields' "
                f"(known: {', '.join(sorted(self.fields))})"
            )
        return self


def is_adf(value: Any) -> bool:
    """Whether ``value`` looks like an Atlassian Document Format document."""
    if not isinstance(value, Mapping):
        return False
    return value.get("type") == "doc" and isinstance(value.get("content"), list)


def flatten_adf(node: Any) -> str:
    """Plain text of an ADF document: blocks on their own lines, media and link targets left out."""
    out: list[str] = []
    _walk_adf(node, out)
    lines = [" ".join(line.split()) for line in "".join(out).splitlines()]
    return "\n".join(line for line in lines if line)


def _new_line(out: list[str]) -> None:
    # A block starts on a fresh line, but a paragraph inside a list item stays on the "- " line.
    if out and not out[-1].endswith(("\n", "- ")):
        out.append("\n")


def _walk_adf(node: Any, out: list[str]) -> None:
    if isinstance(node, list):
        for child in node:
            _walk_adf(child, out)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    if kind in _ADF_SKIP:
        return
    raw_attrs = node.get("attrs")
    attrs: Mapping[str, Any] = raw_attrs if isinstance(raw_attrs, Mapping) else {}
    if kind == "text":
        out.append(str(node.get("text", "")))
    elif kind == "hardBreak":
        out.append("\n")
    elif kind in {"mention", "emoji", "status"}:
        out.append(str(attrs.get("text") or attrs.get("shortName") or ""))
    elif kind in {"inlineCard", "blockCard", "embedCard"}:
        out.append(str(attrs.get("url") or ""))
    if kind in _ADF_BLOCKS:
        _new_line(out)
        if kind == "listItem":
            out.append("- ")
    _walk_adf(node.get("content"), out)
    if kind in _ADF_BLOCKS:
        _new_line(out)


def truncate(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters at a word boundary, marked as truncated."""
    if len(text) <= max_chars:
        return text
    room = max_chars - len(TRUNCATED)
    cut = text[:room]
    space = cut.rfind(" ")
    newline = cut.rfind("\n")
    boundary = max(space, newline)
    # A single giant word (a URL, a hash) is cut mid-word rather than dropped whole.
    if boundary >= room // 2:
        cut = cut[:boundary]
    return cut.rstrip() + TRUNCATED


def to_text(value: Any, max_chars: int) -> tuple[Any, str | None]:
    """The prompt-ready form of ``value`` and, when it had to be dropped, why."""
    if value is None or isinstance(value, bool | int | float):
        return value, None
    if isinstance(value, str):
        return truncate(value, max_chars), None
    if is_adf(value):
        return truncate(flatten_adf(value), max_chars), None
    if isinstance(value, list):
        items = [str(v) for v in value if isinstance(v, str | int | float) and not isinstance(v, bool)]
        if len(items) < len(value):
            return None, "a list with objects in it; select a path to one field of an item"
        return truncate(", ".join(items), max_chars), None
    if isinstance(value, Mapping):
        keys = ", ".join(sorted(str(k) for k in value)[:8])
        return None, f"an object (keys: {keys}); select a deeper path to the one value the prompt needs"
    return None, f"a value of type {type(value).__name__}; select a string or number"


class SelectStep:
    """Builds ``state.selected`` from the event: one prompt-ready value per configured name."""

    name = "select"

    def __init__(self, config: Config) -> None:
        self.config = config

    def select(self, event: dict[str, Any]) -> dict[str, Any]:
        """The selected view of ``event``."""
        selected: dict[str, Any] = {}
        optional = set(self.config.optional)
        for name, path in self.config.fields.items():
            raw = get_path(event, path)
            if raw is MISSING:
                emit = log.debug if name in optional else log.warning
                emit("select.field_missing", field=name, path=path, optional=name in optional)
                selected[name] = None
                continue
            value, dropped = to_text(raw, self.config.max_chars)
            if dropped is not None:
                log.debug("select.value_dropped", field=name, path=path, reason=dropped)
            selected[name] = value
        return selected

    async def run(self, state: RunState, resources: Resources) -> RunState:
        """Fill ``state.selected``."""
        return state.model_copy(update={"selected": self.select(state.event)})


def build(config: Config, ctx: BuildContext) -> SelectStep:
    """Build the ``select`` step."""
    return SelectStep(config)
