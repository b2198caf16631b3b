"""Small charts drawn straight to SVG: grouped horizontal bars, vertical bars with intervals, and
a line against a diagonal — all the report needs, without a browser engine or a plotting library.

Every function returns a self-contained ``<svg>`` string (text escaped, no script, no external
reference). Shares are fractions (0–1) shown as percentages. The look: one accent colour against
a neutral grey, thin grey grid, labelled axes, system fonts, legible at half a printed page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

ACCENT = "#1f5f8b"
NEUTRAL = "#b9c0c8"
INK = "#2b2f33"
GRID = "#e6e8eb"
AXIS = "#8a9199"
FONT = "Helvetica, Arial, DejaVu Sans, sans-serif"
SIZE = 11  # font size in px
CHAR = 6.2  # average glyph width at SIZE, for layout
LABEL_LIMIT = 120  # px: longer category labels are cut with an ellipsis


@dataclass(frozen=True)
class Bar:
    """One bar of a vertical bar chart: its category, value, optional interval and label."""

    category: str
    value: float
    low: float | None = None
    high: float | None = None
    label: str = ""


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: int = SIZE,
    rotate: bool = False,
    weight: str = "normal",
) -> str:
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{INK}" '
        f'text-anchor="{anchor}" font-weight="{weight}"{turn}>{escape(text)}</text>'
    )


def _clip(label: str, limit: float = LABEL_LIMIT) -> str:
    most = max(3, int(limit / CHAR))
    return label if len(label) <= most else label[: most - 1] + "…"


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top`` (about ``count`` intervals)."""
    top = max(top, 1e-9)
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def percent(x: float) -> str:
    text = f"{x * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _open(width: float, height: float, key: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(key)} chart" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="{FONT}"><rect width="100%" height="100%" fill="white"/>'
    )


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    parts = []
    for name, colour in items:
        parts.append(f'<circle cx="{x + 5:.1f}" cy="{y - 4:.1f}" r="5" fill="{colour}"/>')
        parts.append(_text(x + 14, y, name))
        x += 14 + CHAR * len(name) + 18
    return parts


def grouped_bars(
    levels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    x_title: str,
    y_title: str,
    key: str,
    width: float = 250,
    fmt: Callable[[float], str] = percent,
    least: float = 0.0,
) -> str:
    """Horizontal bars, one group per level, one bar per series (name, colour, shares);
    ``fmt`` writes the ticks and values (default: shares as percentages); the axis reaches at
    least ``least`` (so that values all near 0 still get a readable scale)."""
    label_width = min(LABEL_LIMIT, max(CHAR * len(_clip(v)) for v in levels)) + 8
    left = 22 + label_width
    top, band = 30, 2 * 9 + 6
    height = max(112, band * len(levels))
    top_value = max((v for _, _, values in series for v in values), default=0.0)
    ticks = nice_ticks(max(top_value, least))
    scale = width / ticks[-1]
    parts = [_open(left + width + 16, top + height + 44, key)]
    parts += _legend(left, 16, [(name, colour) for name, colour, _ in series])
    for t in ticks:
        x = left + t * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + height}" stroke="{GRID}"/>'
        )
        parts.append(_text(x, top + height + 14, fmt(t), anchor="middle"))
    bar = (height / len(levels) - 6) / len(series)
    for i, level in enumerate(levels):
        y0 = top + i * height / len(levels) + 3
        parts.append(_text(left - 6, y0 + bar * len(series) / 2 + 4, _clip(level), anchor="end"))
        for j, (name, colour, values) in enumerate(series):
            w = max(0.0, values[i]) * scale
            parts.append(
                f'<rect x="{left:.1f}" y="{y0 + j * bar:.1f}" width="{w:.1f}" '
                f'height="{bar * 0.9:.1f}" fill="{colour}"><title>{escape(level)} · '
                f"{escape(name)}: {fmt(values[i])}</title></rect>"
            )
    parts.append(
        f'<line x1="{left}" y1="{top + height}" x2="{left + width}" y2="{top + height}" '
        f'stroke="{AXIS}"/>'
    )
    parts.append(_text(left + width / 2, top + height + 32, x_title, anchor="middle"))
    parts.append(_text(12, top + height / 2, y_title, anchor="middle", rotate=True))
    return "".join(parts) + "</svg>"


def column_bars(
    bars: Sequence[Bar],
    *,
    x_title: str,
    y_title: str,
    key: str,
    width: float = 250,
    least: float = 0.0,
) -> str:
    """Vertical bars (one per category) with an interval line and a value label each; the axis
    reaches at least ``least``."""
    left, top, height = 58, 14, 112
    top_value = max(max(b.value, b.high or 0.0) for b in bars) if bars else 0.0
    ticks = nice_ticks(max(top_value, least))
    scale = height / ticks[-1]
    parts = [_open(left + width + 16, top + height + 44, key)]
    for t in ticks:
        y = top + height - t * scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" '
                     f'stroke="{GRID}"/>')  # fmt: skip
        parts.append(_text(left - 6, y + 4, percent(t), anchor="end"))
    slot = width / max(len(bars), 1)
    for i, b in enumerate(bars):
        x = left + i * slot + slot * 0.2
        w = slot * 0.6
        h = max(0.0, b.value) * scale
        parts.append(
            f'<rect x="{x:.1f}" y="{top + height - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{ACCENT}"><title>{escape(b.category)}: {escape(b.label)}</title></rect>'
        )
        centre = x + w / 2
        if b.low is not None and b.high is not None:
            y1, y2 = top + height - b.low * scale, top + height - b.high * scale
            parts.append(
                f'<line x1="{centre:.1f}" y1="{y1:.1f}" x2="{centre:.1f}" y2="{y2:.1f}" '
                f'stroke="{INK}" stroke-width="1.2"/>'
            )
        label_y = top + height - max(h, (b.high or 0.0) * scale) - 4
        parts.append(_text(centre + 14, max(label_y, 10), b.label, anchor="middle"))
        parts.append(_text(centre, top + height + 14, _clip(b.category, slot), anchor="middle"))
    parts.append(
        f'<line x1="{left}" y1="{top + height}" x2="{left + width}" y2="{top + height}" '
        f'stroke="{AXIS}"/>'
    )
    parts.append(_text(left + width / 2, top + height + 32, x_title, anchor="middle"))
    parts.append(_text(12, top + height / 2, y_title, anchor="middle", rotate=True))
    return "".join(parts) + "</svg>"


def gains_line(
    points: Sequence[tuple[float, float]],
    *,
    x_title: str,
    y_title: str,
    key: str,
    width: float = 310,
    height: float = 152,
) -> str:
    """A cumulative line (with points) from (0, 0) to (1, 1) against the dashed diagonal."""
    left, top = 58, 10
    ticks = nice_ticks(1.0, 5)
    parts = [_open(left + width + 16, top + height + 44, key)]

    def xy(x: float, y: float) -> tuple[float, float]:
        return left + x * width, top + height - y * height

    for t in ticks:
        gx, _ = xy(t, 0)
        _, gy = xy(0, t)
        parts.append(
            f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{top + height}" stroke="{GRID}"/>'
        )
        parts.append(
            f'<line x1="{left}" y1="{gy:.1f}" x2="{left + width}" y2="{gy:.1f}" stroke="{GRID}"/>'
        )
        parts.append(_text(gx, top + height + 14, percent(t), anchor="middle"))
        parts.append(_text(left - 6, gy + 4, percent(t), anchor="end"))
    (x0, y0), (x1, y1) = xy(0, 0), xy(1, 1)
    parts.append(
        f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{NEUTRAL}" '
        'stroke-width="2" stroke-dasharray="4 3"/>'
    )
    path = " ".join(f"{a:.1f},{b:.1f}" for a, b in (xy(x, y) for x, y in points))
    parts.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    for x, y in points:
        cx, cy = xy(x, y)
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{ACCENT}"><title>'
            f"{percent(x)} of deals: {percent(y)} of wins</title></circle>"
        )
    parts.append(
        f'<line x1="{left}" y1="{top + height}" x2="{left + width}" y2="{top + height}" '
        f'stroke="{AXIS}"/>'
    )
    parts.append(_text(left + width / 2, top + height + 32, x_title, anchor="middle"))
    parts.append(_text(12, top + height / 2, y_title, anchor="middle", rotate=True))
    return "".join(parts) + "</svg>"
