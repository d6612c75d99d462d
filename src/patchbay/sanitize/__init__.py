"""Find sensitive values in text and replace them with typed, numbered placeholders.

Layers, each replaceable on its own:

1. detectors (:class:`Detector`) find :class:`Span` objects: checked patterns in
   :mod:`~patchbay.sanitize.detectors`, a catalogue of secret formats in
   :mod:`~patchbay.sanitize.secret_formats`;
2. :func:`~patchbay.sanitize.spans.resolve` settles overlaps (most specific, then longest wins);
3. :func:`~patchbay.sanitize.replace.replace` writes ``<EMAIL_1>``-style tokens, the same token for
   the same value within one numbering (:class:`Placeholders`).

To add a detector, implement ``entity_types`` and ``detect(text)`` and pass it in
``Sanitizer(detectors=[...])``; to add a secret format, append to ``secret_formats.FORMATS``.
"""

from patchbay.sanitize.replace import PLACEHOLDER, Placeholders
from patchbay.sanitize.sanitizer import SanitizedData, SanitizedText, Sanitizer
from patchbay.sanitize.spans import ENTITY_TYPES, Detector, Span, resolve

__all__ = [
    "ENTITY_TYPES",
    "PLACEHOLDER",
    "Detector",
    "Placeholders",
    "SanitizedData",
    "SanitizedText",
    "Sanitizer",
    "Span",
    "resolve",
]
