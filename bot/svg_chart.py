"""Horizontal bar chart geometry for SVG drawn on the server (survey results).

The page's CSP forbids inline style, so templates draw with SVG attributes only (x, y, width, fill ...); this
module computes those numbers. No JavaScript and no CDN: the chart is plain markup that prints and works
offline. Long labels are shortened for the drawing (the full label goes in the bar's <title>).
"""
from __future__ import annotations

from dataclasses import dataclass

LABEL_CHARS = 14  # a Japanese label wider than this is cut with "…" in the drawing


@dataclass(frozen=True)
class HBar:
    label: str       # the full label (for <title>)
    short: str       # the label as drawn
    value: int
    percent: float | None
    y: float         # top of the bar
    width: float     # bar length (0 for a zero count)
    text_y: float    # baseline of the label and the value text
    value_x: float   # where the value text starts (just right of the bar)


@dataclass(frozen=True)
class HChart:
    width: int
    height: int
    label_w: int     # the label column; bars start at x = label_w
    plot_w: float
    bar_h: int
    bars: list[HBar]

    @property
    def axis_x(self) -> int:
        return self.label_w


def shorten(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"


def hbars(points: list[tuple[str, int, float | None]], *, width: int = 640, label_w: int = 200,
          bar_h: int = 20, gap: int = 8, value_w: int = 110) -> HChart:
    """Geometry for (label, count, percent) rows: the longest bar fills the plot, others in proportion, so
    the eye compares lengths; the count and percent are printed beside each bar."""
    plot_w = max(1.0, float(width - label_w - value_w))
    top = max((v for _, v, _ in points), default=0) or 1
    bars = []
    for i, (label, value, pct) in enumerate(points):
        y = gap + i * (bar_h + gap)
        w = plot_w * value / top
        bars.append(HBar(label=label, short=shorten(label), value=value, percent=pct, y=float(y), width=w,
                         text_y=y + bar_h * 0.72, value_x=label_w + w + 6))
    height = gap + len(points) * (bar_h + gap)
    return HChart(width=width, height=max(height, bar_h + 2 * gap), label_w=label_w, plot_w=plot_w, bar_h=bar_h,
                  bars=bars)


__all__ = ["HBar", "HChart", "hbars", "shorten"]
