"""Small server-rendered SVG charts that live under the portal's Content-Security-Policy.

No script and no style attribute or element (CSP: style-src 'self'): shapes carry
classes that static/css/reviews.css colours, and geometry as presentation
attributes, which the CSP does not govern. Each bar has a <title> (a tooltip, and
what a screen reader says); the table beside every chart holds the same numbers.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # class of its shapes, e.g. "sev-1"
    values: Sequence[float | None]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts = []
    for s in series:
        parts.append(
            f'<rect class="chart-swatch {escape(s.css)}" x="{_fmt(x)}" y="{_fmt(y - 9)}" '
            'width="10" height="10"/>'
            f'<text class="chart-legend" x="{_fmt(x + 14)}" y="{_fmt(y)}">{escape(s.name)}</text>'
        )
        x += 22 + 7 * len(s.name)
    return parts


def stacked_columns(
    *, title: str, labels: Sequence[str], series: Sequence[Series], width: int = 720, height: int = 260
) -> SafeString:
    """Vertical stacked columns (e.g. incidents per week, stacked by severity)."""
    left, right, top, bottom = 36, 8, 24, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum((s.values[i] or 0) for s in series) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    n = max(len(labels), 1)
    step = plot_w / n
    bar = max(2.0, step * 0.7)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line class="chart-axis" x1="{left}" y1="{top + plot_h}" '
        f'x2="{width - right}" y2="{top + plot_h}"/>',
        f'<text class="chart-tick" x="{left - 4}" y="{top + 4}" text-anchor="end">{_fmt(peak)}</text>',
        f'<text class="chart-tick" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    label_every = max(1, round(n / 12))
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar) / 2
        y = top + plot_h
        for s in series:
            value = s.values[i] or 0
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect class="chart-bar {escape(s.css)}" x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(bar)}" '
                f'height="{_fmt(h)}"><title>{escape(label)}: {_fmt(value)} {escape(s.name)}</title></rect>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text class="chart-tick" x="{_fmt(x + bar / 2)}" y="{top + plot_h + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts += _legend(series, left, height - 8)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def horizontal_bars(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    stacked: bool = False,
    value_text: Callable[[float], str] = _fmt,
    width: int = 720,
) -> SafeString:
    """One row per label, bars side by side (median and p90) or stacked (in hours / outside)."""
    row_h = 14 * (1 if stacked else len(series)) + 10
    left, right, top = 150, 70, 8
    height = top + row_h * max(len(labels), 1) + 30
    plot_w = width - left - right
    if stacked:
        peak = max((sum((s.values[i] or 0) for s in series) for i in range(len(labels))), default=0) or 1
    else:
        peak = max((v or 0 for s in series for v in s.values), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, label in enumerate(labels):
        y = top + i * row_h
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(
            f'<text class="chart-tick" x="{left - 6}" y="{_fmt(y + row_h / 2 + 3)}" text-anchor="end">'
            f"{escape(short)}</text>"
        )
        x = float(left)
        for j, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            w = plot_w * value / peak
            by = y + 5 if stacked else y + 5 + j * 14
            bx = x if stacked else left
            parts.append(
                f'<rect class="chart-bar {escape(s.css)}" x="{_fmt(bx)}" y="{_fmt(by)}" '
                f'width="{_fmt(max(w, 0.5))}" height="12">'
                f"<title>{escape(label)}: {escape(s.name)} {escape(value_text(value))}</title></rect>"
            )
            if not stacked:
                parts.append(
                    f'<text class="chart-value" x="{_fmt(bx + w + 4)}" y="{_fmt(by + 10)}">'
                    f"{escape(value_text(value))}</text>"
                )
            if stacked:
                x += w
        if stacked:
            total = sum(s.values[i] or 0 for s in series)
            parts.append(
                f'<text class="chart-value" x="{_fmt(x + 4)}" y="{_fmt(y + 15)}">'
                f"{escape(value_text(total))}</text>"
            )
    parts += _legend(series, left, height - 8)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
