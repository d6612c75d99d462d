"""Step ``postprocess``: turn the model's answer into the short plain text that gets written.

In order: strip markdown and chatter ("Sure! Here is a summary:", "Let me know if..."), normalize
whitespace, remove mentions (``@channel``, ``<!here>``) and links that were not in the prompt
(:mod:`patchbay.steps.neutralize`), re-scan for sensitive values the model produced (redacted, counted in
``state.output_findings``), keep at most ``max_sentences`` and ``max_chars`` (cut on a sentence
boundary), check the result with :func:`patchbay.guards.answer_problem`, then restore the
pseudonyms the ``sanitize`` step handed out (``<PERSON_1>`` -> the name, tolerant of the ways models
rewrite tokens; secrets are never restored). A text that fails is never written: the step raises
:class:`~patchbay.errors.ModelOutputError` (permanent) with the reason. The safe fallback message
passes through unchanged; the ``write`` step decides what to do with it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from patchbay.errors import ModelOutputError, StepError
from patchbay.guards import answer_problem
from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.registry import BuildContext
from patchbay.sanitize import Sanitizer
from patchbay.sanitize.replace import replace
from patchbay.sanitize.restore import restore
from patchbay.sanitize.vault import Vault, VaultError
from patchbay.steps.held import held_variants, mask_held
from patchbay.steps.neutralize import neutralize_mentions, strip_new_links

log = structlog.get_logger(__name__)

_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+(.*)$", re.MULTILINE)
_QUOTE = re.compile(r"^\s*>\s?", re.MULTILINE)
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")

# Opening chatter: "Sure!", "Certainly, here is a concise summary of the ticket:", "Summary:".
_LEAD_IN = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|absolutely|okay|ok)(?:[!,.:]\s*|\s+(?=here\b)))?"
    r"(?:(?:here(?:'s| is| are)|below is)\b[^.:!\n]{0,80}?[:.!]\s*)?"
    r"(?:(?:ticket |triage |ai |short |brief )?(?:summary|tl;?dr|overview)\s*:\s*)?",
    re.IGNORECASE,
)
# Closing chatter, as whole sentences.
_SIGN_OFF = re.compile(
    r"^(?:please )?(?:let me know|feel free|i hope|hope this|if you (?:have|need|want)|"
    r"is there anything|do you want|would you like|happy to help)",
    re.IGNORECASE,
)
# Small models often echo the prompt's field labels: "Title: X. Description: A user reports ...".
# A restated title adds nothing to a summary written into that very ticket; other labels are dropped.
_TITLE_ECHO = re.compile(r"^(?:title|subject)\s*:", re.IGNORECASE)
_TITLE_BEFORE_LABEL = re.compile(
    r"^(?:title|subject)\s*:.*?\s+(?=(?:description|details|summary|issue|problem)\s*:)", re.IGNORECASE
)
_FIELD_LABEL = re.compile(r"^(?:description|details|summary|issue|problem)\s*:\s*(?=\S)", re.IGNORECASE)
_LABEL_ONLY = re.compile(r"^(?:ticket |triage |ai )?(?:summary|tl;?dr|overview)\s*:?$", re.IGNORECASE)

# Words after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    str.split(
        "e.g i.e etc vs cf approx mr mrs ms dr prof sr jr st no fig inc ltd co corp dept est min "
        "max ver jan feb mar apr jun jul aug sep sept oct nov dec"
    )
)
# A boundary: end punctuation (and closing quotes/brackets), whitespace, then a non-lowercase start.
_BOUNDARY = re.compile(r"[.!?…]+[\"')\]]*\s+(?=[^\sa-z])")


def strip_markdown(text: str) -> str:
    """Plain text of markdown: list items and headings become their own lines, markup goes."""
    text = _FENCE.sub("", text)
    text = _RULE.sub("", text)
    text = _QUOTE.sub("", text)
    text = _HEADING.sub(lambda m: _as_sentence(m.group(1)), text)
    text = _BULLET.sub(lambda m: _as_sentence(m.group(1)), text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _BOLD.sub(r"\2", text)
    text = _ITALIC.sub(r"\2", text)
    return _CODE.sub(r"\1", text)


def _as_sentence(line: str) -> str:
    """A heading or list item as a sentence: it ends with punctuation so it does not run on."""
    line = line.strip()
    if not line or _LABEL_ONLY.match(line):
        return ""
    return line if line[-1] in ".!?:;…" else line + "."


def strip_chatter(text: str) -> str:
    """``text`` without an opening 'Sure! Here is a summary:' or a bare 'Summary:' label."""
    previous = None
    while previous != text:
        previous = text
        text = _LEAD_IN.sub("", text, count=1)
    return text


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; does not split on 'e.g.', 'Mr.', 'v1.2.3', '3.5', URLs or decimals."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()].rsplit(None, 1)
        last_word = before[-1].lower().rstrip(".") if before else ""
        # "Mr. Smith", "e.g. Chrome", "J. Doe": a period after an abbreviation or an initial.
        abbreviation = last_word in _ABBREVIATIONS or len(last_word) == 1
        if match.group().startswith(".") and abbreviation:
            continue
        sentences.append(text[start : match.start() + len(match.group().rstrip())].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def fit(sentences: list[str], max_chars: int) -> str:
    """Whole sentences that fit in ``max_chars``; when even the first does not, it is cut at a word."""
    kept: list[str] = []
    for sentence in sentences:
        if len(" ".join([*kept, sentence])) > max_chars:
            break
        kept.append(sentence)
    if kept:
        return " ".join(kept)
    cut = sentences[0][: max_chars - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:-") + "…"


class Config(BaseModel):
    """Options of the ``postprocess`` step."""

    model_config = ConfigDict(extra="forbid")

    min_sentences: int = Field(default=1, ge=1, description="Fewer usable sentences: the answer is rejected.")
    max_sentences: int = Field(default=3, ge=1, description="Sentences kept; the rest are dropped.")
    max_chars: int = Field(
        default=600, ge=40, description="Longest text written, prefix included; cut on a sentence boundary."
    )
    strip_markdown: bool = Field(
        default=True, description="Remove markdown: headings, bullets, emphasis, links."
    )
    prefix: str = Field(default="", description="Text put before the output, e.g. 'AI summary: '.")
    rescan: bool = Field(
        default=True,
        description="Scan the output for emails, phones, cards, secrets and URL credentials the model wrote "
        "and replace them with placeholders before writing.",
    )
    restore: bool = Field(
        default=True,
        description="Put pseudonymized values (<PERSON_1>, <EMAIL_1>) back into the text before it is "
        "written, tolerating case changes, possessives and mangled brackets. Secrets are never restored.",
    )
    neutralize_mentions: bool = Field(
        default=True,
        description="Remove mentions that notify people: @channel, @here, @everyone, Slack <!here>/<@U...>, "
        "Jira [~user]. Ticket text can tell a model to add them.",
    )
    strip_new_links: bool = Field(
        default=True,
        description="Remove links (http(s)://, www., mailto:) that are not in the prompt; a link's label is "
        "kept. Ticket text can tell a model to add a phishing link.",
    )
    vault_key: SecretStr | None = Field(
        default=None,
        description="Key of the pseudonym mapping; must be the sanitize step's vault_key (default: the "
        "data dir's vault.key).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        if self.min_sentences > self.max_sentences:
            raise ValueError(
                f"min_sentences ({self.min_sentences}) is more than max_sentences ({self.max_sentences}); "
                "lower min_sentences or raise max_sentences"
            )
        if len(self.prefix) > self.max_chars // 2:
            raise ValueError(f"prefix is {len(self.prefix)} characters; keep it under half of max_chars")
        return self


class PostprocessStep:
    """Cleans, trims, checks and re-scans the model's answer into ``state.output``."""

    name = "postprocess"

    def __init__(
        self,
        config: Config,
        *,
        data_dir: Path = Path(".patchbay"),
        held_secrets: frozenset[str] = frozenset(),
    ) -> None:
        self.config = config
        self._held = held_variants(held_secrets)
        self._sanitizer = Sanitizer()
        self._vault_key = config.vault_key.get_secret_value() if config.vault_key else None
        self._data_dir = data_dir
        self._vault: Vault | None = None

    def vault(self) -> Vault:
        """The vault, opened on first use only (as the sanitize step's): building the cipher, and
        reading ``.patchbay/vault.key`` when no key is configured, once per process, not per run."""
        if self._vault is None:
            self._vault = Vault.resolve(self._vault_key, self._data_dir)
        return self._vault

    def clean(
        self, text: str, *, source: str = "", quoted: bool = False, mapping: Mapping[str, str] | None = None
    ) -> str:
        """The text to write for the model answer ``text`` to prompt ``source``; raises on a bad answer.

        ``mapping`` (token -> value) is used to restore pseudonyms when ``restore`` is on.
        """
        return self.clean_with_findings(text, source=source, quoted=quoted, mapping=mapping)[0]

    def clean_with_findings(
        self, text: str, *, source: str = "", quoted: bool = False, mapping: Mapping[str, str] | None = None
    ) -> tuple[str, dict[str, int]]:
        """:meth:`clean`, and the count per entity type of new sensitive values found in the answer."""
        cfg = self.config
        findings: dict[str, int] = {}
        raw = text
        if cfg.strip_markdown:
            text = strip_markdown(text)
        # A paragraph (or code block line group) that ends without punctuation still ends a sentence.
        paragraphs = re.split(r"\n\s*\n", text.strip())
        if len(paragraphs) > 1:
            paragraphs = [_as_sentence(p) for p in paragraphs]
        text = " ".join(strip_chatter(" ".join(p for p in paragraphs if p)).split())
        text = _TITLE_BEFORE_LABEL.sub("", text)
        text = self._encode_for_target(text, source, findings)
        if cfg.rescan:
            text, rescanned = self._rescan(text, source)
            findings.update(rescanned)
        sentences = [
            _FIELD_LABEL.sub("", s)
            for s in split_sentences(text)
            if not _SIGN_OFF.match(s) and not _LABEL_ONLY.match(s) and not _TITLE_ECHO.match(s)
        ]
        if not sentences:
            raise ModelOutputError(
                "model answer rejected: empty answer"
                + (" once markdown and chatter are removed" if raw.strip() else "")
                + "; nothing was written"
            )
        if len(sentences) < cfg.min_sentences:
            raise ModelOutputError(
                f"model answer rejected: {len(sentences)} usable sentence(s), at least "
                f"{cfg.min_sentences} needed (postprocess.min_sentences); nothing was written"
            )
        body = fit(sentences[: cfg.max_sentences], cfg.max_chars - len(cfg.prefix))
        problem = answer_problem(body, source=source, max_chars=cfg.max_chars, quoted=quoted)
        if problem is not None:
            raise ModelOutputError(f"model answer rejected: {problem}; nothing was written")
        if cfg.restore and mapping:
            # Restored after the checks: a placeholder-only answer is still rejected as one.
            body, restored = restore(body, mapping)
            if restored and len(body) > cfg.max_chars - len(cfg.prefix):
                body = fit(split_sentences(body), cfg.max_chars - len(cfg.prefix))
        body, held = self._mask_held(body)
        if held:
            findings["held_secret"] = findings.get("held_secret", 0) + held
        return cfg.prefix + body, findings

    def _encode_for_target(self, text: str, source: str, findings: dict[str, int]) -> str:
        """Remove mentions and links the input did not have (counted in ``findings``)."""
        if self.config.neutralize_mentions:
            text, mentions = neutralize_mentions(text)
            if mentions:
                findings["mention"] = mentions
                log.warning("postprocess.mentions_removed", count=mentions)
        if self.config.strip_new_links:
            text, links = strip_new_links(text, source)
            if links:
                findings["new_link"] = links
                log.warning("postprocess.new_links_removed", count=links)
        return text

    def _mask_held(self, text: str) -> tuple[str, int]:
        """Mask the literal values of the credentials Patchbay holds (and their base64/URL forms): a
        token with no recognizable format would pass every pattern, so these are matched by value."""
        text, count = mask_held(text, self._held)
        if count:
            log.warning("postprocess.held_secret_masked", count=count)
        return text, count

    def _rescan(self, text: str, source: str) -> tuple[str, dict[str, int]]:
        # A value already visible in the prompt went through the sanitize step's policy (allowed, or
        # a type switched off); anything else the model wrote is masked. New placeholders skip the
        # numbers the prompt uses, so <EMAIL_1> keeps meaning what it meant there.
        spans = [s for s in self._sanitizer.detect(text) if s.value not in source]
        if not spans:
            return text, {}
        log.info("postprocess.output_masked", count=len(spans), types=sorted({s.entity_type for s in spans}))
        return replace(text, spans, Sanitizer.numbering_for(source, text)), dict(
            Counter(s.entity_type for s in spans)
        )

    def _mapping(self, state: RunState) -> dict[str, str]:
        if not (self.config.restore and state.pseudonyms):
            return {}
        try:
            return self.vault().open(state.pseudonyms)
        except VaultError as exc:
            raise StepError(str(exc)) from None

    async def run(self, state: RunState, resources: Resources) -> RunState:
        """Fill ``state.output`` from ``state.answer``."""
        if state.answer is None:
            raise StepError("postprocess step has no model answer to work on; put a 'model' step before it")
        if state.answer.safe_fallback:
            return state.model_copy(update={"output": state.answer.text})
        output, findings = self.clean_with_findings(
            state.answer.text,
            source=state.prompt or "",
            quoted=state.answer.quoted,
            mapping=self._mapping(state),
        )
        merged = dict(state.output_findings)  # the model step counts held credentials it masked
        for kind, count in findings.items():
            merged[kind] = merged.get(kind, 0) + count
        return state.model_copy(update={"output": output, "output_findings": merged})


def build(config: Config, ctx: BuildContext | None) -> PostprocessStep:
    """Build the ``postprocess`` step (``ctx.extra["held_secrets"]``: the project's resolved secrets)."""
    if ctx is None:
        return PostprocessStep(config)
    held = frozenset(ctx.extra.get("held_secrets", ()))
    return PostprocessStep(config, data_dir=ctx.data_dir, held_secrets=held)
