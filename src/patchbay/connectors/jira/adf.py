"""Plain text to Atlassian Document Format (ADF) and back.

Jira Cloud's REST v3 takes ADF for rich-text fields (``description``, ``environment`` and multi-line
``textarea`` custom fields). Only the small subset Patchbay writes is produced here: a ``doc`` of
paragraphs holding ``text`` nodes, with ``hardBreak`` nodes for single line breaks. Jira rejects a
document that contains an empty ``text`` node, so none is ever emitted.
"""

from __future__ import annotations

import re
from typing import Any

_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def text_to_adf(text: str) -> dict[str, Any]:
    """An ADF ``doc`` for ``text``: one paragraph per blank-line-separated block.

    Single line breaks inside a block become ``hardBreak`` nodes; empty input gives an empty doc.
    """
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    content: list[dict[str, Any]] = []
    for block in _BLANK_LINE.split(normalized):
        paragraph = _paragraph(block)
        if paragraph is not None:
            content.append(paragraph)
    return {"type": "doc", "version": 1, "content": content}


def _paragraph(block: str) -> dict[str, Any] | None:
    lines = [line.rstrip() for line in block.strip("\n").split("\n")]
    nodes: list[dict[str, Any]] = []
    for line in lines:
        if not line.strip():
            continue
        if nodes:
            nodes.append({"type": "hardBreak"})
        nodes.append({"type": "text", "text": line})
    if not nodes:
        return None
    return {"type": "paragraph", "content": nodes}


def adf_to_text(node: Any) -> str:
    """Flatten an ADF node (or a plain string, as in v2-shaped webhook bodies) to plain text.

    Block nodes are separated by a blank line, ``hardBreak`` becomes a newline; marks, attributes and
    unknown inline nodes without text are dropped.
    """
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        text = node.get("text")
        return text if isinstance(text, str) else ""
    if kind == "hardBreak":
        return "\n"
    children = node.get("content")
    if not isinstance(children, list):
        return ""
    if kind in {"paragraph", "heading"} or _all_inline(children):
        return "".join(adf_to_text(child) for child in children)
    parts = [adf_to_text(child) for child in children]
    return "\n\n".join(part for part in parts if part)


_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"}


def _all_inline(children: list[Any]) -> bool:
    return bool(children) and all(isinstance(c, dict) and c.get("type") in _INLINE for c in children)
