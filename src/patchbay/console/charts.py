"""Inline SVG charts, generated on the server: stacked bars, lines and a step waterfall.

No JavaScript and no external assets: each chart is one ``<svg>`` element whose colours come from
CSS classes in ``console.css``; every bar and point carries a ``<title>`` so hovering shows the value.
Labels are escaped here because the markup is inserted into autoescaped templates as ``Markup``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

Fmt = Callable[[float], str]
W, H = 600, 210
LEFT, RIGHT, TOP, BOTTOM = 54, 10, 12, 44


@dataclass(frozen=True)
class Series:
    """One named series: its CSS class (its colour) and one value per category (None: no data)."""

    name: str
    css: str
    values: Sequence[float | None]


def nice_max(value: float) -> float:
    """The smallest 1/2/2.5/5 x 10^k at or above ``value`` (1 for nothing), for round axis labels."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def plain(value: float) -> str:
    """A compact number: 1234 -> 1.2k, 0.5 -> 0.5."""
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def _frame(title: str, top: float, fmt: Fmt, labels: Sequence[str]) -> list[str]:
    plot_h = H - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for frac in (0, 0.5, 1):
        y = TOP + plot_h * (1 - frac)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        tick = escape(fmt(top * frac))
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    every = max(1, math.ceil(len(labels) / 8))  # at most ~8 date labels so they never overlap
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            x = LEFT + slot * (i + 0.5)
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    return parts


def _legend(series: Sequence[Series]) -> str:
    items, x = [], LEFT
    for s in series:
        items.append(
            f'<rect class="{escape(s.css)}" x="{x}" y="{H - 14}" width="10" height="10" rx="2"/>'
            f'<text class="legend" x="{x + 14}" y="{H - 5}">{escape(s.name)}</text>'
        )
        x += 24 + 7 * len(s.name)
    return "".join(items)


def stacked_bars(title: str, labels: Sequence[str], series: Sequence[Series], fmt: Fmt = plain) -> Markup:
    """Bars per category, the series stacked bottom-up in the given order."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    top = nice_max(max(totals, default=0))
    plot_h = H - TOP - BOTTOM
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    width = max(slot * 0.7, 1)
    parts = _frame(title, top, fmt, labels)
    for i, label in enumerate(labels):
        y = float(TOP + plot_h)
        x = LEFT + slot * i + (slot - width) / 2
        for s in series:
            value = s.values[i] or 0
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(
                f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}">'
                f"<title>{escape(label)} - {escape(s.name)}: {escape(fmt(value))}</title></rect>"
            )
    parts.append(_legend(series))
    parts.append("</svg>")
    return Markup("".join(parts))


def lines(title: str, labels: Sequence[str], series: Sequence[Series], fmt: Fmt = plain) -> Markup:
    """One line per series; a missing value (None) breaks the line."""
    top = nice_max(max((v for s in series for v in s.values if v is not None), default=0))
    plot_h = H - TOP - BOTTOM
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    parts = _frame(title, top, fmt, labels)
    for s in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x, y = LEFT + slot * (i + 0.5), TOP + plot_h * (1 - value / top)
            runs[-1].append((x, y))
            parts.append(
                f'<circle class="{escape(s.css)}" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
                f"<title>{escape(labels[i])} - {escape(s.name)}: {escape(fmt(value))}</title></circle>"
            )
        for points in runs:
            if len(points) > 1:
                coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                parts.append(f'<polyline class="line {escape(s.css)}" points="{coords}"/>')
    parts.append(_legend(series))
    parts.append("</svg>")
    return Markup("".join(parts))


def waterfall(title: str, steps: Sequence[tuple[str, float]], fmt: Fmt) -> Markup:
    """Each step as a bar that starts where the previous one ended (a run's step timings)."""
    total = sum(ms for _, ms in steps) or 1.0
    row, label_w, width = 24, 110, W - 10
    height = row * len(steps) + 8
    parts = [
        f'<svg class="chart waterfall" viewBox="0 0 {W} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    start = 0.0
    span = width - label_w - 80
    for i, (name, ms) in enumerate(steps):
        y = 4 + i * row
        x = label_w + span * start / total
        w = max(span * ms / total, 2)
        parts.append(f'<text class="legend" x="0" y="{y + 15}">{escape(name)}</text>')
        parts.append(
            f'<rect class="s-step" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" rx="2">'
            f"<title>{escape(name)}: {escape(fmt(ms))}</title></rect>"
        )
        parts.append(f'<text class="axis" x="{x + w + 6:.1f}" y="{y + 15}">{escape(fmt(ms))}</text>')
        start += ms
    parts.append("</svg>")
    return Markup("".join(parts))
