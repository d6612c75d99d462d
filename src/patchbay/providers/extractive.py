"""Provider ``extractive``: a no-model summarizer that quotes the ticket's most informative sentences.

It needs no weights, no network and no keys, is deterministic, and answers in milliseconds: the last
real step of a fallback chain, and the provider of choice in tests. It reads the ticket part of the
prompt (the text after ``source_marker`` when configured, else after the last line that reads like
an instruction), scores each sentence by the frequency of its content words - words of the title
(``Title:``/``Summary:``/``Subject:`` lines) count extra - and returns the best ``sentences`` in their
original order, at most ``max_chars`` long.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from patchbay.errors import ModelOutputError
from patchbay.providers.base import ModelRequest, ModelResponse
from patchbay.registry import BuildContext

_WORD = re.compile(r"[a-z0-9][a-z0-9'_-]*", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9<])")
_LIST_MARK = re.compile(r"^(?:[-*•>]+|\d{1,2}[.)])\s+")
_CODE_SPAN = re.compile(r"`[^`]*`")
_FIELD = re.compile(r"^\s*([A-Za-z][\w /-]{0,30}):\s*(.*)$")
_TITLE_FIELDS = {"title", "summary", "subject", "issue", "ticket"}
_BODY_FIELDS = {"description", "body", "details", "comment", "comments", "text", "message"}
_INSTRUCTION = re.compile(
    r"^\s*(?:[-*#>\d.)\s]*)(summari[sz]e|write|answer|reply|respond|return|do not|don't|never|always|"
    r"keep|focus|ignore|treat|you are|you're|the following|below is|here is|explain|be concise)\b",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"^\s*(hi|hello|hey|dear|thanks|thank you|many thanks|cheers|regards|best|kind regards|br|"
    r"sent from my|-- ?$|please advise|any help|thanks in advance)\b",
    re.IGNORECASE,
)
# A space-separated list is easier to read and extend than 130 quoted words.
_STOPWORD_TEXT = (
    "a about above after again against all am an and any are as at be because been before being below "
    "between both but by can could did do does doing down during each few for from further had has have "
    "having he her here hers him his how i if in into is it its itself just me more most my no nor not "
    "now of off on once only or other our ours out over own same she should so some such than that the "
    "their theirs them then there these they this those through to too under until up very was we were "
    "what when where which while who whom why will with would you your yours also get got please"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


class Config(BaseModel):
    """Options of the extractive summarizer."""

    model_config = ConfigDict(extra="forbid")

    sentences: int = Field(default=2, ge=1, le=10, description="How many sentences the summary quotes.")
    max_chars: int = Field(default=400, ge=40, le=10_000, description="Longest summary, in characters.")
    source_marker: str | None = Field(
        default=None,
        description="Text after the last occurrence of this marker is the ticket; default: the text after "
        "the prompt's last instruction-like line.",
    )


def _words(text: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOPWORDS and len(w) > 2]


def ticket_text(prompt: str, marker: str | None = None) -> str:
    """The part of ``prompt`` that is the ticket, without the instructions around it."""
    if marker and marker in prompt:
        return prompt.rsplit(marker, 1)[1].strip()
    lines = prompt.splitlines()
    for index, line in enumerate(lines):
        field = _FIELD.match(line)
        if field and field.group(1).strip().lower() in _TITLE_FIELDS | _BODY_FIELDS:
            # The ticket's own fields start here; later instruction lines are dropped one sentence at a time.
            return "\n".join(lines[index:]).strip()
    last = max((i for i, line in enumerate(lines) if _INSTRUCTION.match(line)), default=-1)
    after = "\n".join(lines[last + 1 :]).strip()
    if len(_words(after)) >= 3:
        return after
    # Instructions come after the ticket (or everywhere): keep every line that is not one.
    return "\n".join(line for line in lines if not _INSTRUCTION.match(line)).strip()


def _split(text: str) -> tuple[list[str], list[str]]:
    """(title sentences, body sentences) of a ticket."""
    titles: list[str] = []
    body: list[str] = []
    in_code = False
    for raw in text.splitlines():
        if raw.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
            continue
        # Code blocks, indented code and headings describe no problem in words.
        if in_code or raw.startswith(("    ", "\t")) or raw.lstrip().startswith("#"):
            continue
        line = _LIST_MARK.sub("", raw.strip()).strip()
        if not line or set(line) <= set("-=_*~|"):
            continue
        field = _FIELD.match(line)
        if field and field.group(1).strip().lower() in _TITLE_FIELDS:
            titles.append(field.group(2).strip())
            continue
        if field and field.group(1).strip().lower() not in _BODY_FIELDS and len(field.group(2).split()) <= 4:
            continue  # metadata such as "Priority: High" or "Reporter: <PERSON_1>"
        if field:
            line = field.group(2).strip()
        body.extend(s.strip() for s in _SENTENCE.split(line) if s.strip())
    return [t for t in titles if t], body


def _usable(sentence: str) -> bool:
    if _BOILERPLATE.match(sentence) or _INSTRUCTION.match(sentence) or sentence.endswith(":"):
        return False
    prose = sum(c.isalpha() or c.isspace() for c in _CODE_SPAN.sub("", sentence))
    return len(_words(sentence)) >= 3 and prose >= 0.75 * len(sentence)


def summarize(text: str, *, sentences: int = 2, max_chars: int = 400) -> str:
    """The ``sentences`` most informative sentences of a ticket, in their original order."""
    titles, body = _split(text)
    candidates = [s for s in body if _usable(s)]
    if not candidates:
        candidates = titles or [s for s in body if s.strip()] or [" ".join(text.split())]
    title_words = set(_words(" ".join(titles)))
    counts = Counter(w for s in candidates for w in _words(s))

    def score(index: int) -> float:
        words = _words(candidates[index])
        if not words:
            return 0.0
        total = sum(counts[w] * (3.0 if w in title_words else 1.0) for w in words)
        # Divide by sqrt(length) so long run-on sentences do not win by size alone; the first
        # sentence usually states the problem, so it gets a small bonus.
        return total / math.sqrt(len(words)) + (0.5 if index == 0 else 0.0)

    best = sorted(range(len(candidates)), key=lambda i: (-score(i), i))[:sentences]
    chosen = [_end(candidates[i]) for i in sorted(best)]
    return _clip(" ".join(chosen), max_chars)


def _end(sentence: str) -> str:
    return sentence if sentence[-1] in ".!?…" else sentence + "."


def _clip(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    stop = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if stop >= max_chars // 3:
        return cut[: stop + 1]
    return cut[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


class ExtractiveProvider:
    """Summarizes by quoting; its answers are copies of the input by design (the step relaxes that guard)."""

    extracts_from_input = True

    def __init__(self, config: Config, *, name: str) -> None:
        self.name = name
        self.config = config
        self.timeout_s = 5.0

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Quote the ticket's best sentences; ``ModelOutputError`` only for a prompt with no text."""
        text = ticket_text(request.prompt, self.config.source_marker)
        if not text.strip():
            raise ModelOutputError(
                f"provider {self.name!r} (extractive) got an empty prompt: nothing to summarize"
            )
        summary = summarize(text, sentences=self.config.sentences, max_chars=self.config.max_chars)
        return ModelResponse(
            text=summary,
            model="extractive",
            provider=self.name,
            tokens_in=len(request.prompt.split()),
            tokens_out=len(summary.split()),
            finish_reason="stop",
        )

    async def aclose(self) -> None:
        """Nothing to release."""


def build(config: Config, ctx: BuildContext) -> ExtractiveProvider:
    """Construct the provider."""
    return ExtractiveProvider(config, name=ctx.name)
