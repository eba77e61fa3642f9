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

* ``colour``: the fixed ICT, a per-image KLT (PCA of the RGB samples, rows
  sent as int16 in 1/4096: 18 bytes counted in the payload), or a KLT per group
  of subbands after the wavelet transform ('sklt3', 'sklt7': 18 bytes a group);
  'a|b' tries several and keeps the best per image and rate (1 byte);
* ``chroma``: a factor on the chroma planes' weights (rate allocation between
  luma and chroma), fixed or searched per image and rate by the decoded RGB MSE
  (1 byte counted);
* ``levels``: decomposition levels (6 is the default at 768x512);
* ``wavelet``: the CDF 9/7 or a PyWavelets name ('cdf97|bior6.8': both tried);
* ``steps``: the quantiser-step search as today ('auto': 4 steps at budgets up to
  0.3 bpp), 'always' (4 steps at every rate), 'fine' (8 steps 2**(-k/8)) or
  'never';
* ``pick``: how a step is chosen: 'estimate' (the encoder's error estimate, as
  the codec does) or 'decode' (the decoded image's MSE);
* ``contexts``: today's kernel, or the study kernel ``study_spiht_contexts.py`` (a
  copy of the SPIHT kernel with inter-plane, neighbour-magnitude and parent/cousin
  contexts as run-time switches; mode 0 gives today's bits, which the study checks);
* ``prune``: a second pass that zeroes isolated coefficients of the last planes the
  first pass reached (:func:`prune_isolated`), kept when the decoded MSE is lower.

Choices among several candidates (chroma factors, colour transforms, wavelets,
pruning) are made by the decoded MSE, so those configurations cost many encodes.

``--recon-oracle`` instead measures what per-band reconstruction points (one pair
per luma/chroma x level instead of today's one pair) would gain.

The SPIHT kernel is being edited in the shared tree: run it against a fixed commit
(``git worktree add /tmp/ssc-base <rev>`` and ``PYTHONPATH=/tmp/ssc-base``), as the
results file says.

Rates are payload budgets (``floor(bpp * H * W / 8)`` bytes); bpp in the tables is
the payload actually produced (plus the side information above).  BD figures
use :mod:`wavecodec.bench.bjontegaard` against the ``base`` configuration on the
mean curves (mean bpp, mean PSNR over the images), as the benchmark reports do,
and also per image (mean of the per-image BD-PSNRs), over the rates of 0.1-1 bpp
(the issue's range; the gray 0.02 and 0.05 bpp columns are shown beside).
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
from wavecodec._kernels import arith as _ac
from wavecodec.coders import _spiht_priors
from wavecodec.coders import spiht as S

sys.path.insert(0, str(Path(__file__).resolve().parent))
import study_spiht_contexts as _ctx  # noqa: E402

RATES_RGB = (0.1, 0.15, 0.25, 0.4, 0.6, 1.0)
RATES_GRAY = (0.02, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 1.0)


@dataclass(frozen=True)
class Config:
    name: str
    colour: str = "ict"  # 'ict', 'klt' or 'ict|klt' (both tried, the better kept per image and rate)
    chroma: tuple = (1.0,)  # chroma weight factors; several = searched per image and rate (decoded MSE)
    levels: int = 6
    wavelet: str = "cdf97"  # or 'cdf97|bior6.8': both tried, the better kept per image and rate (1 byte)
    steps: str = "auto"  # 'auto', 'always', 'fine', 'never'
    pick: str = "estimate"  # 'estimate' or 'decode'
    contexts: int = -1  # -1: today's kernel; else the study kernel with these mode bits (study_spiht_contexts)
    prune: tuple = ()  # isolated-coefficient pruning levels tried beside none (see prune_isolated), by decoded MSE
    note: str = ""


CONFIGS = {c.name: c for c in [
    Config("base", note="today's spiht (ac): ICT, 6 levels, step search up to 0.3 bpp, optimized recon"),
    Config("never", steps="never", note="no step search"),
    Config("always", steps="always", note="4-step search at every rate"),
    Config("always-decode", steps="always", pick="decode", note="4-step search, picked by decoded MSE"),
    Config("fine", steps="fine", pick="decode", note="8 steps 2**(-k/8), picked by decoded MSE"),
    Config("lv5", levels=5), Config("lv7", levels=7),
    Config("bior6.8", wavelet="bior6.8", note="CDF 17/11 (PyWavelets, periodization) instead of the 9/7"),
    Config("best-wavelet", wavelet="cdf97|bior6.8", pick="decode", note="9/7 or 17/11 per image and rate"),
    Config("klt", colour="klt", note="per-image KLT instead of the ICT"),
    Config("sklt7", colour="sklt7", note="KLT per subband level (7 matrices) after the wavelet transform"),
    Config("sklt3", colour="sklt3", note="KLT per group of levels (LL+3.., 2, 1) after the wavelet transform"),
    Config("sklt3-always", colour="sklt3", steps="always", pick="decode"),
    Config("chroma-search", chroma=(0.71, 0.84, 1.0, 1.19, 1.41), note="chroma weight x{0.71..1.41} per image"),
    Config("klt-chroma", colour="klt", chroma=(0.71, 0.84, 1.0, 1.19, 1.41)),
    Config("klt-always", colour="klt", steps="always", pick="decode"),
    Config("ctx0", contexts=0, note="study kernel, no extra contexts (must equal base)"),
    Config("ctx-xplane", contexts=1, note="inter-plane significance and sign contexts"),
    Config("ctx-mag", contexts=2, note="neighbour-magnitude classes in the pixel significance contexts"),
    Config("ctx-family", contexts=4, note="large parent and significant cousins in the pixel significance contexts"),
    Config("ctx-all", contexts=7, note="all three context extensions"),
    Config("best-colour", colour="ict|klt", steps="always", pick="decode",
           note="ICT or KLT per image and rate (decoded MSE, 1 byte), 4-step search"),
    Config("best-colour3", colour="ict|klt|sklt3", steps="always", pick="decode",
           note="ICT, KLT or subband KLT (3 groups) per image and rate, 4-step search"),
    Config("sklt3-all", colour="sklt3", steps="always", pick="decode", contexts=1, prune=(1, 2),
           note="subband KLT + 4-step search + inter-plane contexts + pruning"),
    Config("best-all", colour="ict|klt", steps="always", pick="decode", contexts=1,
           note="best-colour + inter-plane contexts"),
    Config("prune", prune=(1, 2), note="2 passes: isolated coefficients of the last 1 or 2 planes zeroed, if better"),
    Config("best-prune", colour="ict|klt", steps="always", pick="decode", contexts=1, prune=(1, 2),
           note="best-all + pruning"),
    Config("gray-best", wavelet="cdf97|bior6.8", steps="always", pick="decode", prune=(1, 2),
           note="9/7 or 17/11, 4-step search, pruning: every gray ingredient that gained"),
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
    group_map: np.ndarray | None = None  # subband KLT: group of every (row, column) of the tree layout
    group_inv: dict | None = None  # subband KLT: inverse colour matrix of each group


def subband_klt_front_end(pix: np.ndarray, levels: int, wavelet: str, groups: int) -> FrontEnd:
    """Colour KLT per group of subbands, after the wavelet transform (both are linear, so the
    transform of the RGB planes followed by a 3x3 matrix per band is invertible band by band).

    ``groups`` 7: one KLT per level and one for the LL band; 3: LL and levels >= 3, level 2,
    level 1.  Each matrix is sent as 9 int16 (18 bytes per group, counted).
    """
    h, w, c = pix.shape
    table = T.synthesis_weight_table(wavelet, levels)
    hp, wp = T.padded_shape(h, w, levels)
    x = np.empty((3, hp, wp))
    means = []
    for k in range(3):
        p = pix[:, :, k].astype(np.float64)
        mu = float(np.float32(p.mean()))
        means.append(mu)
        x[k] = T.forward(p - mu, wavelet=wavelet, levels=levels)
        for r, r0, r1 in T.level_ranges(hp, levels):
            for cc, c0, c1 in T.level_ranges(wp, levels):
                x[k, r0:r1, c0:c1] *= table[r, cc]
    rowlev, collev = B.level_maps(hp, wp, levels)
    lev = np.minimum(rowlev[:, None], collev[None, :])
    gmap = lev if groups == 7 else np.minimum(lev, 3)
    inv_by_group = {}
    for g in np.unique(gmap):
        mask = gmap == g
        xs = x[:, mask]
        vals, vecs = np.linalg.eigh(xs @ xs.T)
        m = vecs[:, ::-1].T
        m *= np.sign(m.sum(axis=1, keepdims=True) + 1e-12)
        mq = np.round(m * 4096) / 4096
        x[:, mask] = mq @ xs
        inv_by_group[int(g)] = np.linalg.inv(mq)
    plane_w = np.full(3, np.sqrt(1.0 / 3.0))  # orthonormal: every plane's RGB gain is 1; Y-like scale
    x *= plane_w[:, None, None]
    side = 18 * len(inv_by_group)
    return FrontEnd(x, means, None, plane_w, side, levels, wavelet, (h, w, c), table, gmap, inv_by_group)


def front_end(img: np.ndarray, colour: str, levels: int, wavelet: str) -> FrontEnd:
    pix = img[:, :, None] if img.ndim == 2 else img
    h, w, c = pix.shape
    if c == 3 and colour in ("sklt7", "sklt3"):
        return subband_klt_front_end(pix, levels, wavelet, int(colour[-1]))
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


def _study_models() -> tuple[np.ndarray, np.ndarray]:
    """The base coder's trained priors, each copied to the contexts that refine it."""
    p0 = np.asarray(_spiht_priors.PRIORS)[_ctx.prior_map()]
    return _ac.models_from_priors(p0, _spiht_priors.CONFIDENCE)


def _study_run(decoding, coef, levels, n_max, state, buf, out_val, mode):
    nc, hp, wp = coef.shape
    rowlev, collev = B.level_maps(hp, wp, levels)
    tree, maps, lists = _ctx.workspace(decoding, coef, out_val, levels, rowlev, collev, mode)
    probs, counts = _study_models()
    coder = _ac.BitCoder(state, buf, probs, counts, np.zeros((0, 2), dtype=np.int64))
    n_stop, n_lsp, refined, lsp_old = _ctx.spiht_code(decoding, True, tree, maps, lists, coder, n_max, 0)
    return n_stop, n_lsp, refined, lsp_old, lists, maps


def study_encode(q: np.ndarray, levels: int, n_max: int, budget: int, mode: int) -> B.EncodeResult:
    """:func:`wavecodec.coders.spiht.encode_coefficients` (variant 'ac') on the study kernel."""
    coef = np.ascontiguousarray(q, dtype=np.int32)
    dummy = np.zeros((1, 1, 1), dtype=np.int32)
    payload, (n_stop, n_lsp, refined, lsp_old, lists, _) = B.run_encoder(
        True, budget, max(1024, coef.size * (n_max + 2) // 4),
        lambda state, buf: _study_run(False, coef, levels, n_max, state, buf, dummy, mode))
    offsets = _ctx.optimal_offsets(coef, lists.lsp, lists.lsp_plane, n_lsp, n_stop, refined, lsp_old)
    recon = tuple(int(np.clip(np.rint(o * 256), 1, 255)) for o in offsets)
    reduction = _ctx.distortion_reduction(coef, lists.lsp, lists.lsp_plane, n_lsp, n_stop, refined, lsp_old,
                                                  recon[0] / 256.0, recon[1] / 256.0)
    return B.EncodeResult(payload, recon, reduction)


def study_decode(payload: bytes, shape, levels, n_max, frac_bits, recon, weights, plane_weight, mode) -> np.ndarray:
    values, codes = B.coefficient_buffer(shape)
    data, state = B.start_decoder(payload, True)
    n_stop, n_lsp, refined, lsp_old, lists, maps = _study_run(True, codes, levels, n_max, state, data, codes, mode)
    _ctx.final_codes(codes, maps.sig, lists.lsp, lists.lsp_plane, n_lsp, n_stop, refined, lsp_old)
    return B.expand(values, codes, integer=False, frac_bits=frac_bits, recon=recon, weights=weights,
                    plane_weight=plane_weight)


def stop_plane(q: np.ndarray, levels: int, n_max: int, budget: int) -> int:
    """The bit-plane at which today's coder stops at ``budget`` (study kernel, mode 0 = today's bits)."""
    coef = np.ascontiguousarray(q, dtype=np.int32)
    dummy = np.zeros((1, 1, 1), dtype=np.int32)
    _, (n_stop, *_rest) = B.run_encoder(True, budget, max(1024, coef.size * (n_max + 2) // 4),
                                        lambda state, buf: _study_run(False, coef, levels, n_max, state, buf, dummy, 0))
    return int(n_stop)


def prune_isolated(q: np.ndarray, n_stop: int, planes: int) -> np.ndarray:
    """``q`` with the isolated small coefficients set to 0: magnitude below ``2**(n_stop + planes)``
    and no 8-neighbour of magnitude ``2**n_stop`` or more (they cost a significance test of
    their set, a sign and the sorting of their siblings, for little distortion)."""
    big = (np.abs(q) >= (1 << max(n_stop, 0))).astype(np.int8)
    pad = np.pad(big, ((0, 0), (1, 1), (1, 1)))
    h, w = q.shape[1:]
    neigh = sum(pad[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                if dy or dx)
    small = np.abs(q) < (1 << max(n_stop + planes, 0))
    out = q.copy()
    out[(neigh == 0) & small] = 0
    return out


def code(fe: FrontEnd, chroma: float, step: float, budget: int, contexts: int = -1,
         prune: int = 0) -> tuple[int, np.ndarray, float]:
    """Encode at ``budget`` payload bytes with chroma factor and quantiser scale; (bytes, decoded, est. error)."""
    h, w, c = fe.shape
    frac = B.frac_bits_for(8, fe.levels)
    cw = np.ones(c)
    cw[1:] = chroma
    scale = step * (1 << frac)
    q = np.trunc(fe.x * (cw[:, None, None] * scale)).astype(np.int32)
    top = int(np.abs(q).max())
    n_max = top.bit_length() - 1
    if prune:
        q = prune_isolated(q, stop_plane(q, fe.levels, n_max, budget), prune)
    if contexts < 0:
        res = S.encode_coefficients(q, variant="ac", levels=fe.levels, n_max=n_max, budget=budget)
    else:
        res = study_encode(q, fe.levels, n_max, budget, contexts)
    energy = B.coefficient_energy(q)
    est = (energy - res.reduction) / (scale * scale)
    hp, wp = q.shape[1:]
    rowlev, collev = B.level_maps(hp, wp, fe.levels)
    weights = B.CoefficientWeights(fe.table, rowlev, collev)
    if contexts < 0:
        coeffs = S.decode_coefficients(res.payload, variant="ac", shape=q.shape, levels=fe.levels, n_max=n_max,
                                       frac_bits=frac, integer=False, recon=res.recon, weights=weights,
                                       plane_weight=fe.plane_w * cw * step)
    else:
        coeffs = study_decode(res.payload, q.shape, fe.levels, n_max, frac, res.recon, weights,
                              fe.plane_w * cw * step, contexts)
    if fe.group_map is not None:
        for g, inv in fe.group_inv.items():
            mask = fe.group_map == g
            coeffs[:, mask] = inv @ coeffs[:, mask]
    planes = np.stack([T.inverse(coeffs[k], shape=(h, w), wavelet=fe.wavelet, levels=fe.levels) + fe.means[k]
                       for k in range(c)])
    if fe.group_map is not None:
        out = planes.transpose(1, 2, 0)
    elif c == 1:
        out = planes[0]
    elif fe.inv is None:
        out = T.ict_inverse(planes)
    else:
        out = np.einsum("ck,khw->hwc", fe.inv, planes)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return len(res.payload), out, est


def recon_oracle(fe: FrontEnd, budget: int) -> dict:
    """How much per-band reconstruction points would gain over today's two (fresh, refined).

    Codes at ``budget`` (step 1, chroma 1, the study kernel in mode 0 = today's bits), then
    compares, in the weighted coefficient domain (squared error there ~ pixel squared
    error), the error of the codec's two points with that of MSE-optimal points per
    (luma/chroma, level, fresh/refined) group, quantised to 1/256 like the header's.
    Returns the gain in dB and the side information the groups would need (bytes).
    """
    frac = B.frac_bits_for(8, fe.levels)
    scale = float(1 << frac)
    t_all = np.abs(fe.x * scale)
    q = np.trunc(fe.x * scale).astype(np.int32)
    n_max = int(np.abs(q).max()).bit_length() - 1
    res = study_encode(q, fe.levels, n_max, budget, 0)
    codes = np.zeros(q.shape, dtype=np.int32)
    data, state = B.start_decoder(res.payload, True)
    n_stop, n_lsp, refined, lsp_old, lists, maps = _study_run(True, codes, fe.levels, n_max, state, data, codes, 0)
    _ctx.final_codes(codes, maps.sig, lists.lsp, lists.lsp_plane, n_lsp, n_stop, refined, lsp_old)
    a = np.abs(codes.astype(np.int64))
    nz = a > 0
    lowbit = a & -a
    known = (a - lowbit) >> 1
    fresh = known == lowbit
    hp, wp = q.shape[1:]
    rowlev, collev = B.level_maps(hp, wp, fe.levels)
    lev = np.minimum(rowlev[:, None], collev[None, :])
    lev = np.broadcast_to(lev, q.shape)
    chroma = np.zeros(q.shape, dtype=bool)
    chroma[1:] = True
    rec = np.zeros(q.shape)
    exact = nz & (lowbit == 1)
    rec[exact] = known[exact] + 0.5
    base_rec = rec.copy()
    unknown = nz & (lowbit > 1)
    f0, f1 = res.recon[0] / 256.0, res.recon[1] / 256.0
    base_rec[unknown] = known[unknown] + lowbit[unknown] * np.where(fresh[unknown], f0, f1)
    groups = 0
    for ch in (False, True):
        for lv in np.unique(lev):
            for fr in (True, False):
                m = unknown & (chroma == ch) & (lev == lv) & (fresh == fr)
                if not m.any():
                    continue
                w = lowbit[m].astype(np.float64)
                off = np.sum(w * (t_all[m] - known[m])) / np.sum(w * w)
                off = np.clip(np.rint(off * 256), 1, 255) / 256
                rec[m] = known[m] + w * off
                groups += 1
    sse_base = float(np.sum((t_all - base_rec) ** 2))
    sse_new = float(np.sum((t_all - rec) ** 2))
    return {"gain_db": 10 * np.log10(sse_base / sse_new), "side_bytes": groups}


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
    fes = []
    for colour in cfg.colour.split("|"):
        for wavelet in cfg.wavelet.split("|"):
            key = (colour, cfg.levels, wavelet)
            if key not in fe_cache:
                fe_cache[key] = front_end(img, colour, cfg.levels, wavelet)
            fes.append(fe_cache[key])
    h, w = img.shape[:2]
    chroma = cfg.chroma if img.ndim == 3 else (1.0,)
    extra = max(fe.side_bytes for fe in fes) + (1 if len(chroma) > 1 else 0) + (1 if len(fes) > 1 else 0)
    rows = []
    for bpp in rates:
        budget = int(bpp * h * w / 8) - extra
        best = None
        for fe, a in ((fe, a) for fe in fes for a in chroma):
            for s, pr in ((s, pr) for s in step_list(cfg, bpp) for pr in (0,) + cfg.prune):
                n, out, est = code(fe, a, s, budget, cfg.contexts, pr)
                err = np.mean((out.astype(float) - img.astype(float)) ** 2)
                # 'estimate' picks the step as the codec does (for one chroma factor); the chroma factor
                # (and 'decode') by the decoded MSE
                score = (err if cfg.pick == "decode" or len(chroma) > 1 else est, err)
                if cfg.pick == "estimate" and (len(chroma) > 1 or len(fes) > 1 or cfg.prune):
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

    def mean_curve(per_image, bd_only=False):
        keep = [k for k, r in enumerate(per_image[images[0]]) if not bd_only or r["target"] >= 0.1]
        bpp = np.mean([[per_image[i][k]["bpp"] for k in keep] for i in images], axis=0)
        ps = np.mean([[per_image[i][k]["psnr"] for k in keep] for i in images], axis=0)
        return bpp, ps

    def bd_points(rows):
        rows = [r for r in rows if r["target"] >= 0.1]
        return [r["bpp"] for r in rows], [r["psnr"] for r in rows]

    bb, bp = mean_curve(base, True)
    for name in names:
        if name not in results[mode]:
            continue
        per = results[mode][name]
        if not all(i in per for i in images):
            continue
        cb, cp = mean_curve(per, True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = bd_psnr(bb, bp, cb, cp)
            r = bd_rate(bb, bp, cb, cp)
            per_img = np.mean([bd_psnr(*bd_points(base[i]), *bd_points(per[i])) for i in images])
        cp = mean_curve(per)[1]
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
    ap.add_argument("--recon-oracle", action="store_true",
                    help="only measure what per-band reconstruction points would gain (recon_oracle)")
    args = ap.parse_args()
    files = sorted(args.kodak.glob("kodim*.png"))
    if args.images < len(files):  # spread the subset over the set
        idx = np.linspace(0, len(files) - 1, args.images).round().astype(int)
        files = [files[i] for i in idx]
    names = [n for n in args.configs.split(",") if n]
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    modes = ("rgb", "gray") if args.mode == "both" else (args.mode,)
    if args.recon_oracle:
        for mode in modes:
            rates = RATES_RGB if mode == "rgb" else RATES_GRAY
            rows = []
            for f in files:
                img = load(f, mode)
                fe = front_end(img, "ict", T.default_levels(*img.shape[:2]), "cdf97")
                rows.append([recon_oracle(fe, int(bpp * img.shape[0] * img.shape[1] / 8)) for bpp in rates])
            print(f"per-band reconstruction points, {mode}, {len(files)} images: mean gain (dB) / side bytes")
            print(" | ".join(f"{bpp:g} bpp: {np.mean([r[k]['gain_db'] for r in rows]):+.3f} dB"
                             f" / {np.mean([r[k]['side_bytes'] for r in rows]):.0f} B" for k, bpp in enumerate(rates)))
        return
    check_base(load(files[0], "rgb"))
    for mode in modes:
        rates = RATES_RGB if mode == "rgb" else RATES_GRAY
        res = results.setdefault(mode, {})
        for f in files:
            img = load(f, mode)
            fe_cache: dict = {}
            for name in names:
                cfg = CONFIGS[name]
                if mode == "gray" and (cfg.colour != "ict" or len(cfg.chroma) > 1 or cfg.contexts == 1):
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
