"""Checks that tell a usable model answer from an abnormal one.

Used by the ``model`` step (an abnormal answer makes the fallback chain try the next provider) and
by the ``postprocess`` step (an abnormal final text is never written). Each check returns a short,
safe reason (no ticket text) or None.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[\w']+", re.UNICODE)
_PLACEHOLDER_ONLY = re.compile(r"^\W*(<[A-Z_]+_\d+>\W*)+$")


def _shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {tuple(words[i : i + size]) for i in range(max(0, len(words) - size + 1))}


def copied_share(answer: str, source: str) -> float:
    """Share of the answer's 5-word sequences that appear verbatim in ``source`` (0.0-1.0)."""
    mine = _shingles(answer)
    if not mine:
        return 0.0
    return len(mine & _shingles(source)) / len(mine)


def repeated_share(answer: str) -> float:
    """Share of the answer's 5-word sequences that occur more than once (looping output)."""
    words = [w.lower() for w in _WORD.findall(answer)]
    grams = [tuple(words[i : i + 5]) for i in range(max(0, len(words) - 4))]
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def answer_problem(
    text: str,
    *,
    source: str = "",
    max_chars: int | None = None,
    max_copied: float = 0.8,
    max_repeated: float = 0.3,
    quoted: bool = False,
) -> str | None:
    """Why ``text`` is not a usable answer, or None when it is.

    ``source`` is the text the model was given (the prompt); an answer that is mostly a verbatim
    copy of it is rejected, as is an empty, placeholder-only, looping or over-long answer. A
    ``quoted`` answer (an extractive summary, which quotes the input by design) skips the copy and
    repetition checks.
    """
    stripped = text.strip()
    if not stripped:
        return "empty answer"
    if len(_WORD.findall(stripped)) < 3:
        return "answer too short (fewer than 3 words)"
    if _PLACEHOLDER_ONLY.match(stripped):
        return "answer is only redaction placeholders"
    if max_chars is not None and len(stripped) > max_chars * 3:
        return f"answer far too long ({len(stripped)} characters)"
    if quoted:
        return None
    if repeated_share(stripped) > max_repeated:
        return "answer repeats itself"
    if source and len(_WORD.findall(stripped)) >= 12 and copied_share(stripped, source) > max_copied:
        return "answer copies the input"
    return None
