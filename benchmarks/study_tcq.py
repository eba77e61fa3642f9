#!/usr/bin/env python
"""Study for issue 17: what would trellis-coded quantisation add over scalar quantisation?

Usage::

    python benchmarks/study_tcq.py /work/shared/data/kodak [--images 1,6,10,15,19,24] [--out /tmp/study_tcq.json]

Issue 17 names trellis-coded quantisation (TCQ; JPEG 2000 Part 2, M. W. Marcellin et al., "An
overview of quantization in JPEG 2000", Signal Process. Image Commun. 17, 2002) among the tools
for the strongest classical coder. This study measures it in its modern, simplest form: the
dependent quantisation of H.266/VVC (H. Schwarz, T. Nguyen, D. Marpe, T. Wiegand, "Hybrid video
coding with trellis-coded quantization", DCC 2019). Two scalar quantisers are used:
- Q0 has the even multiples of the step, ``2 k D``;
- Q1 has the odd multiples and zero, ``(2 k - sgn k) D``.

A 4-state machine chooses between them, driven by the parity of each index. The encoder picks
the indices with a Viterbi search minimising ``D + lambda R``.

Both arms share everything except the quantiser:
- the front end: CDF 9/7 (:func:`wavecodec.transform.forward`, 5 levels), each coefficient
  weighted by its synthesis gain, so that coefficient MSE is image MSE;
- one step for every band, with ``lambda = c D**2`` for several ``c``;
- the same rate model in the search: per band class and quantiser, the cost of each magnitude
  from the previous iteration's counts (3 iterations);
- the same measured rate: the ideal code length of the indices under an adaptive, context-modelled
  binarisation (significance, > 1 and > 2 flags in contexts of band class x causal
  neighbourhood x quantiser; Exp-Golomb remainders and signs at 1 bit each);
- decoding: the reconstruction, the inverse transform and PSNR on the 8-bit image.

The scalar arm is RDOQ with the same model: per coefficient the best of floor, floor + 1 and 0.
Each arm's curve is the upper hull of its (bpp, PSNR) points over steps and ``c``.

This is a proxy. It is not embedded: neither arm can be cut like ``ecbp``'s stream. It measures
the quantiser's gain under one shared entropy coder.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from numba import njit
from PIL import Image

from wavecodec import transform as T
from wavecodec.coders import _bitplane as B

LEVELS = 5
N_BCLS = 7  # LL; levels 1, 2, 3+ x (HL/LH, HH), as ecbp's band classes
MAXMAG = 64  # magnitudes in the rate table (larger ones cost the last entry plus Exp-Golomb bits)
TRANS = np.array([[0, 2], [2, 0], [1, 3], [3, 1]], dtype=np.int64)  # VVC's state transitions by parity


def band_classes(h: int, w: int) -> np.ndarray:
    """Band class of each coefficient of the tree layout (h x w, ``LEVELS`` levels)."""
    rowlev, collev = B.level_maps(h, w, LEVELS)
    rl = rowlev[:, None].repeat(w, 1)
    cl = collev[None, :].repeat(h, 0)
    lev = np.maximum(rl, cl)  # a level-k detail coefficient has max(row level, column level) == k (1..LEVELS)
    ll = (rl > LEVELS) & (cl > LEVELS)
    hh = rl == cl
    base = np.where(lev == 1, 1, np.where(lev == 2, 3, 5))
    cls = base + hh.astype(np.int64)
    cls[ll] = 0
    return cls.astype(np.int64)


def scan_order(h: int, w: int) -> np.ndarray:
    """Flat indices in coding order: bands coarse to fine (LL, then HL, LH, HH per level), raster in each."""
    order = [np.arange(h >> LEVELS)[:, None] * w + np.arange(w >> LEVELS)[None, :]]
    for k in range(LEVELS, 0, -1):
        h0, h1, w0, w1 = h >> k, h >> (k - 1), w >> k, w >> (k - 1)
        for r0, r1, c0, c1 in ((0, h0, w0, w1), (h0, h1, 0, w0), (h0, h1, w0, w1)):
            order.append(np.arange(r0, r1)[:, None] * w + np.arange(c0, c1)[None, :])
    return np.concatenate([o.ravel() for o in order])


@njit(cache=True)
def _level(q, k):
    """Reconstruction level (in steps) of index ``k`` in quantiser ``q`` (0: 2k, 1: 2k - sgn k)."""
    if q == 0:
        return 2 * k
    if k > 0:
        return 2 * k - 1
    if k < 0:
        return 2 * k + 1
    return 0


@njit(cache=True)
def _rate(table, bc, q, k):
    m = abs(k)
    if m >= MAXMAG:
        extra = 0
        t = m - MAXMAG + 1
        while t > 0:
            t >>= 1
            extra += 2
        return table[bc, q, MAXMAG - 1] + extra
    return table[bc, q, m]


@njit(cache=True)
def quantise_scalar(x, bcls, order, step, lam, table):
    """RDOQ: per coefficient the best of 0, floor and floor + 1 (levels ``k D``) by ``D + lambda R``."""
    out = np.zeros(x.size, np.int64)
    for n in range(order.size):
        idx = order[n]
        v = x[idx] / step
        a = abs(v)
        f = int(math.floor(a))
        best = 1e300
        bk = 0
        for m in (0, f, f + 1):
            d = (a - m) ** 2 * step * step
            cost = d + lam * _rate(table, bcls[idx], 0, m)
            if cost < best:
                best = cost
                bk = m
        out[idx] = bk if v >= 0 else -bk
    return out


@njit(cache=True)
def quantise_dependent(x, bcls, order, step, lam, table):
    """VVC's dependent quantisation: Viterbi over the 4 states along ``order``; returns the indices."""
    n_coef = order.size
    cost = np.full(4, 1e300)
    cost[0] = 0.0
    back_state = np.zeros((n_coef, 4), np.int8)
    back_k = np.zeros((n_coef, 4), np.int64)
    new = np.empty(4)
    for n in range(n_coef):
        idx = order[n]
        v = x[idx] / step
        a = abs(v)
        sgn = 1 if v >= 0 else -1
        new[:] = 1e300
        for s in range(4):
            if cost[s] >= 1e300:
                continue
            q = s >> 1
            # candidates: 0 and the two indices whose levels bracket |v|
            if q == 0:
                k0 = int(math.floor(a / 2.0))
            else:
                k0 = int(math.floor((a + 1.0) / 2.0))
            for m in (0, k0, k0 + 1):
                if m < 0:
                    continue
                lev = _level(q, m)
                d = (a - lev) ** 2 * step * step
                c = cost[s] + d + lam * _rate(table, bcls[idx], q, m)
                ns = TRANS[s, m & 1]
                if c < new[ns]:
                    new[ns] = c
                    back_state[n, ns] = s
                    back_k[n, ns] = sgn * m
        cost[:] = new
    out = np.zeros(x.size, np.int64)
    s = int(np.argmin(cost))
    for n in range(n_coef - 1, -1, -1):
        out[order[n]] = back_k[n, s]
        s = back_state[n, s]
    return out


@njit(cache=True)
def reconstruct(k, order, dependent, offset):
    """Reconstruction levels (in steps): the quantiser's level, pulled towards zero by ``offset`` steps."""
    out = np.zeros(k.size)
    s = 0
    for n in range(order.size):
        idx = order[n]
        m = k[idx]
        q = (s >> 1) if dependent else 0
        if dependent:
            lev = _level(q, m)
            s = TRANS[s, abs(m) & 1]
        else:
            lev = m
        if lev > 0:
            out[idx] = lev - offset
        elif lev < 0:
            out[idx] = lev + offset
    return out


@njit(cache=True)
def _bits(counts, ctx, bit):
    p = (counts[ctx, bit] + 0.4) / (counts[ctx, 0] + counts[ctx, 1] + 0.8)
    counts[ctx, bit] += 1
    return -math.log2(p)


@njit(cache=True)
def coded_bits(k, bcls, order, w, dependent):
    """Ideal adaptive code length of the indices: significance, > 1, > 2 flags in contexts of band class x
    neighbourhood (sum of the causal |k|: left, up, up-left, up-right, in 4 classes) x quantiser; the
    remainder in Exp-Golomb order 0 and the sign at 1 bit each."""
    n_ctx = N_BCLS * 4 * 2
    sig = np.zeros((n_ctx, 2))
    gt1 = np.zeros((n_ctx, 2))
    gt2 = np.zeros((n_ctx, 2))
    total = 0.0
    s = 0
    for n in range(order.size):
        idx = order[n]
        i = idx // w
        j = idx % w
        nb = 0
        if j > 0:
            nb += abs(k[idx - 1])
        if i > 0:
            nb += abs(k[idx - w])
            if j > 0:
                nb += abs(k[idx - w - 1])
            if j + 1 < w:
                nb += abs(k[idx - w + 1])
        ncls = 0 if nb == 0 else (1 if nb == 1 else (2 if nb <= 3 else 3))
        q = (s >> 1) if dependent else 0
        ctx = (bcls[idx] * 4 + ncls) * 2 + q
        m = abs(k[idx])
        total += _bits(sig, ctx, 1 if m > 0 else 0)
        if m > 0:
            total += 1.0  # sign
            total += _bits(gt1, ctx, 1 if m > 1 else 0)
            if m > 1:
                total += _bits(gt2, ctx, 1 if m > 2 else 0)
                if m > 2:
                    r = m - 3 + 1
                    nbits = 0
                    while r > 1:
                        r >>= 1
                        nbits += 1
                    total += 2 * nbits + 1
        if dependent:
            s = TRANS[s, m & 1]
    return total


def rate_table(k: np.ndarray, bcls: np.ndarray, order: np.ndarray, dependent: bool) -> np.ndarray:
    """Bits per magnitude per band class and quantiser, from the counts of ``k`` (with a flat prior)."""
    counts = np.full((N_BCLS, 2, MAXMAG), 0.5)
    s = 0
    if dependent:
        qs = np.empty(order.size, np.int64)
        mags = np.abs(k[order])
        for n in range(order.size):
            qs[n] = s >> 1
            s = TRANS[s, mags[n] & 1]
    else:
        qs = np.zeros(order.size, np.int64)
    m = np.minimum(np.abs(k[order]), MAXMAG - 1)
    np.add.at(counts, (bcls[order], qs, m), 1)
    p = counts / counts.sum(axis=2, keepdims=True)
    table = -np.log2(p)
    table[:, :, 1:] += 1.0  # sign
    return table


def initial_table() -> np.ndarray:
    m = np.arange(MAXMAG)
    bits = np.where(m == 0, 0.5, 3.0 + 1.5 * np.log2(1 + m))
    return np.broadcast_to(bits, (N_BCLS, 2, MAXMAG)).copy()


def run(img: np.ndarray, step: float, c: float, dependent: bool, iters: int = 3) -> dict:
    h, w = img.shape
    mean = float(img.mean())
    coeffs = T.forward(img - mean, wavelet="cdf97", levels=LEVELS)
    table_w = T.synthesis_weight_table("cdf97", LEVELS)
    rowlev, collev = B.level_maps(h, w, LEVELS)
    weights = table_w[rowlev[:, None], collev[None, :]]
    x = (coeffs * weights).ravel()
    bcls = band_classes(h, w).ravel()
    order = scan_order(h, w)
    lam = c * step * step
    table = initial_table()
    quant = quantise_dependent if dependent else quantise_scalar
    for _ in range(iters):
        k = quant(x, bcls, order, step, lam, table)
        table = rate_table(k, bcls, order, dependent)
    bits = coded_bits(k, bcls, order, w, dependent)
    # the reconstruction offset that minimises the coefficient MSE (the encoder would send it)
    best = None
    for off in np.arange(0.0, 0.45, 0.05):
        rec = reconstruct(k, order, dependent, off) * step
        err = float(np.sum((rec - x) ** 2))
        if best is None or err < best[0]:
            best = (err, off, rec)
    rec = best[2].reshape(h, w) / weights
    out = np.clip(np.rint(T.inverse(rec, shape=(h, w), wavelet="cdf97", levels=LEVELS) + mean), 0, 255)
    mse = float(np.mean((out - img) ** 2))
    return {"bpp": (bits + 64) / (h * w), "psnr": 10 * math.log10(255**2 / mse), "offset": float(best[1])}


def hull(points: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """The upper-left hull of (bpp, PSNR) points: the best PSNR for each rate, increasing."""
    out = []
    for r, p in sorted(points):
        if not out or p > out[-1][1]:  # a point at a higher rate is kept only if it is better
            out.append((r, p))
    return [r for r, _ in out], [p for _, p in out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kodak", type=Path)
    ap.add_argument("--images", default="1,6,10,15,19,24")
    ap.add_argument("--steps", default="240,160,110,75,50,35,24,16,11,7.5")
    ap.add_argument("--lambdas", default="0.02,0.05,0.1,0.2")
    ap.add_argument("--out", type=Path, default=Path("/tmp/study_tcq.json"))
    args = ap.parse_args()
    from wavecodec.bench import bjontegaard

    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    steps = [float(s) for s in args.steps.split(",")]
    lams = [float(c) for c in args.lambdas.split(",")]
    grid = np.linspace(0.1, 1.0, 10)
    curves = {"scalar": [], "dependent": []}
    for n in [int(i) for i in args.images.split(",")]:
        stem = f"kodim{n:02d}"
        img = np.asarray(Image.open(args.kodak / f"{stem}.png").convert("L"), dtype=np.float64)
        per = {}
        for arm in ("scalar", "dependent"):
            pts = []
            for s in steps:
                for c in lams:
                    # the dependent quantiser's indices step by 2 D: the same reconstruction grid as the
                    # scalar one at step D has steps D / 2 ... D; run it at D so both cover the same rates
                    key = f"{stem}|{arm}|{s}|{c}"
                    if key not in results:
                        results[key] = run(img, s if arm == "scalar" else s / 2, c if arm == "scalar" else c * 4,
                                           arm == "dependent")
                        args.out.write_text(json.dumps(results, indent=1))
                    pts.append((results[key]["bpp"], results[key]["psnr"]))
            per[arm] = hull(pts)
            if per[arm][0][0] > grid[0] or per[arm][0][-1] < grid[-1]:
                raise SystemExit(f"{stem} {arm}: the steps cover {per[arm][0][0]:.3f}-{per[arm][0][-1]:.3f} bpp, "
                                 f"not {grid[0]}-{grid[-1]}: widen --steps")
            curves[arm].append(np.interp(grid, *per[arm]))
        bd = bjontegaard.bd_rate(grid, curves["scalar"][-1], grid, curves["dependent"][-1])
        bp = bjontegaard.bd_psnr(grid, curves["scalar"][-1], grid, curves["dependent"][-1])
        print(f"{stem}: dependent against scalar (RDOQ), 0.1-1 bpp: BD-rate {bd:+.2f}%, BD-PSNR {bp:+.3f} dB",
              flush=True)
    mean = {arm: np.mean(curves[arm], axis=0) for arm in curves}
    print("bpp      " + " ".join(f"{r:6.2f}" for r in grid))
    for arm in curves:
        print(f"{arm:9s}" + " ".join(f"{p:6.2f}" for p in mean[arm]))
    print(f"mean curves: BD-rate {bjontegaard.bd_rate(grid, mean['scalar'], grid, mean['dependent']):+.2f}%, "
          f"BD-PSNR {bjontegaard.bd_psnr(grid, mean['scalar'], grid, mean['dependent']):+.3f} dB")


if __name__ == "__main__":
    main()
