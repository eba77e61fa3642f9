"""Bjontegaard delta rate and delta PSNR (G. Bjontegaard, VCEG-M33, 2001).

Each rate-distortion curve is fitted by a polynomial (cubic for four points or more,
as in VCEG-M33; degree ``n - 1`` for fewer points), the fits are integrated over the
interval where the two curves overlap, and the average gap is reported:

* BD-rate: PSNR is the abscissa, log-rate the ordinate; the average log-rate gap
  ``d`` gives ``(exp(d) - 1) * 100`` percent (negative = the test codec needs fewer bits);
* BD-PSNR: log-rate is the abscissa, PSNR the ordinate; the average PSNR gap in dB
  (positive = the test codec is better).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["bd_rate", "bd_psnr"]


def _clean(rate: Sequence[float], dist: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rate, dtype=np.float64)
    d = np.asarray(dist, dtype=np.float64)
    if r.shape != d.shape or r.ndim != 1:
        raise ValueError("rate and quality arrays must be 1-D and of equal length")
    keep = np.isfinite(r) & np.isfinite(d) & (r > 0)
    r, d = r[keep], d[keep]
    order = np.argsort(r)
    return np.log(r[order]), d[order]


def _avg_gap(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> float:
    """Mean of fit2(x) - fit1(x) over the overlap of the x ranges (nan without overlap)."""
    n = min(len(x1), len(x2))
    if n < 2:
        return math.nan
    lo, hi = max(x1.min(), x2.min()), min(x1.max(), x2.max())
    if not hi > lo:
        return math.nan
    deg = min(3, len(x1) - 1), min(3, len(x2) - 1)
    p1 = np.polyint(np.polyfit(x1, y1, deg[0]))
    p2 = np.polyint(np.polyfit(x2, y2, deg[1]))
    int1 = np.polyval(p1, hi) - np.polyval(p1, lo)
    int2 = np.polyval(p2, hi) - np.polyval(p2, lo)
    return float((int2 - int1) / (hi - lo))


def bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr) -> float:
    """Average bitrate difference of the test curve against the anchor, in percent."""
    la, pa = _clean(anchor_rate, anchor_psnr)
    lt, pt = _clean(test_rate, test_psnr)
    gap = _avg_gap(pa, la, pt, lt)
    return math.nan if math.isnan(gap) else (math.exp(gap) - 1.0) * 100.0


def bd_psnr(anchor_rate, anchor_psnr, test_rate, test_psnr) -> float:
    """Average PSNR difference (dB) of the test curve against the anchor."""
    la, pa = _clean(anchor_rate, anchor_psnr)
    lt, pt = _clean(test_rate, test_psnr)
    return _avg_gap(la, pa, lt, pt)
