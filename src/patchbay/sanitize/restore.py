"""Put pseudonymized values back into a model's answer, forgiving what models do to tokens.

Models change case (``<Person_1>``), drop or swap brackets (``PERSON_1``, ``[PERSON_1]``,
``(person 1)``), HTML-escape them (``&lt;PERSON_1&gt;``), add possessives (``<PERSON_1>'s``) and
leave some tokens out. Every such form of a token in the mapping is restored; tokens not in the
mapping (invented by the model, or a redacted type) are left as they are. Secrets never restore.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from patchbay.sanitize.actions import NEVER_RESTORED
from patchbay.sanitize.replace import PLACEHOLDER, label

_OPEN = r"(?:(?P<open>&lt;|[<\[({]{1,2})[ \t]*)?"
_CLOSE = r"(?:[ \t]*(?P<close>&gt;|[>\])}]{1,2}))?"


def restore(text: str, mapping: Mapping[str, str]) -> tuple[str, int]:
    """``text`` with every recognisable form of each mapped token replaced by its value, and the count.

    ``mapping`` is token -> value, tokens written ``<TYPE_n>``.
    """
    wanted: dict[tuple[str, int], str] = {}
    for token, value in mapping.items():
        m = PLACEHOLDER.fullmatch(token)
        if m is None or m.group(1).lower() in {label(t).lower() for t in NEVER_RESTORED}:
            continue
        wanted[(m.group(1).upper(), int(m.group(2)))] = value
    if not wanted:
        return text, 0
    names = sorted({name for name, _ in wanted}, key=len, reverse=True)
    alternatives = "|".join(r"[ _-]?".join(re.escape(part) for part in name.split("_")) for name in names)
    pattern = re.compile(
        rf"(?i){_OPEN}(?<![\w])(?P<type>{alternatives})(?P<sep>[ _-]?)(?P<num>\d+)(?!\w){_CLOSE}"
    )
    count = 0

    def swap(m: re.Match[str]) -> str:
        nonlocal count
        bracketed = m.group("open") is not None or m.group("close") is not None
        # Bare "person 1" could be prose; a bare form needs the underscore to be taken as a token.
        if not bracketed and m.group("sep") != "_":
            return m.group()
        name = re.sub(r"[ _-]", "_", m.group("type")).upper()
        value = wanted.get((name, int(m.group("num"))))
        if value is None:
            return m.group()
        count += 1
        return value

    return pattern.sub(swap, text), count
