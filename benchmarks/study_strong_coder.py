#!/usr/bin/env python
"""Study for issue 17 (a stronger wavelet codec): which front-end ingredients buy how much over SPIHT-AC.

Usage::

    python benchmarks/study_strong_coder.py /work/shared/data/kodak [--images 6] [--mode rgb|gray|both]
        [--configs base,always,...] [--out results.json]

Every configuration runs today's arithmetic-coded SPIHT kernel unchanged
(:func:`wavecodec.coders.spiht.encode_coefficients` / ``decode_coefficients``)
behind a front end written here, so no existing stream changes.  The front end
reproduces the ``spiht`` codec's own path (ICT, plane means, CDF 9/7, synthesis
weights, chroma weights, quantiser steps, optimized reconstruction points) and
lets one ingredient at a time change:

* ``colour``: the fixed ICT or a per-image KLT (PCA of the RGB samples, rows
  sent as int16 in 1/4096: 18 bytes counted in the payload);
* ``chroma``: a factor on the chroma planes' weights (rate allocation between
  luma and chroma), fixed or searched per image and rate by the decoded RGB MSE
  (1 byte counted);
* ``levels``: decomposition levels (6 is the default at 768x512);
* ``steps``: the quantiser-step search as today ('auto': 4 steps at budgets up to
  0.3 bpp), 'always' (4 steps at every rate), 'fine' (8 steps 2**(-k/8)) or
  'never';
* ``pick``: how a step is chosen: 'estimate' (the encoder's error estimate, as
  the codec does) or 'decode' (the decoded image's MSE).

Rates are payload budgets (``floor(bpp * H * W / 8)`` bytes); bpp in the tables is
the payload actually produced (plus the side information above).  BD figures
use :mod:`wavecodec.bench.bjontegaard` against the ``base`` configuration on the
mean curves (mean bpp, mean PSNR over the images), as the benchmark reports do,
and also per image (mean of the per-image BD-PSNRs).
The first run checks that ``base`` reproduces ``wavecodec.encode(..., "spiht")``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

import wavecodec
from wavecodec import transform as T
from wavecodec.bench.bjontegaard import bd_psnr, bd_rate
from wavecodec.coders import _bitplane as B
from wavecodec.coders import spiht as S

RATES_RGB = (0.1, 0.15, 0.25, 0.4, 0.6, 1.0)
RATES_GRAY = (0.02, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 1.0)


@dataclass(frozen=True)
class Config:
    name: str
    colour: str = "ict"  # 'ict' or 'klt'
    chroma: tuple = (1.0,)  # chroma weight factors; several = searched per image and rate (decoded MSE)
    levels: int = 6
    wavelet: str = "cdf97"
    steps: str = "auto"  # 'auto', 'always', 'fine', 'never'
    pick: str = "estimate"  # 'estimate' or 'decode'
    note: str = ""


CONFIGS = {c.name: c for c in [
    Config("base", note="today's spiht (ac): ICT, 6 levels, step search up to 0.3 bpp, optimized recon"),
    Config("never", steps="never", note="no step search"),
    Config("always", steps="always", note="4-step search at every rate"),
    Config("always-decode", steps="always", pick="decode", note="4-step search, picked by decoded MSE"),
    Config("fine", steps="fine", pick="decode", note="8 steps 2**(-k/8), picked by decoded MSE"),
    Config("lv5", levels=5), Config("lv7", levels=7),
    Config("klt", colour="klt", note="per-image KLT instead of the ICT"),
    Config("chroma-search", chroma=(0.71, 0.84, 1.0, 1.19, 1.41), note="chroma weight x{0.71..1.41} per image"),
    Config("klt-chroma", colour="klt", chroma=(0.71, 0.84, 1.0, 1.19, 1.41)),
    Config("klt-always", colour="klt", steps="always", pick="decode"),
    Config("all", colour="klt", chroma=(0.71, 0.84, 1.0, 1.19, 1.41), steps="always", pick="decode"),
]}


def load(path: Path, mode: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L" if mode == "gray" else "RGB"))


def colour_matrix(rgb: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(forward M, inverse, side-info bytes): planes = M @ rgb; ``kind`` 'ict' or 'klt'."""
    if kind == "ict":
        m = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
        return m, None, 0
    x = rgb.reshape(-1, 3).astype(np.float64)
    cov = np.cov(x, rowvar=False)
    vals, vecs = np.linalg.eigh(cov)
    m = vecs[:, ::-1].T  # rows: principal axes, largest variance first
    m *= np.sign(m.sum(axis=1, keepdims=True) + 1e-12)  # first row positive (luma-like)
    mq = np.round(m * 4096) / 4096  # what would be sent: 9 int16
    return mq, np.linalg.inv(mq), 18


@dataclass
class FrontEnd:
    """Weighted float coefficients of one image under one (colour, levels, wavelet) choice."""

    x: np.ndarray  # (C, hp, wp) weighted by synthesis and plane weights (chroma factor 1)
    means: list
    inv: np.ndarray | None  # inverse colour matrix (None: ICT via T.ict_inverse, or gray)
    plane_w: np.ndarray
    side_bytes: int
    levels: int
    wavelet: str
    shape: tuple
    table: np.ndarray = field(repr=False, default=None)


def front_end(img: np.ndarray, colour: str, levels: int, wavelet: str) -> FrontEnd:
    pix = img[:, :, None] if img.ndim == 2 else img
    h, w, c = pix.shape
    side = 0
    inv = None
    if c == 3:
        m, inv, side = colour_matrix(pix, colour)
        if colour == "ict":
            planes = T.ict_forward(pix)
            plane_w = B.chroma_weights(B.COLOUR_ICT)
        else:
            planes = np.einsum("kc,hwc->khw", m, pix.astype(np.float64))
            gains = (inv * inv).sum(axis=0)  # RGB squared error of a unit error in plane k
            plane_w = np.sqrt(gains / 3.0)  # relative to the ICT's Y (gain 3): same scale as today
    else:
        planes = pix.transpose(2, 0, 1).astype(np.float64)
        plane_w = np.ones(1)
    table = T.synthesis_weight_table(wavelet, levels)
    hp, wp = T.padded_shape(h, w, levels)
    x = np.empty((c, hp, wp))
    means = []
    for k in range(c):
        p = planes[k].copy()
        mu = float(np.float32(p.mean()))
        means.append(mu)
        p -= mu
        x[k] = T.forward(p, wavelet=wavelet, levels=levels)
        for r, r0, r1 in T.level_ranges(hp, levels):
            for cc, c0, c1 in T.level_ranges(wp, levels):
                x[k, r0:r1, c0:c1] *= table[r, cc]
        x[k] *= plane_w[k]
    return FrontEnd(x, means, inv, plane_w, side, levels, wavelet, (h, w, c), table)


def code(fe: FrontEnd, chroma: float, step: float, budget: int) -> tuple[int, np.ndarray, float]:
    """Encode at ``budget`` payload bytes with chroma factor and quantiser scale; (bytes, decoded, est. error)."""
    h, w, c = fe.shape
    frac = B.frac_bits_for(8, fe.levels)
    cw = np.ones(c)
    cw[1:] = chroma
    scale = step * (1 << frac)
    q = np.trunc(fe.x * (cw[:, None, None] * scale)).astype(np.int32)
    top = int(np.abs(q).max())
    n_max = top.bit_length() - 1
    res = S.encode_coefficients(q, variant="ac", levels=fe.levels, n_max=n_max, budget=budget)
    energy = B.coefficient_energy(q)
    est = (energy - res.reduction) / (scale * scale)
    hp, wp = q.shape[1:]
    rowlev, collev = B.level_maps(hp, wp, fe.levels)
    weights = B.CoefficientWeights(fe.table, rowlev, collev)
    coeffs = S.decode_coefficients(res.payload, variant="ac", shape=q.shape, levels=fe.levels, n_max=n_max,
                                   frac_bits=frac, integer=False, recon=res.recon, weights=weights,
                                   plane_weight=fe.plane_w * cw * step)
    planes = np.stack([T.inverse(coeffs[k], shape=(h, w), wavelet=fe.wavelet, levels=fe.levels) + fe.means[k]
                       for k in range(c)])
    if c == 1:
        out = planes[0]
    elif fe.inv is None:
        out = T.ict_inverse(planes)
    else:
        out = np.einsum("ck,khw->hwc", fe.inv, planes)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return len(res.payload), out, est


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def step_list(cfg: Config, bpp: float) -> list[float]:
    if cfg.steps == "never" or (cfg.steps == "auto" and bpp > B.SEARCH_MAX_BPP):
        return [1.0]
    if cfg.steps == "fine":
        return [2.0 ** (-k / 8) for k in range(8)]
    return [2.0 ** (-k / 4) for k in range(4)]


def run_config(img: np.ndarray, cfg: Config, rates, fe_cache: dict) -> list[dict]:
    key = (cfg.colour, cfg.levels, cfg.wavelet)
    if key not in fe_cache:
        fe_cache[key] = front_end(img, cfg.colour, cfg.levels, cfg.wavelet)
    fe = fe_cache[key]
    h, w = img.shape[:2]
    chroma = cfg.chroma if img.ndim == 3 else (1.0,)
    extra = fe.side_bytes + (1 if len(chroma) > 1 else 0)
    rows = []
    for bpp in rates:
        budget = int(bpp * h * w / 8) - extra
        best = None
        for a in chroma:
            for s in step_list(cfg, bpp):
                n, out, est = code(fe, a, s, budget)
                err = np.mean((out.astype(float) - img.astype(float)) ** 2)
                # 'estimate' picks the step as the codec does (for one chroma factor); the chroma factor
                # (and 'decode') by the decoded MSE
                score = (err if cfg.pick == "decode" or len(chroma) > 1 else est, err)
                if cfg.pick == "estimate" and len(chroma) > 1:
                    score = (err, err)
                if best is None or score[0] < best[0][0]:
                    best = (score, n, out, a, s)
        (_, err), n, out, a, s = best
        rows.append({"target": bpp, "bpp": 8.0 * (n + extra) / (h * w), "psnr": psnr(img, out),
                     "chroma": a, "step": s})
    return rows


def check_base(img: np.ndarray) -> None:
    """``base`` must reproduce the registered spiht codec (payload bytes and PSNR) at two rates."""
    h, w = img.shape[:2]
    fe = front_end(img, "ict", T.default_levels(h, w), "cdf97")
    for bpp in (0.5,):
        stream = wavecodec.encode(img, "spiht", bpp=bpp, step_search="never")
        info = wavecodec.info(stream)
        payload = info.payload_size
        ref = psnr(img, wavecodec.decode(stream))
        n, out, _ = code(fe, 1.0, 1.0, payload)
        print(f"check: spiht codec {ref:.4f} dB; study front end {psnr(img, out):.4f} dB"
              f" ({n} vs {payload} payload bytes)", file=sys.stderr)


def bd_table(results: dict, mode: str, names: list[str], images: list[str]) -> list[str]:
    lines = [f"### {mode} ({len(images)} images: {', '.join(images)})", "",
             "| config | " + " | ".join(f"{r:g}" for r in (RATES_RGB if mode == 'rgb' else RATES_GRAY))
             + " | BD-PSNR vs base (mean curve) | BD-rate vs base | mean per-image BD-PSNR | note |",
             "|---|" + "---:|" * (len(RATES_RGB if mode == 'rgb' else RATES_GRAY) + 4)]
    base = results[mode]["base"]

    def mean_curve(per_image):
        bpp = np.mean([[r["bpp"] for r in per_image[i]] for i in images], axis=0)
        ps = np.mean([[r["psnr"] for r in per_image[i]] for i in images], axis=0)
        return bpp, ps

    bb, bp = mean_curve(base)
    for name in names:
        if name not in results[mode]:
            continue
        per = results[mode][name]
        if not all(i in per for i in images):
            continue
        cb, cp = mean_curve(per)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = bd_psnr(bb, bp, cb, cp)
            r = bd_rate(bb, bp, cb, cp)
            per_img = np.mean([bd_psnr([x["bpp"] for x in base[i]], [x["psnr"] for x in base[i]],
                                       [x["bpp"] for x in per[i]], [x["psnr"] for x in per[i]]) for i in images])
        cells = " | ".join(f"{p:.2f}" for p in cp)
        lines.append(f"| `{name}` | {cells} | {d:+.3f} dB | {r:+.2f}% | {per_img:+.3f} dB |"
                     f" {CONFIGS[name].note if name in CONFIGS else ''} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kodak", type=Path)
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--mode", choices=("rgb", "gray", "both"), default="both")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--out", type=Path, default=Path("/tmp/study_strong_coder.json"))
    args = ap.parse_args()
    files = sorted(args.kodak.glob("kodim*.png"))
    if args.images < len(files):  # spread the subset over the set
        idx = np.linspace(0, len(files) - 1, args.images).round().astype(int)
        files = [files[i] for i in idx]
    names = [n for n in args.configs.split(",") if n]
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    modes = ("rgb", "gray") if args.mode == "both" else (args.mode,)
    check_base(load(files[0], "rgb"))
    for mode in modes:
        rates = RATES_RGB if mode == "rgb" else RATES_GRAY
        res = results.setdefault(mode, {})
        for f in files:
            img = load(f, mode)
            fe_cache: dict = {}
            for name in names:
                cfg = CONFIGS[name]
                if mode == "gray" and (cfg.colour != "ict" or len(cfg.chroma) > 1):
                    continue
                if f.stem in res.get(name, {}):
                    continue
                t0 = time.perf_counter()
                res.setdefault(name, {})[f.stem] = run_config(img, cfg, rates, fe_cache)
                print(f"{mode} {f.stem} {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
                args.out.write_text(json.dumps(results))
    for mode in modes:
        images = sorted(set.intersection(*[set(v) for v in results[mode].values()]) & {f.stem for f in files})
        print("\n".join(bd_table(results, mode, list(CONFIGS), images)))
        print()


if __name__ == "__main__":
    main()
