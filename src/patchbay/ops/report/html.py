"""The report as one self-contained HTML file: inline CSS and inline SVG charts, nothing fetched."""

from __future__ import annotations

from html import escape
from typing import Any

from patchbay.ops.report import svg

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:760px;color:#222}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
.verdict{padding:.7rem 1rem;border-radius:6px;font-weight:600}
.ready{background:#e6f4ea;color:#1e6b34}.notyet{background:#fdecea;color:#8a1c14}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
svg{width:100%;height:auto;margin:.5rem 0}.grid{stroke:#eee}.axis{font-size:10px;fill:#666}
"""
COLORS = {"succeeded": "#59a14f", "fallback": "#f28e2b", "failed": "#e15759", "other": "#bab0ac"}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.2f} s"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _row(name: str, value: str) -> str:
    return f"<tr><th>{escape(name)}</th><td class='n'>{escape(value)}</td></tr>"


def to_html(report: dict[str, Any]) -> str:
    """The whole page."""
    r = report
    lat, cost, fb = r["latency_ms"], r["cost_usd"], r["feedback"]
    days = [d["day"] for d in r["daily"]]
    rec = r["recommendation"]
    scope = f"integration {r['integration']}" if r["integration"] else "all integrations"
    per_ticket = "-" if cost["per_ticket"] is None else f"${cost['per_ticket']:.4f}"
    body = [
        "<h1>Patchbay pilot report</h1>",
        f"<p>{escape(scope)}, {escape(r['since'][:16])} to {escape(r['until'][:16])} UTC</p>",
        f"<p class='verdict {'ready' if rec['ready'] else 'notyet'}'>{escape(rec['line'])}</p>",
        "<table>",
        _row("runs", f"{r['runs']} ({r['finished']} finished)"),
        _row("success rate", _pct(r["rates"]["success"])),
        _row("fallback rate", _pct(r["rates"]["fallback"])),
        _row("failure rate", _pct(r["rates"]["failure"])),
        _row("latency p50 / p95 / p99", f"{_ms(lat['p50'])} / {_ms(lat['p95'])} / {_ms(lat['p99'])}"),
        _row("tokens in / out", f"{r['tokens']['in']:,} / {r['tokens']['out']:,}"),
        _row("cost total", f"${cost['total']:.4f}"),
        _row("cost per ticket", f"{per_ticket} ({cost['tickets']} tickets)"),
        _row(
            "feedback", f"{fb['useful']} useful / {fb['not_useful']} not useful ({_pct(fb['useful_share'])})"
        ),
        "</table>",
        "<h2>Runs per day</h2>",
        svg.stacked_bars(
            "Runs per day by outcome",
            days,
            {k: [float(d[k]) for d in r["daily"]] for k in COLORS},
            COLORS,
        ),
        "<h2>Latency per day</h2>",
        svg.lines(
            "p50 and p95 latency per day (seconds)",
            days,
            {
                "p50": [None if d["p50_ms"] is None else d["p50_ms"] / 1000 for d in r["daily"]],
                "p95": [None if d["p95_ms"] is None else d["p95_ms"] / 1000 for d in r["daily"]],
            },
            {"p50": "#4c78a8", "p95": "#e15759"},
            unit="s",
        ),
        "<h2>Latency distribution</h2>",
        svg.histogram("Runs by latency (seconds)", [v / 1000 for v in r["durations_ms"]], unit="s"),
        "<h2>Cost per day</h2>",
        svg.stacked_bars(
            "Cost per day (USD)", days, {"cost": [d["cost_usd"] for d in r["daily"]]}, {"cost": "#76b7b2"}
        ),
        "<h2>Feedback</h2>",
        svg.stacked_bars(
            "Ratings",
            ["useful", "not useful"],
            {"useful": [float(fb["useful"]), 0.0], "not useful": [0.0, float(fb["not_useful"])]},
            {"useful": "#59a14f", "not useful": "#e15759"},
        ),
    ]
    if fb["comments"]:
        body.append("<ul>")
        for c in fb["comments"]:
            mark = "useful" if c["useful"] else "not useful"
            body.append(f"<li><b>{mark}</b> ({escape(c['run_id'])}): {escape(str(c['comment']))}</li>")
        body.append("</ul>")
    if r["top_errors"]:
        body.append(
            "<h2>Top errors</h2><table><tr><th>count</th><th>step / code</th><th>example</th>"
            "<th>what to do</th></tr>"
        )
        for e in r["top_errors"]:
            body.append(
                f"<tr><td class='n'>{e['count']}</td><td>{escape(e['step'])} / {escape(e['code'])}</td>"
                f"<td>{escape(e['example'])}</td><td>{escape(e['advice'])}</td></tr>"
            )
        body.append("</table>")
    thresholds = ", ".join(f"{k}={v}" for k, v in r["thresholds"].items())
    body.append(f"<p class='axis'>Thresholds: {escape(thresholds)}</p>")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Patchbay pilot report</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
