#!/usr/bin/env python
"""Study for issue 17: what would direction-adaptive lifting add to ``ecbp`` on Kodak gray?

Usage::

    python benchmarks/study_directional_lifting.py /work/shared/data/kodak [--images 1,6,10,15,19,24]
        [--rates 0.1,0.25,0.5,1] [--configs plain,adl16] [--out /tmp/study_adl.json]

Adaptive directional lifting (ADL: W. Ding, F. Wu, X. Wu, S. Li, H. Li, "Adaptive
directional lifting-based wavelet transform for image coding", IEEE TIP 16(2):416-427,
2007; C.-L. Chang, B. Girod, "Direction-adaptive discrete wavelet transform for image
compression", IEEE TIP 16(5):1289-1302, 2007) runs each lifting step of the CDF 9/7
along a direction chosen per block instead of straight down a column (or along a row):
an odd row's sample at column ``n`` is predicted from the even row above at ``n + d``
and the even row below at ``n - d`` (``d`` in quarter pixels, linear interpolation
along the row), and the update step uses the same line.  Every lifting step is undone
by subtracting what it added, so the transform is invertible for any choice of
directions; the decoder needs the directions (side information, counted here as the
ideal adaptive code length of the block directions, KT estimator per level and axis).

What the study measures: both arms run the same pipeline (this file's lifting with
JPEG 2000's 9/7 coefficients, weighted by the codec's synthesis weights, 2 fractional
bits, no step search), code the coefficients with ``ecbp``'s kernel
(:func:`wavecodec.coders.ecbp.encode_coefficients`) into exactly the payload bytes of
the rate less the side information, decode them, invert the transform and measure
PSNR.  ``plain`` is every direction 0 (checked against :func:`wavecodec.transform.forward`);
``adlB`` chooses per block of B x B samples (at each level's resolution) the direction
with the least sum of absolute prediction residuals, plus a penalty for leaving 0.

This is a proxy: the directions are chosen by a prediction residual, not by the rate
they cost, and the synthesis weights are those of the plain 9/7.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from wavecodec import transform as T
from wavecodec.coders import _bitplane as B
from wavecodec.coders import ecbp

# JPEG 2000 Part 1, Annex F.4.8.2 (the irreversible 9/7 lifting)
ALPHA, BETA, GAMMA, DELTA = -1.586134342059924, -0.052980118572961, 0.882911075530934, 0.443506852043971
KAPPA = 1.230174104914001
SQRT2 = math.sqrt(2.0)  # wavecodec's cdf97 is L2-normalised: low-pass gain sqrt(2) per axis
# quarter-pixel shifts per row step (tan of the angle from the axis)
DIRECTIONS = np.array([0.0, -0.25, 0.25, -0.5, 0.5, -0.75, 0.75, -1.0, 1.0, -1.5, 1.5, -2.0, 2.0])


def _neighbour(a: np.ndarray, dk: int, shift: np.ndarray) -> np.ndarray:
    """``a[k + dk]`` (rows mirrored at the ends: -1 -> 0, K -> K - 1) sampled at column ``n + shift[k, n]``
    (linear interpolation, columns clamped)."""
    k_n, w = a.shape
    rows = np.clip(np.arange(k_n) + dk, 0, k_n - 1)
    pos = np.arange(w)[None, :] + shift
    f = np.floor(pos)
    t = pos - f
    i0 = np.clip(f.astype(np.int64), 0, w - 1)
    i1 = np.clip(i0 + 1, 0, w - 1)
    src = a[rows]
    return (1.0 - t) * np.take_along_axis(src, i0, 1) + t * np.take_along_axis(src, i1, 1)


def lift_forward(x: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One level of the 9/7 down the rows of ``x`` (even height), along ``shift`` (K x W, K = rows / 2):
    returns (low, high), each K x W."""
    e = x[0::2].copy()
    o = x[1::2].copy()
    o += ALPHA * (_neighbour(e, 0, shift) + _neighbour(e, 1, -shift))
    e += BETA * (_neighbour(o, -1, shift) + _neighbour(o, 0, -shift))
    o += GAMMA * (_neighbour(e, 0, shift) + _neighbour(e, 1, -shift))
    e += DELTA * (_neighbour(o, -1, shift) + _neighbour(o, 0, -shift))
    return e * (SQRT2 / KAPPA), o * (KAPPA / SQRT2)


def lift_inverse(low: np.ndarray, high: np.ndarray, shift: np.ndarray) -> np.ndarray:
    e = low * (KAPPA / SQRT2)
    o = high * (SQRT2 / KAPPA)
    e -= DELTA * (_neighbour(o, -1, shift) + _neighbour(o, 0, -shift))
    o -= GAMMA * (_neighbour(e, 0, shift) + _neighbour(e, 1, -shift))
    e -= BETA * (_neighbour(o, -1, shift) + _neighbour(o, 0, -shift))
    o -= ALPHA * (_neighbour(e, 0, shift) + _neighbour(e, 1, -shift))
    x = np.empty((2 * e.shape[0], e.shape[1]))
    x[0::2] = e
    x[1::2] = o
    return x


def choose_directions(x: np.ndarray, block: int, penalty: float) -> np.ndarray:
    """Per block of ``block`` rows-pairs' worth (``block`` image rows x ``block`` columns) the index into
    :data:`DIRECTIONS` with the least sum of |odd - mean of the two lined-up even samples|, a direction
    other than 0 paying ``penalty`` times the block's size (in the residual's units)."""
    e, o = x[0::2], x[1::2]
    k_n, w = o.shape
    bk, bw = max(1, block // 2), block
    nbk, nbw = -(-k_n // bk), -(-w // bw)
    costs = np.empty((len(DIRECTIONS), nbk, nbw))
    for i, d in enumerate(DIRECTIONS):
        s = np.full((k_n, w), d)
        r = np.abs(o - 0.5 * (_neighbour(e, 0, s) + _neighbour(e, 1, -s)))
        pad = np.zeros((nbk * bk, nbw * bw))
        pad[:k_n, :w] = r
        costs[i] = pad.reshape(nbk, bk, nbw, bw).sum(axis=(1, 3))
        if d != 0:
            costs[i] += penalty * bk * bw
    return np.argmin(costs, axis=0)


def _expand(idx: np.ndarray, k_n: int, w: int, block: int) -> np.ndarray:
    bk, bw = max(1, block // 2), block
    return np.repeat(np.repeat(DIRECTIONS[idx], bk, 0), bw, 1)[:k_n, :w]


def forward(img: np.ndarray, levels: int, block: int | None, penalty: float, adl_levels: int):
    """Mallat layout of the 2-D transform (each level: down the columns, then along the rows of both halves);
    returns (coefficients, side) with ``side`` the direction indices per level (vertical, horizontal)."""
    c = img.astype(np.float64).copy()
    h, w = c.shape
    side = []
    for lev in range(levels):
        a = c[:h, :w]
        use = block is not None and lev < adl_levels
        iv = choose_directions(a, block, penalty) if use else np.zeros((1, 1), np.int64)
        sv = _expand(iv, h // 2, w, block) if use else np.zeros((h // 2, w))
        lo, hi = lift_forward(a, sv)
        v = np.concatenate([lo, hi], axis=0)  # h x w
        t = v.T  # w x h: lift along the rows of v
        ih = choose_directions(t, block, penalty) if use else np.zeros((1, 1), np.int64)
        sh = _expand(ih, w // 2, h, block) if use else np.zeros((w // 2, h))
        lo2, hi2 = lift_forward(t, sh)
        c[:h, :w] = np.concatenate([lo2, hi2], axis=0).T
        side.append((iv, ih) if use else None)
        h, w = h // 2, w // 2
    return c, side


def inverse(c: np.ndarray, levels: int, side: list, block: int | None) -> np.ndarray:
    c = c.copy()
    H, W = c.shape
    for lev in range(levels - 1, -1, -1):
        h, w = H >> lev, W >> lev
        dirs = side[lev]
        sh = _expand(dirs[1], w // 2, h, block) if dirs else np.zeros((w // 2, h))
        sv = _expand(dirs[0], h // 2, w, block) if dirs else np.zeros((h // 2, w))
        t = c[:h, :w].T
        v = lift_inverse(t[: w // 2], t[w // 2 :], sh).T
        c[:h, :w] = lift_inverse(v[: h // 2], v[h // 2 :], sv)
    return c


def side_bits(side: list) -> float:
    """Ideal adaptive code length of the direction indices: a KT estimator per level and axis, raster order."""
    bits = 0.0
    n_sym = len(DIRECTIONS)
    for dirs in side:
        if dirs is None:
            continue
        for idx in dirs:
            counts = np.full(n_sym, 0.5)
            for s in idx.reshape(-1):
                bits -= math.log2(counts[s] / counts.sum())
                counts[s] += 1
    return bits


def code(img: np.ndarray, budget: int, levels: int, block: int | None, penalty: float, adl_levels: int) -> dict:
    mean = float(img.mean())
    coeffs, side = forward(img - mean, levels, block, penalty, adl_levels)
    side_bytes = int(math.ceil(side_bits(side) / 8))
    h, w = img.shape
    table = T.synthesis_weight_table("cdf97", levels)
    rowlev, collev = B.level_maps(h, w, levels)
    weights = table[rowlev[:, None], collev[None, :]]
    frac = B.frac_bits_for(8, levels)
    q = np.trunc(coeffs * weights * (1 << frac)).astype(np.int32)[None]
    n_max = int(np.abs(q).max()).bit_length() - 1
    res = ecbp.encode_coefficients(q, levels=levels, n_max=n_max, budget=budget - side_bytes)
    dec = ecbp.decode_coefficients(res.payload, shape=q.shape, levels=levels, n_max=n_max, frac_bits=frac,
                                   integer=False, recon=res.recon,
                                   weights=B.CoefficientWeights(table, rowlev, collev))[0]
    out = np.clip(np.rint(inverse(dec, levels, side, block) + mean), 0, 255)
    mse = float(np.mean((out - img) ** 2))
    return {"psnr": 10 * math.log10(255**2 / mse), "side_bytes": side_bytes, "payload": len(res.payload)}


def check_plain(img: np.ndarray, levels: int) -> float:
    """Largest difference between this file's plain lifting and :func:`wavecodec.transform.forward`."""
    mine, _ = forward(img, levels, None, 0.0, 0)
    ref = T.forward(img.astype(np.float64), wavelet="cdf97", levels=levels)
    back = inverse(mine, levels, [None] * levels, None)
    return float(max(np.abs(mine - ref).max(), np.abs(back - img).max()))


def parse_config(name: str) -> tuple[int | None, float, int]:
    """``plain`` or ``adlB[-pP][-lL]``: block B, penalty P (default 0.5), directional levels L (default 3)."""
    if name == "plain":
        return None, 0.0, 0
    parts = name[3:].split("-")
    block = int(parts[0])
    penalty, adl_levels = 0.5, 3
    for p in parts[1:]:
        if p.startswith("p"):
            penalty = float(p[1:])
        elif p.startswith("l"):
            adl_levels = int(p[1:])
    return block, penalty, adl_levels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kodak", type=Path)
    ap.add_argument("--images", default="1,6,10,15,19,24")
    ap.add_argument("--rates", default="0.1,0.25,0.5,1")
    ap.add_argument("--configs", default="plain,adl16")
    ap.add_argument("--levels", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("/tmp/study_adl.json"))
    args = ap.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    rates = [float(r) for r in args.rates.split(",")]
    configs = args.configs.split(",")
    for n in [int(i) for i in args.images.split(",")]:
        path = args.kodak / f"kodim{n:02d}.png"
        img = np.asarray(Image.open(path).convert("L"), dtype=np.float64)
        h, w = img.shape
        if n == int(args.images.split(",")[0]):
            print(f"plain lifting against wavecodec.transform.forward: max difference {check_plain(img, args.levels):.2e}")
        for cfg in configs:
            block, penalty, adl_levels = parse_config(cfg)
            for r in rates:
                key = f"{path.stem}|{cfg}|{r}"
                if key not in results:
                    budget = int(round(r * h * w / 8))
                    results[key] = code(img, budget, args.levels, block, penalty, adl_levels)
                    args.out.write_text(json.dumps(results, indent=1))
                res = results[key]
                print(f"{path.stem} {cfg:14s} {r:5.2f} bpp  {res['psnr']:.3f} dB  side {res['side_bytes']} B",
                      flush=True)
    # mean PSNR per config and rate, and BD-PSNR of each config against the first
    from wavecodec.bench import bjontegaard

    stems = [f"kodim{int(i):02d}" for i in args.images.split(",")]
    curves = {}
    for cfg in configs:
        curves[cfg] = [float(np.mean([results[f"{s}|{cfg}|{r}"]["psnr"] for s in stems])) for r in rates]
        print(f"{cfg:14s} " + " ".join(f"{p:.3f}" for p in curves[cfg]))
    ref = configs[0]
    for cfg in configs[1:]:
        bd = bjontegaard.bd_psnr(rates, curves[ref], rates, curves[cfg])
        br = bjontegaard.bd_rate(rates, curves[ref], rates, curves[cfg])
        print(f"{cfg} against {ref}: BD-PSNR {bd:+.3f} dB, BD-rate {br:+.2f}%")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
