"""Step ``prompt``: render the system and user messages from trusted templates.

Templates come only from the project config and are compiled once, at load, in Jinja2's immutable
sandbox: a syntax error is a config error naming the template line. Event text is only ever data:
the sanitized view is passed as one variable (``ticket`` by default) and never becomes template
source, so ``{{ 7*7 }}`` written in a ticket reaches the model as ``{{ 7*7 }}``. Undefined variables
are errors (``StrictUndefined``), and so is reaching for internals (``{{ ticket.__class__ }}``).
A null value renders as an empty string, so an absent optional field leaves no "None" behind.

Rendering is capped (``max_render_s``, default 1 s; ``max_output_chars``, default 200,000): output is
produced piece by piece and checked as it grows, and ``*``/``**`` are checked before they build a huge
string or number, so a template loop or a long ticket cannot stall a worker or blow up a prompt.
"""

from __future__ import annotations

import keyword
import time
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, field_validator

from patchbay.errors import StepError
from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.registry import BuildContext


def _finalize(value: Any) -> Any:
    return "" if value is None else value


MAX_PRODUCT = 1_000_000  # the largest string/list that '*' may build, and the largest '**' result digits


def _too_big(operator: str, left: Any, right: Any) -> bool:
    """Whether ``left operator right`` would build a string/list or number past the cap."""
    if operator == "**":
        ints = isinstance(left, int) and isinstance(right, int)
        return ints and abs(left) > 1 and right * abs(left).bit_length() > MAX_PRODUCT * 3
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_PRODUCT:
            return True
    return False


class _CappedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with ``*`` and ``**`` refusing to build enormous values."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if _too_big(operator, left, right):
            raise SecurityError(f"'{operator}' would build a value larger than the render cap")
        return super().call_binop(context, operator, left, right)


_ENV = _CappedSandbox(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_finalize
)


def compile_template(source: str, *, field: str = "template") -> Template:
    """Compile trusted template source; raises ``ValueError`` naming the line of a syntax error."""
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise ValueError(
            f"{field} has a Jinja2 syntax error on template line {exc.lineno}: {exc.message}; "
            "write values as {{ ticket.summary }} and blocks as {% if ... %}...{% endif %}"
        ) from None


class Config(BaseModel):
    """Options of the ``prompt`` step."""

    model_config = ConfigDict(extra="forbid")

    template: str = Field(
        min_length=1,
        description="Jinja2 template of the user message, e.g. 'Summarize: {{ ticket.summary }}'. "
        "Rendered in a sandbox; event text is data, never template source.",
    )
    system: str | None = Field(
        default=None, description="System message, also a Jinja2 template; omit for none."
    )
    max_render_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Longest time one template may take to render; longer fails the run (permanently).",
    )
    max_output_chars: int = Field(
        default=200_000,
        ge=100,
        description="Most characters a rendered message may have; more fails the run (permanently). Bounds "
        "the prompt sent to the model however long the ticket is.",
    )
    variable: str = Field(
        default="ticket",
        description="Name under which templates see the payload (sanitized, else selected, else the event).",
    )

    @field_validator("template")
    @classmethod
    def _template_compiles(cls, value: str) -> str:
        compile_template(value, field="template")
        return value

    @field_validator("system")
    @classmethod
    def _system_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            compile_template(value, field="system")
        return value

    @field_validator("variable")
    @classmethod
    def _variable_is_name(cls, value: str) -> str:
        if not value.isidentifier() or keyword.iskeyword(value) or value in {"true", "false", "none"}:
            raise ValueError(f"{value!r} cannot be a template variable name; use letters, digits and _")
        return value


class PromptStep:
    """Renders ``state.system_prompt`` and ``state.prompt`` from the current payload."""

    name = "prompt"

    def __init__(self, config: Config) -> None:
        self.config = config
        self._template = compile_template(config.template, field="template")
        self._system = compile_template(config.system, field="system") if config.system is not None else None

    def _render(self, template: Template, which: str, data: dict[str, Any]) -> str:
        try:
            return self._capped(template, which, data)
        except SecurityError as exc:
            raise StepError(
                f"prompt step: the {which} template tried something the sandbox forbids ({exc}); "
                f"templates may only read values such as {{{{ {self.config.variable}.summary }}}}"
            ) from None
        except UndefinedError as exc:
            known = ", ".join(sorted(str(k) for k in data)) or "(none)"
            raise StepError(
                f"prompt step: the {which} template uses an undefined value: {exc.message}; "
                f"the only variable is '{self.config.variable}', with keys: {known}. Fix the template, "
                "or guard optional values with {% if ... %} or the 'default' filter"
            ) from None
        except TemplateError as exc:
            raise StepError(f"prompt step: the {which} template failed to render: {exc}") from None

    def _capped(self, template: Template, which: str, data: dict[str, Any]) -> str:
        """Render piece by piece, stopping at the time or size cap."""
        cfg = self.config
        deadline = time.monotonic() + cfg.max_render_s
        parts: list[str] = []
        size = 0
        for piece in template.generate({cfg.variable: data}):
            parts.append(piece)
            size += len(piece)
            if size > cfg.max_output_chars:
                raise StepError(
                    f"prompt step: the {which} message is longer than {cfg.max_output_chars} characters "
                    "(prompt.max_output_chars); shorten the template, select fewer or shorter fields "
                    "(e.g. {{ ticket.description | truncate(4000) }}), or raise the cap"
                )
            if time.monotonic() > deadline:
                raise StepError(
                    f"prompt step: the {which} template took longer than {cfg.max_render_s} s to render "
                    "(prompt.max_render_s); simplify its loops, or raise the cap"
                )
        return "".join(parts)

    async def run(self, state: RunState, resources: Resources) -> RunState:
        """Render both messages from the latest payload (sanitized, else selected, else the event)."""
        data = state.view()
        system = self._render(self._system, "system", data) if self._system is not None else None
        prompt = self._render(self._template, "user", data)
        return state.model_copy(update={"system_prompt": system, "prompt": prompt})


def build(config: Config, ctx: BuildContext) -> PromptStep:
    """Build the ``prompt`` step."""
    return PromptStep(config)
