"""Tiny inline-SVG charts for the HTML report: no library, no script, no network."""

from __future__ import annotations

import math
import re
from html import escape

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
W, H, PAD_L, PAD_B, PAD_T = 640, 220, 56, 36, 16


def _nice_max(value: float) -> float:
    """The smallest 4 x (1, 2, 2.5 or 5 x 10^k) at or above ``value``: round grid labels."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value / 4))
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude * 4 >= value:
            return float(m * magnitude * 4)
    return value  # pragma: no cover - 10 x magnitude always suffices


def _frame(title: str, top: float, unit: str) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    plot_h = H - PAD_B - PAD_T
    for i in range(5):
        y = PAD_T + plot_h * i / 4
        label = top * (4 - i) / 4
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - 8}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{label:.3g}{unit}</text>'
        )
    return parts


def _x_labels(labels: list[str], width: float) -> list[str]:
    every = max(1, len(labels) // 10)
    return [
        f'<text x="{PAD_L + width * (i + 0.5):.1f}" y="{H - PAD_B + 16}" class="axis" text-anchor="middle">'
        f"{escape(label[5:] if _DAY.fullmatch(label) else label)}</text>"
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def stacked_bars(
    title: str, labels: list[str], series: dict[str, list[float]], colors: dict[str, str], unit: str = ""
) -> str:
    """Bars per label, stacked by series (e.g. runs per day by outcome)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    parts = _frame(title, top, unit)
    plot_h = H - PAD_B - PAD_T
    width = (W - 8 - PAD_L) / max(1, len(labels))
    for i, label in enumerate(labels):
        base = float(H - PAD_B)
        for name, values in series.items():
            h = plot_h * values[i] / top
            if h <= 0:
                continue
            base -= h
            parts.append(
                f'<rect x="{PAD_L + width * i + width * 0.15:.1f}" y="{base:.1f}" width="{width * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{colors[name]}"><title>{escape(label)} {escape(name)}: '
                f"{values[i]:g}{escape(unit)}</title></rect>"
            )
    parts += _x_labels(labels, width)
    parts += _legend(colors)
    return "".join(parts) + "</svg>"


def lines(
    title: str,
    labels: list[str],
    series: dict[str, list[float | None]],
    colors: dict[str, str],
    unit: str = "",
) -> str:
    """One polyline per series (e.g. p50 and p95 latency per day); gaps where a value is missing."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top = _nice_max(max(values, default=0))
    parts = _frame(title, top, unit)
    plot_h = H - PAD_B - PAD_T
    width = (W - 8 - PAD_L) / max(1, len(labels))
    for name, vs in series.items():
        points = [
            (PAD_L + width * (i + 0.5), H - PAD_B - plot_h * v / top)
            for i, v in enumerate(vs)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colors[name]}" stroke-width="2"/>')
        for (x, y), v in zip(points, [v for v in vs if v is not None], strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colors[name]}"><title>{escape(name)}: '
                f"{v:.3g}{escape(unit)}</title></circle>"
            )
    parts += _x_labels(labels, width)
    parts += _legend(colors)
    return "".join(parts) + "</svg>"


def histogram(title: str, values: list[float], bins: int = 20, unit: str = "") -> str:
    """How many values fall in each of ``bins`` equal-width ranges."""
    if not values:
        return stacked_bars(title, [], {"runs": []}, {"runs": "#4c78a8"})
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    counts = [0.0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / span * bins))] += 1
    labels = [f"{low + span * i / bins:.3g}{unit}" for i in range(bins)]
    return stacked_bars(title, labels, {"runs": counts}, {"runs": "#4c78a8"})


def _legend(colors: dict[str, str]) -> list[str]:
    parts = []
    for i, (name, color) in enumerate(colors.items()):
        x = PAD_L + i * 110
        parts.append(f'<rect x="{x}" y="{H - 12}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14}" y="{H - 3}" class="axis">{escape(name)}</text>')
    return parts
