"""Encoding model output for the target: no mass or user mentions, no links the input did not have.

A ticket can tell the model to "notify @channel" or to "add a link to https://evil.example/login";
a model that obeys would make Patchbay page a whole workspace or plant a phishing link under the
company's bot account. The ``postprocess`` step removes both before anything is written:

* mentions: ``@channel``, ``@here``, ``@everyone``, Slack's ``<!channel>``, ``<!here>``,
  ``<!everyone>``, ``<!subteam^…>``, ``<@U…>``/``<@W…>`` and Jira's ``[~user]``/``[~accountid:…]``;
* links: any ``http(s)://``, ``ftp://``, ``mailto:`` or ``www.`` address (also inside Slack's
  ``<url|label>`` and Jira's ``[label|url]``; the label is kept) that does not appear in the prompt.
"""

from __future__ import annotations

import re

_MENTION = re.compile(
    r"<!(?:channel|here|everyone|subteam\^[^>]*)(?:\|[^>]*)?>"  # Slack special mentions
    r"|<@[UW][A-Z0-9]+(?:\|[^>]*)?>"  # Slack user mentions
    r"|\[~(?:accountid:)?[^\]\s]+\]"  # Jira user mentions
    r"|(?<![\w@.])@(?:channel|here|everyone)\b",  # plain mass mentions
    re.IGNORECASE,
)
_URL = r"(?:(?:https?|ftp)://|mailto:|www\.)[^\s<>|\]\"')]+"
# Link markup first, so its label survives: Slack <url|label>, Jira [label|url], then bare URLs.
_SLACK_LINK = re.compile(r"<(" + _URL + r")(?:\|([^>]*))?>", re.IGNORECASE)
_JIRA_LINK = re.compile(r"\[([^\]|]*)\|(" + _URL + r")\]", re.IGNORECASE)
_BARE_URL = re.compile(_URL, re.IGNORECASE)


def neutralize_mentions(text: str) -> tuple[str, int]:
    """``text`` without mentions that would notify people, and how many were removed."""
    text, count = _MENTION.subn("", text)
    return (_tidy(text) if count else text), count


def strip_new_links(text: str, source: str) -> tuple[str, int]:
    """``text`` without links that are not in ``source`` (the prompt), and how many were removed."""
    known = source.lower()
    removed = 0

    def new(url: str) -> bool:
        return url.rstrip(".,;:!?").lower() not in known

    def slack(match: re.Match[str]) -> str:
        nonlocal removed
        if not new(match.group(1)):
            return match.group(0)
        removed += 1
        return match.group(2) or ""

    def jira(match: re.Match[str]) -> str:
        nonlocal removed
        if not new(match.group(2)):
            return match.group(0)
        removed += 1
        return match.group(1)

    def bare(match: re.Match[str]) -> str:
        nonlocal removed
        url = match.group(0)
        if not new(url):
            return url
        removed += 1
        # Keep the sentence's own punctuation that the URL pattern swallowed.
        return url[len(url.rstrip(".,;:!?")) :]

    text = _SLACK_LINK.sub(slack, text)
    text = _JIRA_LINK.sub(jira, text)
    text = _BARE_URL.sub(bare, text)
    return (_tidy(text) if removed else text), removed


def _tidy(text: str) -> str:
    """Collapse the gaps a removal leaves: double spaces and a space before punctuation."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r" +([.,;:!?])", r"\1", text)
    return text.strip()
