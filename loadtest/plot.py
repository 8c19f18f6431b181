"""plot.py — a load run's time series as one SVG (no plotting package needed).

`svg(title, panels, x_max)` stacks panels that share the time axis; each
panel is {"title", "unit", "series": [(label, [(t, y) ...]), ...]}; None
values are gaps. Pure: returns the SVG text.
"""
from xml.sax.saxutils import escape

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#17becf", "#bcbd22"]
W, PANEL_H, LEFT, RIGHT, TOP, GAP = 960, 170, 70, 170, 40, 46


def nice_max(v):
    """The smallest 1/2/5 × 10^k at or above v (1 for v <= 0)."""
    if v is None or v <= 0:
        return 1.0
    k = 1.0
    while k * 10 <= v:
        k *= 10
    while k > v:
        k /= 10
    for m in (1, 2, 5, 10):
        if k * m >= v:
            return k * m
    return k * 10


def _fmt(v):
    if v >= 1000 and v == int(v):
        return f"{v / 1000:g}k"
    return f"{v:g}"


def svg(title, panels, x_max):
    x_max = max(float(x_max), 1.0)
    height = TOP + len(panels) * (PANEL_H + GAP) + 10
    pw = W - LEFT - RIGHT
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
           f'viewBox="0 0 {W} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{height}" fill="white"/>',
           f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    for n, p in enumerate(panels):
        y0 = TOP + n * (PANEL_H + GAP) + 16
        ys = [y for _, pts in p["series"] for _, y in pts if y is not None]
        y_max = nice_max(max(ys) if ys else 0)
        out.append(f'<text x="{LEFT}" y="{y0 - 5}" font-weight="bold">'
                   f'{escape(p["title"])} ({escape(p["unit"])})</text>')
        out.append(f'<rect x="{LEFT}" y="{y0}" width="{pw}" height="{PANEL_H}" fill="none" '
                   'stroke="#999"/>')
        for i in range(5):
            v = y_max * i / 4
            y = y0 + PANEL_H - PANEL_H * i / 4
            out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                       'stroke="#eee"/>')
            out.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
        for i in range(6):
            t = x_max * i / 5
            x = LEFT + pw * i / 5
            out.append(f'<text x="{x:.1f}" y="{y0 + PANEL_H + 13}" text-anchor="middle">'
                       f'{t:.0f} s</text>')
        for k, (label, pts) in enumerate(p["series"]):
            colour = COLOURS[k % len(COLOURS)]
            segs, cur = [], []
            for t, y in pts:
                if y is None:
                    if cur:
                        segs.append(cur)
                    cur = []
                    continue
                cx = LEFT + pw * min(max(t, 0.0), x_max) / x_max
                cy = y0 + PANEL_H - PANEL_H * min(y, y_max) / y_max
                cur.append(f"{cx:.1f},{cy:.1f}")
            if cur:
                segs.append(cur)
            for seg in segs:
                if len(seg) == 1:
                    x, y = seg[0].split(",")
                    out.append(f'<circle cx="{x}" cy="{y}" r="2" fill="{colour}"/>')
                else:
                    out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                               f'points="{" ".join(seg)}"/>')
            ly = y0 + 12 + 14 * k
            out.append(f'<line x1="{LEFT + pw + 10}" x2="{LEFT + pw + 28}" y1="{ly - 4}" '
                       f'y2="{ly - 4}" stroke="{colour}" stroke-width="2"/>')
            out.append(f'<text x="{LEFT + pw + 32}" y="{ly}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
