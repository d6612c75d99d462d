"""The report as Markdown (default) and JSON."""

from __future__ import annotations

import json
from typing import Any


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.2f} s"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def to_json(report: dict[str, Any]) -> str:
    """Every number, machine-readable (without the raw duration list)."""
    public = {k: v for k, v in report.items() if k != "durations_ms"}
    return json.dumps(public, indent=2, default=str)


def to_markdown(report: dict[str, Any]) -> str:
    """A page a person can paste into a pilot review."""
    r = report
    scope = f"integration `{r['integration']}`" if r["integration"] else "all integrations"
    lat, cost, fb = r["latency_ms"], r["cost_usd"], r["feedback"]
    lines = [
        "# Patchbay pilot report",
        "",
        f"{scope}, {r['since'][:16]} to {r['until'][:16]} UTC",
        "",
        f"**{r['recommendation']['line']}**",
        "",
        "| measure | value |",
        "|---|---|",
        f"| runs | {r['runs']} ({r['finished']} finished) |",
        f"| success rate | {_pct(r['rates']['success'])} |",
        f"| fallback rate | {_pct(r['rates']['fallback'])} |",
        f"| failure rate | {_pct(r['rates']['failure'])} |",
        f"| latency p50 / p95 / p99 | {_ms(lat['p50'])} / {_ms(lat['p95'])} / {_ms(lat['p99'])} |",
        f"| tokens in / out | {r['tokens']['in']:,} / {r['tokens']['out']:,} |",
        f"| cost total | ${cost['total']:.4f} |",
        "| cost per ticket | "
        + ("-" if cost["per_ticket"] is None else f"${cost['per_ticket']:.4f}")
        + f" ({cost['tickets']} tickets) |",
        f"| feedback | {fb['useful']} useful / {fb['not_useful']} not useful ({_pct(fb['useful_share'])}) |",
        "",
        "Statuses: " + (", ".join(f"{k} {v}" for k, v in r["statuses"].items()) or "none"),
    ]
    if r["models"]:
        lines += ["", "Models: " + ", ".join(f"{k}: {v}" for k, v in r["models"].items())]
    if r["top_errors"]:
        lines += [
            "",
            "## Top errors",
            "",
            "| count | step | code | example | what to do |",
            "|---|---|---|---|---|",
        ]
        for e in r["top_errors"]:
            example = e["example"].replace("|", "\\|")
            lines.append(f"| {e['count']} | {e['step']} | {e['code']} | {example} | {e['advice']} |")
    if fb["comments"]:
        lines += ["", "## Recent comments", ""]
        for c in fb["comments"]:
            mark = "useful" if c["useful"] else "not useful"
            lines.append(f"- ({mark}, {c['run_id']}) {' '.join(str(c['comment']).split())}")
    if r["daily"]:
        lines += [
            "",
            "## Per day",
            "",
            "| day | runs | failed | fallback | p95 | cost |",
            "|---|---|---|---|---|---|",
        ]
        for d in r["daily"]:
            lines.append(
                f"| {d['day']} | {d['runs']} | {d['failed']} | {d['fallback']} | {_ms(d['p95_ms'])} | "
                f"${d['cost_usd']:.4f} |"
            )
    lines += ["", "Thresholds: " + ", ".join(f"{k}={v}" for k, v in r["thresholds"].items()), ""]
    return "\n".join(lines)
