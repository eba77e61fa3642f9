"""Bjontegaard delta rate and delta PSNR (G. Bjontegaard, VCEG-M33, 2001).

Each rate-distortion curve is fitted by a polynomial (cubic for four points or more,
as in VCEG-M33; degree ``n - 1`` for fewer points), the fits are integrated over the
interval where the two curves overlap, and the average gap is reported:

* BD-rate: PSNR is the abscissa, log-rate the ordinate; the average log-rate gap
  ``d`` gives ``(exp(d) - 1) * 100`` percent (negative = the test codec needs fewer bits);
* BD-PSNR: log-rate is the abscissa, PSNR the ordinate; the average PSNR gap in dB
  (positive = the test codec is better).

The figure only describes the overlap interval.  As in the ``bjontegaard`` package
(FAU-LMS, ``min_overlap=0.75``), a :class:`BDOverlapWarning` is issued when the overlap
covers less than ``min_overlap`` of the union of the two curves' ranges along the
integration axis (PSNR for BD-rate, log-rate for BD-PSNR), and when the curves do not
overlap at all (the result is then NaN).
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np

__all__ = ["bd_rate", "bd_psnr", "bd_overlap", "BDOverlapWarning", "MIN_OVERLAP"]

MIN_OVERLAP = 0.75  # the bjontegaard package's default


class BDOverlapWarning(UserWarning):
    """The two rate-distortion curves overlap too little for a meaningful Bjontegaard figure."""


def _clean(rate: Sequence[float], dist: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rate, dtype=np.float64)
    d = np.asarray(dist, dtype=np.float64)
    if r.shape != d.shape or r.ndim != 1:
        raise ValueError("rate and quality arrays must be 1-D and of equal length")
    keep = np.isfinite(r) & np.isfinite(d) & (r > 0)
    r, d = r[keep], d[keep]
    order = np.argsort(r)
    return np.log(r[order]), d[order]


def _overlap(x1: np.ndarray, x2: np.ndarray) -> float:
    """Length of the common x interval over the length of the union (0 without overlap or points)."""
    if len(x1) < 2 or len(x2) < 2:
        return 0.0
    lo, hi = max(x1.min(), x2.min()), min(x1.max(), x2.max())
    union = max(x1.max(), x2.max()) - min(x1.min(), x2.min())
    return float(max(hi - lo, 0.0) / union) if union > 0 else 0.0


def _avg_gap(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray, what: str, axis: str,
             min_overlap: float) -> float:
    """Mean of fit2(x) - fit1(x) over the overlap of the x ranges (nan without overlap)."""
    n = min(len(x1), len(x2))
    if n < 2:
        return math.nan
    lo, hi = max(x1.min(), x2.min()), min(x1.max(), x2.max())
    if not hi > lo:
        warnings.warn(f"{what}: the curves do not overlap along {axis}; no figure (NaN)", BDOverlapWarning, stacklevel=3)
        return math.nan
    overlap = _overlap(x1, x2)
    if overlap < min_overlap:
        warnings.warn(f"{what}: insufficient curve overlap along {axis}: {100 * overlap:.0f}% of the union of the two"
                      f" ranges (minimum {100 * min_overlap:.0f}%); the figure describes only"
                      f" [{_show(lo, axis)}, {_show(hi, axis)}]", BDOverlapWarning, stacklevel=3)
    deg = min(3, len(x1) - 1), min(3, len(x2) - 1)
    p1 = np.polyint(np.polyfit(x1, y1, deg[0]))
    p2 = np.polyint(np.polyfit(x2, y2, deg[1]))
    int1 = np.polyval(p1, hi) - np.polyval(p1, lo)
    int2 = np.polyval(p2, hi) - np.polyval(p2, lo)
    return float((int2 - int1) / (hi - lo))


def _show(x: float, axis: str) -> str:
    return f"{math.exp(x):.3g} bpp" if axis == "log-rate" else f"{x:.2f} dB"


def bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr, *, min_overlap: float = MIN_OVERLAP) -> float:
    """Average bitrate difference of the test curve against the anchor, in percent.

    Warns (:class:`BDOverlapWarning`) when the PSNR ranges overlap by less than ``min_overlap``.
    """
    la, pa = _clean(anchor_rate, anchor_psnr)
    lt, pt = _clean(test_rate, test_psnr)
    gap = _avg_gap(pa, la, pt, lt, "BD-rate", "PSNR", min_overlap)
    return math.nan if math.isnan(gap) else (math.exp(gap) - 1.0) * 100.0


def bd_psnr(anchor_rate, anchor_psnr, test_rate, test_psnr, *, min_overlap: float = MIN_OVERLAP) -> float:
    """Average PSNR difference (dB) of the test curve against the anchor.

    Warns (:class:`BDOverlapWarning`) when the log-rate ranges overlap by less than ``min_overlap``.
    """
    la, pa = _clean(anchor_rate, anchor_psnr)
    lt, pt = _clean(test_rate, test_psnr)
    return _avg_gap(la, pa, lt, pt, "BD-PSNR", "log-rate", min_overlap)


def bd_overlap(anchor_rate, anchor_psnr, test_rate, test_psnr) -> dict[str, float]:
    """Overlap of two curves as a fraction of the union of their ranges: ``{"psnr": ..., "log_rate": ...}``
    (the axes BD-rate and BD-PSNR integrate over)."""
    la, pa = _clean(anchor_rate, anchor_psnr)
    lt, pt = _clean(test_rate, test_psnr)
    return {"psnr": _overlap(pa, pt), "log_rate": _overlap(la, lt)}
