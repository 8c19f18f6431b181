"""stats.py — the figures of a load run: percentiles, time buckets, growth.

Pure functions over lists of numbers. Percentiles are nearest-rank, the
definition bench/submit_verdict_bench.py uses (its `pct` is the one used
here), so a figure of a load run and of the single-client benchmark mean the
same thing.
"""
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from submit_verdict_bench import pct  # noqa: E402


def summary(values):
    """{n, p50, p90, p99, max, mean} of a list of numbers (None fields when
    it is empty), rounded to 0.1."""
    v = [x for x in values if x is not None]
    if not v:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    r = lambda x: round(float(x), 1)  # noqa: E731
    return {"n": len(v), "p50": r(pct(v, 50)), "p90": r(pct(v, 90)), "p99": r(pct(v, 99)),
            "max": r(max(v)), "mean": r(sum(v) / len(v))}


class Buckets:
    """Values grouped by time: bucket k holds what happened in
    [k * width, (k + 1) * width) seconds after the run's start."""

    def __init__(self, width):
        if width <= 0:
            raise ValueError("bucket width must be > 0")
        self.width = float(width)
        self.data = {}  # name -> {k: [values]}

    def index(self, t):
        return max(0, int(math.floor(t / self.width)))

    def add(self, name, t, value=1.0):
        self.data.setdefault(name, {}).setdefault(self.index(t), []).append(value)

    def count(self, name, n_buckets):
        d = self.data.get(name, {})
        return [len(d.get(k, ())) for k in range(n_buckets)]

    def percentile(self, name, p, n_buckets):
        d = self.data.get(name, {})
        return [pct(d[k], p) if d.get(k) else None for k in range(n_buckets)]

    def last(self, name, n_buckets):
        """The last value added to each bucket (for sampled gauges)."""
        d = self.data.get(name, {})
        return [d[k][-1] if d.get(k) else None for k in range(n_buckets)]

    def mean(self, name, n_buckets):
        d = self.data.get(name, {})
        return [sum(d[k]) / len(d[k]) if d.get(k) else None for k in range(n_buckets)]


def cpu_percent(samples, t0, t1):
    """Mean CPU (% of one core) between t0 and t1 from (t, cpu_seconds)
    samples of a cumulative counter: the first sample at or after t0 and the
    last at or before t1. None with fewer than two samples there."""
    inside = [(t, c) for t, c in samples if t0 <= t <= t1]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return None
    (ta, ca), (tb, cb) = inside[0], inside[-1]
    return 100.0 * (cb - ca) / (tb - ta)


def rates(samples):
    """[(t, % of a core)] between consecutive (t, cpu_seconds) samples."""
    out = []
    for (ta, ca), (tb, cb) in zip(samples, samples[1:]):
        if tb > ta:
            out.append((tb, 100.0 * (cb - ca) / (tb - ta)))
    return out


def growth(points, t0, t1):
    """How much a gauge grew over [t0, t1]: the mean of its last fifth minus
    the mean of its first fifth, and the least-squares slope per hour. For a
    soak: RSS, open files or latency that keep rising show a leak or a
    backlog; noise around a level does not. None with fewer than 5 points."""
    p = [(t, v) for t, v in points if t0 <= t <= t1 and v is not None]
    if len(p) < 5:
        return None
    k = max(1, len(p) // 5)
    first = sum(v for _, v in p[:k]) / k
    last = sum(v for _, v in p[-k:]) / k
    n = len(p)
    mt = sum(t for t, _ in p) / n
    mv = sum(v for _, v in p) / n
    var = sum((t - mt) ** 2 for t, _ in p)
    slope = sum((t - mt) * (v - mv) for t, v in p) / var if var > 0 else 0.0
    return {"first": round(first, 2), "last": round(last, 2), "delta": round(last - first, 2),
            "per_hour": round(slope * 3600.0, 2), "points": n}
