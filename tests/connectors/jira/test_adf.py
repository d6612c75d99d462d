"""Plain text to ADF: the shape Jira Cloud accepts, and back."""

from __future__ import annotations

from typing import Any

from patchbay.connectors.jira.adf import adf_to_text, text_to_adf


def text_nodes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [node for p in doc["content"] for node in p["content"] if node["type"] == "text"]


def test_single_line_is_one_paragraph() -> None:
    assert text_to_adf("Short summary.") == {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Short summary."}]}],
    }


def test_blank_lines_split_paragraphs_and_line_breaks_become_hard_breaks() -> None:
    doc = text_to_adf("First line\nsecond line\r\n\r\n  \n\nNext block\n")
    assert [p["type"] for p in doc["content"]] == ["paragraph", "paragraph"]
    assert doc["content"][0]["content"] == [
        {"type": "text", "text": "First line"},
        {"type": "hardBreak"},
        {"type": "text", "text": "second line"},
    ]


def test_never_emits_empty_text_nodes() -> None:
    for text in ["", "\n\n\n", "  \n \n", "a\n\n\n\n\nb", "x\n   \ny"]:
        doc = text_to_adf(text)
        assert all(node["text"] for node in text_nodes(doc))
        assert all(p["content"] for p in doc["content"])
    assert text_to_adf("")["content"] == []


def test_round_trip_keeps_the_text() -> None:
    text = "Login fails after SSO change.\n\nCheck the IdP certificate.\nThen retry."
    assert adf_to_text(text_to_adf(text)) == text


def test_flattens_nested_blocks_and_plain_strings() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "content": [{"type": "text", "text": "Steps"}]},
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a"}]}],
                    }
                ],
            },
        ],
    }
    assert adf_to_text(doc) == "Steps\n\na"
    assert adf_to_text("wiki *markup* string") == "wiki *markup* string"
    assert adf_to_text(None) == ""
