"""``patchbay report``: the pilot evaluation from the run records and feedback of a time window.

:func:`build_report` gathers the numbers (:mod:`.data`) and the recommendation (:mod:`.verdict`);
:func:`render` writes them as Markdown, JSON or a self-contained HTML page with inline SVG charts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.engine import Engine

from patchbay.ops.report.data import collect, parse_since, percentile
from patchbay.ops.report.html import to_html
from patchbay.ops.report.markdown import to_json, to_markdown
from patchbay.ops.report.verdict import Thresholds, recommend

__all__ = ["Format", "Thresholds", "build_report", "parse_since", "percentile", "render"]

Format = Literal["md", "html", "json"]


def build_report(
    engine: Engine,
    *,
    since: datetime,
    integration: str | None = None,
    thresholds: Thresholds | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The report's data: every number, the thresholds used and the recommendation."""
    limits = thresholds or Thresholds()
    data = collect(engine, integration=integration, since=since, now=now)
    data["thresholds"] = limits.as_dict()
    data["recommendation"] = recommend(data, limits)
    return data


def render(report: dict[str, Any], fmt: Format) -> str:
    """The report in ``fmt``: 'md', 'json' or 'html'."""
    if fmt == "json":
        return to_json(report)
    if fmt == "html":
        return to_html(report)
    return to_markdown(report)
