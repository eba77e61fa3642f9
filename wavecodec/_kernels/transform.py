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
work row by row through a de-interleaved buffer.  One scratch buffer is
allocated per call.  Each wavelet is a single compiled kernel (forward and inverse,
rows and columns: see the cold-start note below); the ``*_2d`` and ``*_1d`` names
are plain Python entry points to it.
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
# 2-D multi-level transforms, in place, Mallat layout
# ---------------------------------------------------------------------------------
#
# Cold start (issue 13).  Each wavelet is one compiled kernel that runs the forward
# and the inverse, along rows and along columns.  The former kernels inlined a
# lifting helper into every caller (separate forward/inverse, row/column versions: 16
# copies of the lifting loops in six functions, 3.4 s of compilation before the first
# 9/7 encode and decode).  Splitting the steps into separately compiled helpers does
# not help: Numba links every callee into its caller and LLVM optimises the linked
# code again, and each function costs ~0.1 s of wrapper code besides (measured: a
# helper per step made it 3.4-3.9 s).  Here the four 9/7 steps are one loop over a
# table of coefficients, and the arithmetic is unchanged, operation for operation,
# so the coefficients are bit-identical to the former kernels'.
#
# Along axis 0 a lifting step updates whole rows (contiguous); along axis 1 each row is
# de-interleaved into a buffer, runs all its steps there (contiguous loops) and is
# written back scaled.  (In-place lifting on the interleaved row, stride 2, was 20%
# slower.)

# 9/7 lifting steps in forward order: step t updates the odd samples (t even) or the
# even samples (t odd) by COEF[t] * (left + right neighbour).  The inverse runs them
# backwards with negated coefficients.
_CDF97_COEF = np.array([ALPHA, BETA, GAMMA, DELTA])

# Columns per strip of the vertical steps' row reordering: the scratch is (h/2) x STRIP
# samples instead of half the plane (4 bytes per sample of a float64 plane at 8192^2).
STRIP = 64


@njit(cache=True)
def _cdf97_2d(x, levels, inverse):
    """Multi-level 2-D CDF 9/7 of the C-contiguous float64 array ``x``, in place:
    forward (Mallat layout) or, with ``inverse``, its inverse."""
    h0 = x.shape[0]
    w0 = x.shape[1]
    buf = np.empty(w0 + 1, dtype=np.float64)  # the row buffer of the horizontal steps
    scratch = np.empty(((h0 >> 1) + 1, STRIP), dtype=np.float64)  # one strip of the high rows
    for i in range(levels):
        k = levels - 1 - i if inverse else i  # level index, 0 = the finest
        h = h0
        w = w0
        for _ in range(k):
            h = (h + 1) >> 1
            w = (w + 1) >> 1
        # forward: rows (axis 1) then columns (axis 0); inverse: columns then rows
        for a in range(2):
            axis = a if inverse else 1 - a
            if axis == 1 and w >= 2:
                # row by row through the buffer, de-interleaved: s = buf[0:nl] (even samples),
                # d = buf[nl:w] (odd samples), so that every lifting loop is contiguous.
                # Forward: load de-interleaving, store scaling; inverse: load scaling, store
                # interleaving.  One pair of loops does both, with the stride and the scale
                # as variables (a scale of 1.0 is exact).
                nl = (w + 1) >> 1
                nh = w >> 1
                m = nh if nh < nl - 1 else nl - 1  # d[i] with both neighbours s[i], s[i+1]
                step_in = 1 if inverse else 2  # load: s[i] = x[step_in * i], d[i] = x[off_in + step_in * i]
                off_in = nl if inverse else 1
                low_in = INV_LOW_SCALE if inverse else 1.0
                high_in = INV_HIGH_SCALE if inverse else 1.0
                step_out = 2 if inverse else 1  # store: x[step_out * i] = s[i], x[off_out + step_out * i] = d[i]
                off_out = 1 if inverse else nl
                low_out = 1.0 if inverse else LOW_SCALE
                high_out = 1.0 if inverse else HIGH_SCALE
                for r in range(h):
                    for j in range(nl):
                        buf[j] = x[r, step_in * j] * low_in
                    for j in range(nh):
                        buf[nl + j] = x[r, off_in + step_in * j] * high_in
                    for s in range(4):
                        t = 3 - s if inverse else s
                        c = -_CDF97_COEF[t] if inverse else _CDF97_COEF[t]
                        if t & 1:  # s[i] += c * (d[i-1] + d[i]), d[-1] -> d[0], d[nh] -> d[nh-1]
                            buf[0] += 2.0 * c * buf[nl]
                            for j in range(1, nh):
                                buf[j] += c * (buf[nl + j - 1] + buf[nl + j])
                            if nl > nh:
                                buf[nl - 1] += 2.0 * c * buf[nl + nh - 1]
                        else:  # d[i] += c * (s[i] + s[i+1]), s[nl] -> s[nl-1] (w even)
                            for j in range(m):
                                buf[nl + j] += c * (buf[j] + buf[j + 1])
                            if nh == nl:
                                buf[nl + nh - 1] += 2.0 * c * buf[nl - 1]
                    for j in range(nl):
                        x[r, step_out * j] = buf[j] * low_out
                    for j in range(nh):
                        x[r, off_out + step_out * j] = buf[nl + j] * high_out
            elif axis == 0 and h >= 2:
                # lifting on whole interleaved rows, and the reordering of the rows (forward:
                # after the lifting, even rows first, scaled; inverse: before, the reverse)
                nl = (h + 1) >> 1
                nh = h >> 1
                for phase in range(2):
                    if (phase == 0) != inverse:
                        for s in range(4):
                            t = 3 - s if inverse else s
                            c = -_CDF97_COEF[t] if inverse else _CDF97_COEF[t]
                            # rows of one parity; neighbours mirrored: -1 -> 1, h -> h-2
                            for rr in range(1 - (t & 1), h, 2):
                                ra = rr - 1 if rr > 0 else 1
                                rb = rr + 1 if rr + 1 < h else rr - 1
                                for j in range(w):
                                    x[rr, j] += c * (x[ra, j] + x[rb, j])
                        continue
                    # the reordering, in strips of STRIP columns (the scratch holds one strip
                    # of the high rows, not half the image): the high rows to the scratch
                    # (forward: rows 2q+1; inverse: rows nl+q), the low rows in place (forward
                    # row 2q -> q ascending, inverse q -> 2q descending, so that no row is
                    # overwritten before it is read), the high rows back (forward: rows nl+q;
                    # inverse: rows 2q+1)
                    high = INV_HIGH_SCALE if inverse else HIGH_SCALE
                    low = INV_LOW_SCALE if inverse else LOW_SCALE
                    for j0 in range(0, w, STRIP):
                        j1 = min(j0 + STRIP, w)
                        for q in range(nh):
                            src = nl + q if inverse else 2 * q + 1
                            for j in range(j0, j1):
                                scratch[q, j - j0] = x[src, j] * high
                        for i in range(nl):
                            q = nl - 1 - i if inverse else i
                            src = q if inverse else 2 * q
                            dst = 2 * q if inverse else q
                            for j in range(j0, j1):
                                x[dst, j] = x[src, j] * low
                        for q in range(nh):
                            dst = 2 * q + 1 if inverse else nl + q
                            for j in range(j0, j1):
                                x[dst, j] = scratch[q, j - j0]


@njit(cache=True)
def _legall53_2d(x, levels, inverse):
    """Multi-level 2-D LeGall 5/3 of the C-contiguous int32 array ``x``, in place:
    forward (Mallat layout) or, with ``inverse``, its inverse (bit-exact).  The same
    structure as :func:`_cdf97_2d`: two lifting steps, step 0 (predict)
    ``d[i] -= floor((s[i] + s[i+1]) / 2)`` and step 1 (update)
    ``s[i] += floor((d[i-1] + d[i] + 2) / 4)``, undone backwards by the inverse; sums
    in 64 bits, floors as arithmetic shifts; no scaling."""
    h0 = x.shape[0]
    w0 = x.shape[1]
    buf = np.empty(w0 + 1, dtype=np.int32)
    scratch = np.empty(((h0 >> 1) + 1, STRIP), dtype=np.int32)
    for i in range(levels):
        k = levels - 1 - i if inverse else i
        h = h0
        w = w0
        for _ in range(k):
            h = (h + 1) >> 1
            w = (w + 1) >> 1
        for a in range(2):
            axis = a if inverse else 1 - a
            if axis == 1 and w >= 2:
                nl = (w + 1) >> 1
                nh = w >> 1
                m = nh if nh < nl - 1 else nl - 1
                step_in = 1 if inverse else 2
                off_in = nl if inverse else 1
                step_out = 2 if inverse else 1
                off_out = 1 if inverse else nl
                for r in range(h):
                    for j in range(nl):
                        buf[j] = x[r, step_in * j]
                    for j in range(nh):
                        buf[nl + j] = x[r, off_in + step_in * j]
                    for s in range(2):
                        t = 1 - s if inverse else s
                        sign = 1 if (t == 0) == inverse else -1  # forward: predict -, update +
                        if t == 1:  # update s; d[-1] -> d[0], d[nh] -> d[nh-1]
                            buf[0] += sign * ((np.int64(buf[nl]) + np.int64(buf[nl]) + 2) >> 2)
                            for j in range(1, nh):
                                buf[j] += sign * ((np.int64(buf[nl + j - 1]) + np.int64(buf[nl + j]) + 2) >> 2)
                            if nl > nh:
                                buf[nl - 1] += sign * ((np.int64(buf[nl + nh - 1]) + np.int64(buf[nl + nh - 1]) + 2)
                                                       >> 2)
                        else:  # predict d; s[nl] -> s[nl-1] (w even)
                            for j in range(m):
                                buf[nl + j] += sign * ((np.int64(buf[j]) + np.int64(buf[j + 1])) >> 1)
                            if nh == nl:
                                buf[nl + nh - 1] += sign * ((np.int64(buf[nl - 1]) + np.int64(buf[nl - 1])) >> 1)
                    for j in range(nl):
                        x[r, step_out * j] = buf[j]
                    for j in range(nh):
                        x[r, off_out + step_out * j] = buf[nl + j]
            elif axis == 0 and h >= 2:
                nl = (h + 1) >> 1
                nh = h >> 1
                for phase in range(2):
                    if (phase == 0) != inverse:
                        for s in range(2):
                            t = 1 - s if inverse else s
                            sign = 1 if (t == 0) == inverse else -1
                            add = 2 * t
                            shift = 1 + t
                            for rr in range(1 - t, h, 2):
                                ra = rr - 1 if rr > 0 else 1
                                rb = rr + 1 if rr + 1 < h else rr - 1
                                for j in range(w):
                                    x[rr, j] += sign * ((np.int64(x[ra, j]) + np.int64(x[rb, j]) + add) >> shift)
                        continue
                    for j0 in range(0, w, STRIP):  # the reordering in column strips, as in _cdf97_2d
                        j1 = min(j0 + STRIP, w)
                        for q in range(nh):
                            src = nl + q if inverse else 2 * q + 1
                            for j in range(j0, j1):
                                scratch[q, j - j0] = x[src, j]
                        for i in range(nl):
                            q = nl - 1 - i if inverse else i
                            src = q if inverse else 2 * q
                            dst = 2 * q if inverse else q
                            for j in range(j0, j1):
                                x[dst, j] = x[src, j]
                        for q in range(nh):
                            dst = 2 * q + 1 if inverse else nl + q
                            for j in range(j0, j1):
                                x[dst, j] = scratch[q, j - j0]


def cdf97_forward_2d(x, levels):
    """Forward multi-level 2-D CDF 9/7 of the C-contiguous float64 array ``x``, in place."""
    _cdf97_2d(x, levels, False)


def cdf97_inverse_2d(x, levels):
    """Inverse of :func:`cdf97_forward_2d`, in place."""
    _cdf97_2d(x, levels, True)


def legall53_forward_2d(x, levels):
    """Forward multi-level 2-D LeGall 5/3 of the C-contiguous int32 array ``x``, in place."""
    _legall53_2d(x, levels, False)


def legall53_inverse_2d(x, levels):
    """Inverse of :func:`legall53_forward_2d`, in place."""
    _legall53_2d(x, levels, True)


# ---------------------------------------------------------------------------------
# 1-D transforms: one level on a whole contiguous 1-D array, in place (the 2-D
# kernels on a 1 x n view: a single row is not split vertically)
# ---------------------------------------------------------------------------------


def cdf97_forward_1d(x):
    """One level of forward CDF 9/7 on the whole 1-D float64 array ``x``, in place."""
    _cdf97_2d(x.reshape(1, -1), 1, False)


def cdf97_inverse_1d(x):
    """Inverse of :func:`cdf97_forward_1d`, in place."""
    _cdf97_2d(x.reshape(1, -1), 1, True)


def legall53_forward_1d(x):
    """One level of forward LeGall 5/3 on the whole 1-D int32 array ``x``, in place."""
    _legall53_2d(x.reshape(1, -1), 1, False)


def legall53_inverse_1d(x):
    """Inverse of :func:`legall53_forward_1d`, in place."""
    _legall53_2d(x.reshape(1, -1), 1, True)


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
