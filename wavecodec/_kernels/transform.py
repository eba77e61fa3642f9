"""Numba kernels of the lifting wavelet transforms and the JPEG 2000 colour transforms.

Plain arrays in and out, no argument checking, no exceptions: the validated API is
:mod:`wavecodec.transform`.

Lifting (JPEG 2000 Part 1, Annex F)
-----------------------------------
A 1-D level splits ``n`` samples ``x[0..n-1]`` into ``ceil(n/2)`` low-pass samples
(the lifted even samples) followed by ``floor(n/2)`` high-pass samples (the lifted
odd samples).  Boundaries use whole-sample symmetric extension
(``x[-i] = x[i]``, ``x[n-1+i] = x[n-1-i]``), which makes the transform
non-expansive for every length, even or odd.  ``n == 1`` passes the sample through
unchanged (as the low-pass sample).

* CDF 9/7 (irreversible, float64): the four lifting steps of JPEG 2000 Part 1
  (alpha, beta, gamma, delta), then a scaling of the low band by ``sqrt(2)/K`` and
  of the high band by ``K/sqrt(2)``.  This differs from JPEG 2000's ``(1/K, K)``
  only by the factor ``sqrt(2)`` (low) and ``1/sqrt(2)`` (high): the low-pass DC
  gain and the high-pass Nyquist gain are both ``sqrt(2)``, so the transform is
  L2-normalised (near-orthonormal), as bit-plane coders assume.
* LeGall 5/3 (reversible, int32): ``d[i] = x[2i+1] - floor((x[2i] + x[2i+2]) / 2)``,
  ``s[i] = x[2i] + floor((d[i-1] + d[i] + 2) / 4)``, no scaling, bit-exact inverse.
  Sums are formed in 64-bit integers and floors are arithmetic shifts (correct for
  negative values).

2-D, multi-level, "Mallat" layout, in place
-------------------------------------------
Level 1 transforms the whole ``(h0, w0) = (h, w)`` array: every row (along axis 1),
then every column (along axis 0); the inverse runs in the reverse order.  Level
``k`` transforms the top-left ``(h_{k-1}, w_{k-1})`` region, with
``h_k = ceil(h_{k-1} / 2)``.  A dimension of size 1 is not split.

The vertical lifting steps update whole rows (``row_i += a * (row_{i-1} +
row_{i+1})`` over all columns), which is contiguous in memory; the horizontal steps
work row by row on a small reused buffer.  One scratch buffer is allocated per call.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "ALPHA",
    "BETA",
    "GAMMA",
    "DELTA",
    "K",
    "LOW_SCALE",
    "HIGH_SCALE",
    "cdf97_forward_1d",
    "cdf97_inverse_1d",
    "legall53_forward_1d",
    "legall53_inverse_1d",
    "cdf97_forward_2d",
    "cdf97_inverse_2d",
    "legall53_forward_2d",
    "legall53_inverse_2d",
    "ict_forward_kernel",
    "ict_inverse_kernel",
    "rct_forward_kernel",
    "rct_inverse_kernel",
]

# JPEG 2000 Part 1, Table F.4 (9/7 irreversible filter lifting parameters).
ALPHA = -1.586134342059924
BETA = -0.052980118572961
GAMMA = 0.882911075530934
DELTA = 0.443506852043971
K = 1.230174104914001
# L2 normalisation: low-pass DC gain sqrt(2), high-pass Nyquist gain sqrt(2).
LOW_SCALE = math.sqrt(2.0) / K
HIGH_SCALE = K / math.sqrt(2.0)
INV_LOW_SCALE = 1.0 / LOW_SCALE
INV_HIGH_SCALE = 1.0 / HIGH_SCALE


# ---------------------------------------------------------------------------------
# 1-D helpers on a de-interleaved buffer: s = buf[0:nl] (even), d = buf[nl:nl+nh] (odd)
# ---------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _lift_d(buf, nl, nh, c):
    """d[i] += c * (s[i] + s[i+1]) with s[nl] mirrored to s[nl-1] (n even)."""
    # for i < nl - 1 both neighbours exist
    m = nh if nh < nl - 1 else nl - 1
    for i in range(m):
        buf[nl + i] += c * (buf[i] + buf[i + 1])
    if nh == nl:  # n even: the last odd sample mirrors x[n] -> x[n-2]
        buf[nl + nh - 1] += 2.0 * c * buf[nl - 1]


@njit(cache=True, inline="always")
def _lift_s(buf, nl, nh, c):
    """s[i] += c * (d[i-1] + d[i]) with d[-1] -> d[0] and d[nh] -> d[nh-1]."""
    buf[0] += 2.0 * c * buf[nl]
    # 1 <= i <= nh - 1: both neighbours exist
    for i in range(1, nh):
        buf[i] += c * (buf[nl + i - 1] + buf[nl + i])
    if nl > nh:  # n odd: the last even sample mirrors x[n] -> x[n-2]
        buf[nl - 1] += 2.0 * c * buf[nl + nh - 1]


@njit(cache=True, inline="always")
def _cdf97_fwd_buf(buf, nl, nh):
    _lift_d(buf, nl, nh, ALPHA)
    _lift_s(buf, nl, nh, BETA)
    _lift_d(buf, nl, nh, GAMMA)
    _lift_s(buf, nl, nh, DELTA)


@njit(cache=True, inline="always")
def _cdf97_inv_buf(buf, nl, nh):
    _lift_s(buf, nl, nh, -DELTA)
    _lift_d(buf, nl, nh, -GAMMA)
    _lift_s(buf, nl, nh, -BETA)
    _lift_d(buf, nl, nh, -ALPHA)


@njit(cache=True, inline="always")
def _cdf97_fwd_row(row, n, buf):
    """Forward 9/7 of row[0:n] (n >= 2) in place; buf has at least n entries."""
    nl = (n + 1) >> 1
    nh = n >> 1
    for i in range(nl):
        buf[i] = row[2 * i]
    for i in range(nh):
        buf[nl + i] = row[2 * i + 1]
    _cdf97_fwd_buf(buf, nl, nh)
    for i in range(nl):
        row[i] = buf[i] * LOW_SCALE
    for i in range(nl, n):
        row[i] = buf[i] * HIGH_SCALE


@njit(cache=True, inline="always")
def _cdf97_inv_row(row, n, buf):
    """Inverse of :func:`_cdf97_fwd_row`."""
    nl = (n + 1) >> 1
    nh = n >> 1
    for i in range(nl):
        buf[i] = row[i] * INV_LOW_SCALE
    for i in range(nl, n):
        buf[i] = row[i] * INV_HIGH_SCALE
    _cdf97_inv_buf(buf, nl, nh)
    for i in range(nl):
        row[2 * i] = buf[i]
    for i in range(nh):
        row[2 * i + 1] = buf[nl + i]


@njit(cache=True, inline="always")
def _l53_fwd_row(row, n, buf):
    """Forward LeGall 5/3 of row[0:n] (n >= 2) in place; buf is int32 with >= n entries."""
    nl = (n + 1) >> 1
    nh = n >> 1
    for i in range(nl):
        buf[i] = row[2 * i]
    for i in range(nh):
        buf[nl + i] = row[2 * i + 1]
    # predict: d[i] -= floor((s[i] + s[i+1]) / 2)
    m = nh if nh < nl - 1 else nl - 1
    for i in range(m):
        buf[nl + i] -= (np.int64(buf[i]) + np.int64(buf[i + 1])) >> 1
    if nh == nl:
        buf[nl + nh - 1] -= (np.int64(buf[nl - 1]) + np.int64(buf[nl - 1])) >> 1
    # update: s[i] += floor((d[i-1] + d[i] + 2) / 4)
    buf[0] += (np.int64(buf[nl]) + np.int64(buf[nl]) + 2) >> 2
    for i in range(1, nh):
        buf[i] += (np.int64(buf[nl + i - 1]) + np.int64(buf[nl + i]) + 2) >> 2
    if nl > nh:
        buf[nl - 1] += (np.int64(buf[nl + nh - 1]) + np.int64(buf[nl + nh - 1]) + 2) >> 2
    for i in range(n):
        row[i] = buf[i]


@njit(cache=True, inline="always")
def _l53_inv_row(row, n, buf):
    """Inverse of :func:`_l53_fwd_row`."""
    nl = (n + 1) >> 1
    nh = n >> 1
    for i in range(n):
        buf[i] = row[i]
    buf[0] -= (np.int64(buf[nl]) + np.int64(buf[nl]) + 2) >> 2
    for i in range(1, nh):
        buf[i] -= (np.int64(buf[nl + i - 1]) + np.int64(buf[nl + i]) + 2) >> 2
    if nl > nh:
        buf[nl - 1] -= (np.int64(buf[nl + nh - 1]) + np.int64(buf[nl + nh - 1]) + 2) >> 2
    m = nh if nh < nl - 1 else nl - 1
    for i in range(m):
        buf[nl + i] += (np.int64(buf[i]) + np.int64(buf[i + 1])) >> 1
    if nh == nl:
        buf[nl + nh - 1] += (np.int64(buf[nl - 1]) + np.int64(buf[nl - 1])) >> 1
    for i in range(nl):
        row[2 * i] = buf[i]
    for i in range(nh):
        row[2 * i + 1] = buf[nl + i]


# ---------------------------------------------------------------------------------
# Public 1-D kernels (in place on a contiguous 1-D array)
# ---------------------------------------------------------------------------------


@njit(cache=True)
def cdf97_forward_1d(x):
    """One level of forward CDF 9/7 on the whole 1-D float64 array ``x``, in place."""
    n = x.shape[0]
    if n < 2:
        return
    buf = np.empty(n, dtype=np.float64)
    _cdf97_fwd_row(x, n, buf)


@njit(cache=True)
def cdf97_inverse_1d(x):
    """Inverse of :func:`cdf97_forward_1d`, in place."""
    n = x.shape[0]
    if n < 2:
        return
    buf = np.empty(n, dtype=np.float64)
    _cdf97_inv_row(x, n, buf)


@njit(cache=True)
def legall53_forward_1d(x):
    """One level of forward LeGall 5/3 on the whole 1-D int32 array ``x``, in place."""
    n = x.shape[0]
    if n < 2:
        return
    buf = np.empty(n, dtype=np.int32)
    _l53_fwd_row(x, n, buf)


@njit(cache=True)
def legall53_inverse_1d(x):
    """Inverse of :func:`legall53_forward_1d`, in place."""
    n = x.shape[0]
    if n < 2:
        return
    buf = np.empty(n, dtype=np.int32)
    _l53_inv_row(x, n, buf)


# ---------------------------------------------------------------------------------
# Vertical (axis-0) lifting on whole rows of the region x[0:h, 0:w] (interleaved rows)
# ---------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _vrow_update(x, r, ra, rb, w, c):
    """x[r, :w] += c * (x[ra, :w] + x[rb, :w])."""
    for j in range(w):
        x[r, j] += c * (x[ra, j] + x[rb, j])


@njit(cache=True, inline="always")
def _v_lift_odd(x, h, w, c):
    # odd rows r = 2i+1: neighbours r-1 and r+1 (mirror r+1 == h -> h-2)
    for r in range(1, h, 2):
        rb = r + 1 if r + 1 < h else r - 1
        _vrow_update(x, r, r - 1, rb, w, c)


@njit(cache=True, inline="always")
def _v_lift_even(x, h, w, c):
    # even rows r = 2i: neighbours r-1 (mirror -1 -> 1) and r+1 (mirror h -> h-2)
    for r in range(0, h, 2):
        ra = r - 1 if r > 0 else 1
        rb = r + 1 if r + 1 < h else r - 1
        _vrow_update(x, r, ra, rb, w, c)


@njit(cache=True)
def _cdf97_fwd_vertical(x, h, w, scratch):
    """Forward 9/7 along axis 0 of x[0:h, 0:w] (h >= 2), de-interleaving rows."""
    _v_lift_odd(x, h, w, ALPHA)
    _v_lift_even(x, h, w, BETA)
    _v_lift_odd(x, h, w, GAMMA)
    _v_lift_even(x, h, w, DELTA)
    nl = (h + 1) >> 1
    nh = h >> 1
    for i in range(nh):
        for j in range(w):
            scratch[i, j] = x[2 * i + 1, j] * HIGH_SCALE
    for i in range(nl):
        for j in range(w):
            x[i, j] = x[2 * i, j] * LOW_SCALE
    for i in range(nh):
        for j in range(w):
            x[nl + i, j] = scratch[i, j]


@njit(cache=True)
def _cdf97_inv_vertical(x, h, w, scratch):
    """Inverse of :func:`_cdf97_fwd_vertical`."""
    nl = (h + 1) >> 1
    nh = h >> 1
    for i in range(nh):
        for j in range(w):
            scratch[i, j] = x[nl + i, j] * INV_HIGH_SCALE
    # spread the low rows downwards (backwards, so nothing is overwritten early)
    for i in range(nl - 1, -1, -1):
        for j in range(w):
            x[2 * i, j] = x[i, j] * INV_LOW_SCALE
    for i in range(nh):
        for j in range(w):
            x[2 * i + 1, j] = scratch[i, j]
    _v_lift_even(x, h, w, -DELTA)
    _v_lift_odd(x, h, w, -GAMMA)
    _v_lift_even(x, h, w, -BETA)
    _v_lift_odd(x, h, w, -ALPHA)


@njit(cache=True)
def _l53_fwd_vertical(x, h, w, scratch):
    """Forward 5/3 along axis 0 of x[0:h, 0:w] (h >= 2), de-interleaving rows."""
    for r in range(1, h, 2):
        rb = r + 1 if r + 1 < h else r - 1
        for j in range(w):
            x[r, j] -= (np.int64(x[r - 1, j]) + np.int64(x[rb, j])) >> 1
    for r in range(0, h, 2):
        ra = r - 1 if r > 0 else 1
        rb = r + 1 if r + 1 < h else r - 1
        for j in range(w):
            x[r, j] += (np.int64(x[ra, j]) + np.int64(x[rb, j]) + 2) >> 2
    nl = (h + 1) >> 1
    nh = h >> 1
    for i in range(nh):
        for j in range(w):
            scratch[i, j] = x[2 * i + 1, j]
    for i in range(1, nl):
        for j in range(w):
            x[i, j] = x[2 * i, j]
    for i in range(nh):
        for j in range(w):
            x[nl + i, j] = scratch[i, j]


@njit(cache=True)
def _l53_inv_vertical(x, h, w, scratch):
    """Inverse of :func:`_l53_fwd_vertical`."""
    nl = (h + 1) >> 1
    nh = h >> 1
    for i in range(nh):
        for j in range(w):
            scratch[i, j] = x[nl + i, j]
    for i in range(nl - 1, 0, -1):
        for j in range(w):
            x[2 * i, j] = x[i, j]
    for i in range(nh):
        for j in range(w):
            x[2 * i + 1, j] = scratch[i, j]
    for r in range(0, h, 2):
        ra = r - 1 if r > 0 else 1
        rb = r + 1 if r + 1 < h else r - 1
        for j in range(w):
            x[r, j] -= (np.int64(x[ra, j]) + np.int64(x[rb, j]) + 2) >> 2
    for r in range(1, h, 2):
        rb = r + 1 if r + 1 < h else r - 1
        for j in range(w):
            x[r, j] += (np.int64(x[r - 1, j]) + np.int64(x[rb, j])) >> 1


# ---------------------------------------------------------------------------------
# 2-D multi-level transforms, in place, Mallat layout
# ---------------------------------------------------------------------------------


@njit(cache=True)
def cdf97_forward_2d(x, levels):
    """Forward multi-level 2-D CDF 9/7 of the C-contiguous float64 array ``x``, in place."""
    h = x.shape[0]
    w = x.shape[1]
    scratch = np.empty(((h >> 1) + 1, w), dtype=np.float64)
    buf = np.empty(w + 1, dtype=np.float64)
    for _ in range(levels):
        if w >= 2:
            for r in range(h):
                _cdf97_fwd_row(x[r], w, buf)
        if h >= 2:
            _cdf97_fwd_vertical(x, h, w, scratch)
        h = (h + 1) >> 1
        w = (w + 1) >> 1


@njit(cache=True)
def cdf97_inverse_2d(x, levels):
    """Inverse of :func:`cdf97_forward_2d`, in place."""
    h0 = x.shape[0]
    w0 = x.shape[1]
    scratch = np.empty(((h0 >> 1) + 1, w0), dtype=np.float64)
    buf = np.empty(w0 + 1, dtype=np.float64)
    for k in range(levels - 1, -1, -1):
        # size of the region transformed at level k+1: (h_k, w_k)
        h = h0
        w = w0
        for _ in range(k):
            h = (h + 1) >> 1
            w = (w + 1) >> 1
        if h >= 2:
            _cdf97_inv_vertical(x, h, w, scratch)
        if w >= 2:
            for r in range(h):
                _cdf97_inv_row(x[r], w, buf)


@njit(cache=True)
def legall53_forward_2d(x, levels):
    """Forward multi-level 2-D LeGall 5/3 of the C-contiguous int32 array ``x``, in place."""
    h = x.shape[0]
    w = x.shape[1]
    scratch = np.empty(((h >> 1) + 1, w), dtype=np.int32)
    buf = np.empty(w + 1, dtype=np.int32)
    for _ in range(levels):
        if w >= 2:
            for r in range(h):
                _l53_fwd_row(x[r], w, buf)
        if h >= 2:
            _l53_fwd_vertical(x, h, w, scratch)
        h = (h + 1) >> 1
        w = (w + 1) >> 1


@njit(cache=True)
def legall53_inverse_2d(x, levels):
    """Inverse of :func:`legall53_forward_2d`, in place."""
    h0 = x.shape[0]
    w0 = x.shape[1]
    scratch = np.empty(((h0 >> 1) + 1, w0), dtype=np.int32)
    buf = np.empty(w0 + 1, dtype=np.int32)
    for k in range(levels - 1, -1, -1):
        h = h0
        w = w0
        for _ in range(k):
            h = (h + 1) >> 1
            w = (w + 1) >> 1
        if h >= 2:
            _l53_inv_vertical(x, h, w, scratch)
        if w >= 2:
            for r in range(h):
                _l53_inv_row(x[r], w, buf)


# ---------------------------------------------------------------------------------
# Colour transforms (JPEG 2000 Part 1, Annex G)
# ---------------------------------------------------------------------------------


@njit(cache=True)
def ict_forward_kernel(rgb):
    """(h, w, 3) float64 RGB -> (3, h, w) float64 Y, Cb, Cr (irreversible ICT)."""
    h = rgb.shape[0]
    w = rgb.shape[1]
    out = np.empty((3, h, w), dtype=np.float64)
    for i in range(h):
        for j in range(w):
            r = rgb[i, j, 0]
            g = rgb[i, j, 1]
            b = rgb[i, j, 2]
            out[0, i, j] = 0.299 * r + 0.587 * g + 0.114 * b
            out[1, i, j] = -0.168736 * r - 0.331264 * g + 0.5 * b
            out[2, i, j] = 0.5 * r - 0.418688 * g - 0.081312 * b
    return out


@njit(cache=True)
def ict_inverse_kernel(ycc):
    """(3, h, w) float64 Y, Cb, Cr -> (h, w, 3) float64 RGB (inverse ICT)."""
    h = ycc.shape[1]
    w = ycc.shape[2]
    out = np.empty((h, w, 3), dtype=np.float64)
    for i in range(h):
        for j in range(w):
            y = ycc[0, i, j]
            cb = ycc[1, i, j]
            cr = ycc[2, i, j]
            out[i, j, 0] = y + 1.402 * cr
            out[i, j, 1] = y - 0.344136 * cb - 0.714136 * cr
            out[i, j, 2] = y + 1.772 * cb
    return out


@njit(cache=True)
def rct_forward_kernel(rgb):
    """(h, w, 3) integer RGB -> (3, h, w) int32 Y, Cb, Cr (reversible RCT)."""
    h = rgb.shape[0]
    w = rgb.shape[1]
    out = np.empty((3, h, w), dtype=np.int32)
    for i in range(h):
        for j in range(w):
            r = np.int64(rgb[i, j, 0])
            g = np.int64(rgb[i, j, 1])
            b = np.int64(rgb[i, j, 2])
            out[0, i, j] = (r + 2 * g + b) >> 2
            out[1, i, j] = b - g
            out[2, i, j] = r - g
    return out


@njit(cache=True)
def rct_inverse_kernel(ycc):
    """(3, h, w) integer Y, Cb, Cr -> (h, w, 3) int32 RGB (inverse RCT, bit-exact)."""
    h = ycc.shape[1]
    w = ycc.shape[2]
    out = np.empty((h, w, 3), dtype=np.int32)
    for i in range(h):
        for j in range(w):
            y = np.int64(ycc[0, i, j])
            cb = np.int64(ycc[1, i, j])
            cr = np.int64(ycc[2, i, j])
            g = y - ((cb + cr) >> 2)
            out[i, j, 0] = cr + g
            out[i, j, 1] = g
            out[i, j, 2] = cb + g
    return out
