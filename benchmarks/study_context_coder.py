#!/usr/bin/env python
"""Study for issue 17: a context-modelled, fractional bit-plane coder against today's SPIHT-AC.

Usage::

    python benchmarks/study_context_coder.py /work/shared/data/kodak [--images 6] [--mode rgb|gray|both]
        [--configs full,rde,...,codec:ecbp,codec:ecbp+step_search=always] [--out /tmp/study_context_coder.json]
    python benchmarks/study_context_coder.py /work/shared/data/kodak --configs rde --breakdown 0.5
    flock /tmp/measuring.lock python benchmarks/study_context_coder.py /work/shared/data/kodak --timing

``codec:NAME`` (options after ``+``) runs a registered codec through the public API
instead of the study coder; the registered ``ecbp`` codec is this study's
``combo-split`` configuration (kernels in :mod:`wavecodec._kernels.ecbp`, priors
trained on scikit-image images instead of Kodak, the step picked by the encoder's
error estimate instead of the decoded MSE).  The results file is a JSON cache:
configurations already in it for an image are not run again.

The coder studied here codes the same int32 coefficients that
:func:`wavecodec.coders._bitplane.forward_coefficients` gives the ``spiht`` codec
(CDF 9/7 weighted by its synthesis gains, ICT with chroma weights, 2 fractional
bits), bit-plane by bit-plane, in three fractional passes per plane as EBCOT
does (D. Taubman, IEEE TIP 9(7):1158-1170, 2000, Sec. III-B):

1. significance propagation: the insignificant coefficients whose neighbourhood
   already holds significant coefficients (magnitude context > 0);
2. magnitude refinement of the coefficients significant at a higher plane;
3. cleanup: every other insignificant coefficient, by 4x4 blocks, with one
   "block stays zero" decision for a block whose coefficients all have empty
   contexts (EBCOT's run mode, on blocks instead of columns of 4).

Colour planes are interleaved pass by pass (Y, Cb, Cr), so the stream is in
order of bit-plane and pass for all three: with the chroma weights that make
equal coefficient errors cost equal RGB error, that is the order of expected
distortion decrease per bit, the order EBCOT's PCRD picks across code blocks.

Every decision goes through :func:`wavecodec._kernels.arith.code_decision` (the
repo's adaptive binary arithmetic coder) with these contexts:

* significance: an ECECOW-style magnitude energy (X. Wu, "High-order context
  modeling and embedded conditional entropy coding of wavelet coefficients for
  image compression", Asilomar 1997; Wu, "Context quantization with Fisher
  discriminant for adaptive embedded wavelet image coding", DCC 1999):
  ``D = sum w_k |x_k|`` over the known magnitudes of the 8 neighbours in the band,
  the parent and the 4 children (weights larger along the band's edge direction),
  quantised in half-octaves relative to the current threshold ``2**p`` (12
  classes), x 7 band classes (LL; HL/LH and HH at levels 1, 2, >= 3), x 3 plane
  classes (luma; chroma with the co-located luma coefficient insignificant /
  significant);
* sign: the signs of the 2 horizontal and 2 vertical neighbours (EBCOT's h, v
  contributions, 9 combinations), the parent's sign and, for chroma, the
  co-located luma sign, x band orientation;
* refinement: first refinement or not, x the magnitude energy relative to the
  coefficient's own magnitude (EBCOT's refinement contexts with ECECOW's energy).

One run of the coder per rate: it stops at the payload budget, then the study
*decodes* the payload with the same kernel (``decoding=True``) and measures the
PSNR of the decoded image, so every figure is a real stream's.  ``spiht`` is run
through the public API (``wavecodec.encode(img, 'spiht', bpp=...)``, default
options: ac variant, step search up to 0.3 bpp, optimized reconstruction), and
the study coder gets exactly the payload bytes spiht produced at each rate.
BD figures: :mod:`wavecodec.bench.bjontegaard` on the mean curves over 0.1-1 bpp (and against
``--reference``, ``codec:jpeg2000`` by default, when it is in the results file).

The gray study (``benchmarks/results_gray_study.md``) added switches on top of ``best``: RD-optimised
zeroing and a wider dead zone after a first encode (``rdoq``, ``deadzone``: encoder only), a finer step
search (``n_steps``), levels and wavelet per rate, reconstruction offsets by neighbourhood class
(``recon``), a logistic mix of two significance models (``mix``), magnitude-weighted sign contexts
(``sign_model``) and a decoder post-filter (``spin``: cycle spinning); ``--low-rate``,
``--spin-tuning`` and ``--cost`` print its side measurements.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from numba import njit
from PIL import Image

import wavecodec
from wavecodec import transform as T
from wavecodec._kernels.arith import (ADAPT_LAST, MASK32, STATE_DONE, ac_encode_step, code_decision, coder_registers,
                                      models_from_priors, new_models, save_registers)
from wavecodec.bench.bjontegaard import bd_psnr, bd_rate
from wavecodec.coders import _bitplane as B

RATES_RGB = (0.1, 0.15, 0.25, 0.4, 0.6, 1.0)
RATES_GRAY = (0.02, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 1.0)

# --------------------------------------------------------------------------- contexts

N_BAND_CLS = 7  # LL; level 1 HL/LH, HH; level 2 HL/LH, HH; level >= 3 HL/LH, HH
N_PLANE_CLS = 3  # luma (or gray); chroma with co-located luma insignificant; significant
N_DCLS = 12  # magnitude-energy classes: 0 (empty) and 11 half-octaves relative to 2**p
SIG0 = 0
N_NBR = 3  # significant 8-neighbours 0, 1, 2+ (with ctx_split; else always 0)
N_SIG = N_NBR * N_PLANE_CLS * N_BAND_CLS * N_DCLS
RUN0 = SIG0 + N_SIG
N_RUN = N_PLANE_CLS * N_BAND_CLS
REF0 = RUN0 + N_RUN
N_REF = 2 * 2 * 5  # luma/chroma x first/later x energy class
SGN0 = REF0 + N_REF
N_SGN = 2 * 4 * 9 * 9  # luma/chroma x orientation x (h, v) x (parent sign, luma sign)
N_CONTEXTS = SGN0 + N_SGN
SIGB0 = N_CONTEXTS  # the second significance model of the mixing configurations (see _ctx_b)
N_SIGB = N_BAND_CLS * 3 * 2 * 4 * 4
TMP_CTX = SIGB0 + N_SIGB  # scratch model: a decision coded with a mixed probability
SGN2_0 = TMP_CTX + 1  # sign contexts of sign_model=1 (see _sign_context2)
N_SGN2 = 4 * 5 * 5 * 3 * 3
N_ALL = SGN2_0 + N_SGN2
N_MIX_SETS = N_NBR * N_PLANE_CLS * N_BAND_CLS

# band table columns
R0, R1, C0, C1, LEVEL, ORIENT, BCLS = range(7)


def band_table(hp: int, wp: int, levels: int) -> np.ndarray:
    """One row per band, coarse to fine: rows/cols range, level, orientation (0 LL, 1 HL: columns high-pass,
    2 LH, 3 HH) and band class."""
    rows = [(0, hp >> levels, 0, wp >> levels, levels, 0, 0)]
    for k in range(levels, 0, -1):
        lvl_cls = 1 if k == 1 else (3 if k == 2 else 5)
        h0, h1, w0, w1 = hp >> k, hp >> (k - 1), wp >> k, wp >> (k - 1)
        rows.append((0, h0, w0, w1, k, 1, lvl_cls))
        rows.append((h0, h1, 0, w0, k, 2, lvl_cls))
        rows.append((h0, h1, w0, w1, k, 3, lvl_cls + 1))
    return np.array(rows, dtype=np.int64)


# weights (vertical pair, horizontal pair, diagonals, parent, children sum) per orientation
DEFAULT_WEIGHTS = np.array([[2, 2, 1, 0, 0], [4, 2, 1, 2, 1], [2, 4, 1, 2, 1], [2, 2, 2, 2, 1]], dtype=np.int64)


@njit(cache=True, inline="always")
def _energy(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, wts):
    """Weighted sum of the known magnitudes around (c, i, j) (ECECOW's Delta)."""
    up = i > r0
    dn = i + 1 < r1
    lf = j > c0
    rt = j + 1 < c1
    v = np.int64(0)
    h = np.int64(0)
    d = np.int64(0)
    if up:
        v += mag[c, i - 1, j]
        if lf:
            d += mag[c, i - 1, j - 1]
        if rt:
            d += mag[c, i - 1, j + 1]
    if dn:
        v += mag[c, i + 1, j]
        if lf:
            d += mag[c, i + 1, j - 1]
        if rt:
            d += mag[c, i + 1, j + 1]
    if lf:
        h += mag[c, i, j - 1]
    if rt:
        h += mag[c, i, j + 1]
    e = wts[orient, 0] * v + wts[orient, 1] * h + wts[orient, 2] * d
    if orient != 0:
        if level < levels:
            e += wts[orient, 3] * mag[c, i >> 1, j >> 1]
        else:
            e += wts[orient, 3] * mag[c, i - r0, j - c0]
        if level > 1:
            i2 = 2 * i
            j2 = 2 * j
            e += wts[orient, 4] * (np.int64(mag[c, i2, j2]) + mag[c, i2, j2 + 1] + mag[c, i2 + 1, j2]
                                   + mag[c, i2 + 1, j2 + 1])
        if wts.shape[1] > 5 and wts[orient, 5] != 0:
            # the co-located coefficients of the two other orientations of the same level (ECECOW's
            # context takes the sibling subbands too); the band origins: HL (0, wk), LH (hk, 0), HH (hk, wk)
            hk = r1 - r0
            wk = c1 - c0
            oi = i - r0
            oj = j - c0
            s = np.int64(0)
            if orient != 1:
                s += mag[c, oi, wk + oj]
            if orient != 2:
                s += mag[c, hk + oi, oj]
            if orient != 3:
                s += mag[c, hk + oi, wk + oj]
            e += wts[orient, 5] * s
    return e


@njit(cache=True, inline="always")
def _dclass(e, p):
    """Half-octave class of ``e`` relative to ``2**p``: 0 if ``e == 0``, else 1..N_DCLS-1."""
    if e == 0:
        return 0
    b = np.int64(0)
    t = e
    while t > 1:
        t >>= 1
        b += 1
    half = (e >> (b - 1)) & 1 if b >= 1 else 0
    rel = 2 * (b - p) + half
    if rel < 0:
        return 1
    if rel + 1 > N_DCLS - 1:
        return N_DCLS - 1
    return rel + 1


@njit(cache=True, inline="always")
def _sig_ctx(mag, c, i, j, r0, r1, c0, c1, e, p, bcls, split):
    """Significance context: energy class x band class x plane class (x significant-neighbour count)."""
    n = 0
    if split and e != 0:
        for di in range(-1, 2):
            for dj in range(-1, 2):
                ii = i + di
                jj = j + dj
                if (di != 0 or dj != 0) and ii >= r0 and ii < r1 and jj >= c0 and jj < c1 and mag[c, ii, jj] != 0:
                    n += 1
        if n > 2:
            n = 2
    return SIG0 + ((n * N_PLANE_CLS + _plane_cls(mag, c, i, j)) * N_BAND_CLS + bcls) * N_DCLS + _dclass(e, p)


@njit(cache=True, inline="always")
def _plane_cls(mag, c, i, j):
    if c == 0:
        return 0
    return 2 if mag[0, i, j] != 0 else 1


@njit(cache=True, inline="always")
def _sgn(mag, neg, c, i, j):
    if mag[c, i, j] == 0:
        return 0
    return -1 if neg[c, i, j] else 1


@njit(cache=True, inline="always")
def _sign_context(mag, neg, c, i, j, r0, r1, c0, c1, level, orient, levels):
    h = 0
    v = 0
    if j > c0:
        h += _sgn(mag, neg, c, i, j - 1)
    if j + 1 < c1:
        h += _sgn(mag, neg, c, i, j + 1)
    if i > r0:
        v += _sgn(mag, neg, c, i - 1, j)
    if i + 1 < r1:
        v += _sgn(mag, neg, c, i + 1, j)
    h = max(-1, min(1, h))
    v = max(-1, min(1, v))
    ps = 0
    if orient != 0:
        if level < levels:
            ps = _sgn(mag, neg, c, i >> 1, j >> 1)
        else:
            ps = _sgn(mag, neg, c, i - r0, j - c0)
    ls = _sgn(mag, neg, 0, i, j) if c > 0 else 0
    chroma = 1 if c > 0 else 0
    return SGN0 + (((chroma * 4 + orient) * 9 + (h + 1) * 3 + (v + 1)) * 9 + (ps + 1) * 3 + (ls + 1))


@njit(cache=True, inline="always")
def _signed_class(v, t):
    """-2..2: the sign of ``v`` and whether ``|v|`` is below ``3 t`` (weak) or not; 0 below ``t / 2``."""
    a = -v if v < 0 else v
    if 2 * a < t:
        return 0
    k = 1 if a < 3 * t else 2
    return -k if v < 0 else k


@njit(cache=True, inline="always")
def _signed_mag(mag, neg, c, i, j):
    m = np.int64(mag[c, i, j])
    return -m if neg[c, i, j] else m


@njit(cache=True, inline="always")
def _sign_context2(mag, neg, c, i, j, r0, r1, c0, c1, level, orient, levels, p):
    """Sign context with magnitude-weighted neighbour signs: the signed sums of the known magnitudes of the
    horizontal pair and of the vertical pair (5 classes each relative to 2**p: strong/weak negative, none,
    weak/strong positive), the diagonal quadruple's (3 classes) and the parent's sign, x orientation."""
    t = np.int64(1) << p
    h = np.int64(0)
    v = np.int64(0)
    d = np.int64(0)
    if j > c0:
        h += _signed_mag(mag, neg, c, i, j - 1)
    if j + 1 < c1:
        h += _signed_mag(mag, neg, c, i, j + 1)
    if i > r0:
        v += _signed_mag(mag, neg, c, i - 1, j)
        if j > c0:
            d += _signed_mag(mag, neg, c, i - 1, j - 1)
        if j + 1 < c1:
            d += _signed_mag(mag, neg, c, i - 1, j + 1)
    if i + 1 < r1:
        v += _signed_mag(mag, neg, c, i + 1, j)
        if j > c0:
            d += _signed_mag(mag, neg, c, i + 1, j - 1)
        if j + 1 < c1:
            d += _signed_mag(mag, neg, c, i + 1, j + 1)
    hc = _signed_class(h, t) + 2
    vc = _signed_class(v, t) + 2
    dc = _signed_class(d, t)
    dc = 0 if dc == 0 else (1 if dc > 0 else 2)
    ps = 0
    if orient != 0:
        if level < levels:
            ps = _sgn(mag, neg, c, i >> 1, j >> 1)
        else:
            ps = _sgn(mag, neg, c, i - r0, j - c0)
    return SGN2_0 + (((orient * 5 + hc) * 5 + vc) * 3 + dc) * 3 + (ps + 1)


@njit(cache=True, inline="always")
def _sctx(mag, neg, c, i, j, r0, r1, c0, c1, level, orient, levels, p, sgm):
    if sgm == 1 and c == 0:
        return _sign_context2(mag, neg, c, i, j, r0, r1, c0, c1, level, orient, levels, p)
    return _sign_context(mag, neg, c, i, j, r0, r1, c0, c1, level, orient, levels)


@njit(cache=True, inline="always")
def _magnitude(coef, c, i, j):
    x = np.int64(coef[c, i, j])
    return -x if x < 0 else x


@njit(cache=True, inline="always")
def _bits(probs, ctx, bit):
    """Cost in bits of coding ``bit`` in ``ctx`` with the model's present estimate (encoder's RD bookkeeping)."""
    p1 = _p_one(probs, ctx) / 32768.0
    return -np.log2(p1) if bit else -np.log2(1.0 - p1)


@njit(cache=True, inline="always")
def _stretch(p):
    return np.log(p / (1.0 - p))


@njit(cache=True, inline="always")
def _mixed_p1(probs, mixw, ctx, ctxb, mset):
    """Logistic mix of the probabilities of 1 of the two significance models (stretch domain, weights per set)."""
    sa = _stretch(_p_one(probs, ctx) / 32768.0)
    sb = _stretch(_p_one(probs, ctxb) / 32768.0)
    t = mixw[mset, 0] * sa + mixw[mset, 1] * sb
    p1 = 1.0 / (1.0 + np.exp(-t))
    return min(max(p1, 1.0 / 1024), 1.0 - 1.0 / 1024), sa, sb


@njit(cache=True, inline="always")
def _update_model(probs, counts, ctx, bit):
    """The arithmetic coder's own two-speed model update of ``ctx`` (as if ``bit`` had been coded in it)."""
    _, _, pf, ps, cnt = ac_encode_step(np.int64(0), np.int64(MASK32), np.int64(probs[ctx, 0]), np.int64(probs[ctx, 1]),
                                       np.int64(counts[ctx]), bit)
    probs[ctx, 0] = pf
    probs[ctx, 1] = ps
    counts[ctx] = cnt


@njit(cache=True, inline="always")
def _ctx_b(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, p, bcls):
    """Second significance model's context: band class x parent class (0, below 2**(p+2), above) x any child
    significant x significant h/v neighbours (0..3+) x significant coefficients in the 5x5 ring (0, 1-2, 3-5, 6+)."""
    pc = 0
    cc = 0
    if orient != 0:
        if level < levels:
            pm = mag[c, i >> 1, j >> 1]
        else:
            pm = mag[c, i - r0, j - c0]
        if pm != 0:
            pc = 1 if (np.int64(pm) >> (p + 2)) == 0 else 2
        if level > 1:
            i2 = 2 * i
            j2 = 2 * j
            if mag[c, i2, j2] != 0 or mag[c, i2, j2 + 1] != 0 or mag[c, i2 + 1, j2] != 0 or mag[c, i2 + 1, j2 + 1] != 0:
                cc = 1
    hv = 0
    if i > r0 and mag[c, i - 1, j] != 0:
        hv += 1
    if i + 1 < r1 and mag[c, i + 1, j] != 0:
        hv += 1
    if j > c0 and mag[c, i, j - 1] != 0:
        hv += 1
    if j + 1 < c1 and mag[c, i, j + 1] != 0:
        hv += 1
    if hv > 3:
        hv = 3
    ring = 0
    for di in range(-2, 3):
        ii = i + di
        if ii < r0 or ii >= r1:
            continue
        for dj in range(-2, 3):
            if di > -2 and di < 2 and dj > -2 and dj < 2:
                continue
            jj = j + dj
            if jj >= c0 and jj < c1 and mag[c, ii, jj] != 0:
                ring += 1
    rc = 0 if ring == 0 else (1 if ring <= 2 else (2 if ring <= 5 else 3))
    return SIGB0 + (((bcls * 3 + pc) * 2 + cc) * 4 + hv) * 4 + rc


@njit(cache=True)
def _code_significance(decoding, regs, state, buf, probs, counts, stats, coef, mag, low, neg, c, i, j, p, ctx,
                       r0, r1, c0, c1, level, orient, levels, cost, record, mixw, ctxb, mset, lr, sgm):
    """Code the significance of (c, i, j) at plane p in ``ctx`` and, if significant, its sign.
    Returns ``(regs, bit, done)``: bit 1 if it became significant.

    ``cost`` (encoder, when not empty and ``record``): the coded bits of the decision and the sign, less the
    bits a 0 would have cost, for the coefficients that become significant (RD-optimised quantisation).
    ``mixw`` not empty: the decision is coded with the logistic mix of the models ``ctx`` and ``ctxb``
    (weight set ``mset``, learning rate ``lr``), both updated as the coder would."""
    bit = 0
    if not decoding:
        bit = 1 if (_magnitude(coef, c, i, j) >> p) != 0 else 0
    extra = 0.0
    if mixw.shape[0] > 0:
        p1, sa, sb = _mixed_p1(probs, mixw, ctx, ctxb, mset)
        if not decoding and cost.shape[0] > 0 and record and bit == 1:
            extra = -np.log2(p1) + np.log2(1.0 - p1)
        p0 = np.int64(np.rint((1.0 - p1) * 32768.0))
        probs[TMP_CTX, 0] = p0
        probs[TMP_CTX, 1] = p0
        counts[TMP_CTX] = ADAPT_LAST
        bit, regs = code_decision(decoding, True, regs, state, buf, probs, counts, stats, TMP_CTX, bit)
        if bit >= 0:
            if not decoding and stats.shape[0] > 0:
                stats[ctx, bit] += 1
                stats[ctxb, bit] += 1
            _update_model(probs, counts, ctx, bit)
            _update_model(probs, counts, ctxb, bit)
            err = bit - p1
            mixw[mset, 0] += lr * err * sa
            mixw[mset, 1] += lr * err * sb
    else:
        if not decoding and cost.shape[0] > 0 and record and bit == 1:
            extra = _bits(probs, ctx, 1) - _bits(probs, ctx, 0)
        bit, regs = code_decision(decoding, True, regs, state, buf, probs, counts, stats, ctx, bit)
    if bit < 0 or (not decoding and state[STATE_DONE] != 0 and bit == 0):
        return regs, 0, True
    if bit == 1:
        sctx = _sctx(mag, neg, c, i, j, r0, r1, c0, c1, level, orient, levels, p, sgm)
        s = 0
        if not decoding:
            s = 1 if coef[c, i, j] < 0 else 0
            if cost.shape[0] > 0 and record:
                cost[c, i, j] = extra + _bits(probs, sctx, s)
        s, regs = code_decision(decoding, True, regs, state, buf, probs, counts, stats, sctx, s)
        if s < 0:
            return regs, 0, True
        mag[c, i, j] = np.int32(1) << p
        low[c, i, j] = p
        neg[c, i, j] = s
        if not decoding and state[STATE_DONE] != 0:
            return regs, 1, True
    return regs, bit, False


@njit(cache=True, inline="always")
def _p_one(probs, ctx):
    """The model's probability (2**-15 units) that the next bit in ``ctx`` is 1."""
    return 32768 - ((np.int64(probs[ctx, 0]) + probs[ctx, 1]) >> 1)


@njit(cache=True)
def propagation_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, low, neg, seen, bands, wts,
                     levels, p, c, p_min, split, cost, mixw, lr, sgm, open_level=99):
    """EBCOT pass 1 on plane c at bit-plane p: insignificant coefficients with a non-empty context
    (and, with ``p_min`` > 0, a modelled probability of significance of at least ``p_min``/2**15:
    sub-passes in order of expected distortion decrease per bit, as Li & Lei's RDE)."""
    stamp = p + 1
    mixing = mixw.shape[0] > 0
    for b in range(bands.shape[0]):
        r0, r1, c0, c1 = bands[b, R0], bands[b, R1], bands[b, C0], bands[b, C1]
        level, orient, bcls = bands[b, LEVEL], bands[b, ORIENT], bands[b, BCLS]
        for bi in range(r0, r1, 4):
            for bj in range(c0, c1, 4):
                for i in range(bi, min(bi + 4, r1)):
                    for j in range(bj, min(bj + 4, c1)):
                        if mag[c, i, j] != 0 or seen[c, i, j] == stamp:
                            continue
                        e = _energy(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, wts)
                        if e == 0 and level < open_level:
                            continue
                        ctx = _sig_ctx(mag, c, i, j, r0, r1, c0, c1, e, p, bcls, split)
                        ctxb = 0
                        mset = 0
                        if mixing:
                            ctxb = _ctx_b(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, p, bcls)
                            mset = (ctx - SIG0) // N_DCLS
                            if p_min > 0:
                                p1, _, _ = _mixed_p1(probs, mixw, ctx, ctxb, mset)
                                if p1 * 32768.0 < p_min:
                                    continue
                        elif p_min > 0 and _p_one(probs, ctx) < p_min:
                            continue
                        seen[c, i, j] = stamp
                        regs, bit, done = _code_significance(decoding, regs, state, buf, probs, counts, stats, coef,
                                                             mag, low, neg, c, i, j, p, ctx, r0, r1, c0, c1, level,
                                                             orient, levels, cost, True, mixw, ctxb, mset, lr, sgm)
                        if done:
                            return regs, True
    return regs, False


@njit(cache=True)
def refinement_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, low, neg, bands, wts, levels, p, c):
    """EBCOT pass 2: bit p of every coefficient significant at a higher plane."""
    chroma = 1 if c > 0 else 0
    for b in range(bands.shape[0]):
        r0, r1, c0, c1 = bands[b, R0], bands[b, R1], bands[b, C0], bands[b, C1]
        level, orient = bands[b, LEVEL], bands[b, ORIENT]
        for bi in range(r0, r1, 4):
            for bj in range(c0, c1, 4):
                for i in range(bi, min(bi + 4, r1)):
                    for j in range(bj, min(bj + 4, c1)):
                        m = np.int64(mag[c, i, j])
                        if (m >> (p + 1)) == 0:
                            continue
                        first = 1 if (m >> (p + 2)) == 0 else 0
                        e = _energy(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, wts)
                        if e == 0:
                            ecls = 0
                        elif e < m:
                            ecls = 1
                        elif e < 4 * m:
                            ecls = 2
                        elif e < 16 * m:
                            ecls = 3
                        else:
                            ecls = 4
                        ctx = REF0 + (chroma * 2 + first) * 5 + ecls
                        bit = 0
                        if not decoding:
                            bit = (_magnitude(coef, c, i, j) >> p) & 1
                        bit, regs = code_decision(decoding, True, regs, state, buf, probs, counts, stats, ctx, bit)
                        if bit < 0:
                            return regs, True
                        mag[c, i, j] = np.int32(m | (bit << p))
                        low[c, i, j] = p
                        if not decoding and state[STATE_DONE] != 0:
                            return regs, True
    return regs, False


@njit(cache=True)
def cleanup_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, low, neg, seen, bands, wts, levels, p,
                 c, use_runs, split, cost, mixw, lr, sgm):
    """EBCOT pass 3: the remaining insignificant coefficients, by 4x4 blocks, with a run decision for blocks
    whose coefficients all have empty contexts."""
    stamp = p + 1
    recording = not decoding and cost.shape[0] > 0
    mixing = mixw.shape[0] > 0
    for b in range(bands.shape[0]):
        r0, r1, c0, c1 = bands[b, R0], bands[b, R1], bands[b, C0], bands[b, C1]
        level, orient, bcls = bands[b, LEVEL], bands[b, ORIENT], bands[b, BCLS]
        for bi in range(r0, r1, 4):
            for bj in range(c0, c1, 4):
                ie = min(bi + 4, r1)
                je = min(bj + 4, c1)
                empty = use_runs
                if empty:
                    for i in range(bi, ie):
                        for j in range(bj, je):
                            if mag[c, i, j] != 0 or seen[c, i, j] == stamp or \
                                    _energy(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, wts) != 0:
                                empty = False
                                break
                        if not empty:
                            break
                n_left = (ie - bi) * (je - bj)
                blk_bits = 0.0
                n_found = 0
                fi = 0
                fj = 0
                if empty:
                    any_sig = 0
                    if not decoding:
                        for i in range(bi, ie):
                            for j in range(bj, je):
                                if (_magnitude(coef, c, i, j) >> p) != 0:
                                    any_sig = 1
                    ctx = RUN0 + _plane_cls(mag, c, bi, bj) * N_BAND_CLS + bcls
                    if recording and any_sig == 1:
                        blk_bits = _bits(probs, ctx, 1) - _bits(probs, ctx, 0)
                    any_sig, regs = code_decision(decoding, True, regs, state, buf, probs, counts, stats, ctx, any_sig)
                    if any_sig < 0:
                        return regs, True
                    if any_sig == 0:
                        if not decoding and state[STATE_DONE] != 0:
                            return regs, True
                        continue
                found = False
                for i in range(bi, ie):
                    for j in range(bj, je):
                        n_left -= 1
                        if mag[c, i, j] != 0 or seen[c, i, j] == stamp:
                            continue
                        e = _energy(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, wts)
                        ctx = _sig_ctx(mag, c, i, j, r0, r1, c0, c1, e, p, bcls, split)
                        if empty and not found and n_left == 0:
                            # the run decision said one is significant: the last one is, without a decision
                            sctx = _sctx(mag, neg, c, i, j, r0, r1, c0, c1, level, orient, levels, p, sgm)
                            s = 0
                            if not decoding:
                                s = 1 if coef[c, i, j] < 0 else 0
                                if recording:
                                    blk_bits += _bits(probs, sctx, s)
                                    n_found += 1
                                    fi = i
                                    fj = j
                            s, regs = code_decision(decoding, True, regs, state, buf, probs, counts, stats, sctx, s)
                            if s < 0:
                                return regs, True
                            mag[c, i, j] = np.int32(1) << p
                            low[c, i, j] = p
                            neg[c, i, j] = s
                            if not decoding and state[STATE_DONE] != 0:
                                return regs, True
                            continue
                        ctxb = 0
                        mset = 0
                        if mixing:
                            ctxb = _ctx_b(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, p, bcls)
                            mset = (ctx - SIG0) // N_DCLS
                        if recording and empty:
                            # in a run block: the decision's bits (either value), and the sign's, go to the block
                            sb = 1 if (_magnitude(coef, c, i, j) >> p) != 0 else 0
                            if mixing:
                                p1, _, _ = _mixed_p1(probs, mixw, ctx, ctxb, mset)
                                blk_bits += -np.log2(p1) if sb else -np.log2(1.0 - p1)
                            else:
                                blk_bits += _bits(probs, ctx, sb)
                            if sb:
                                sctx = _sctx(mag, neg, c, i, j, r0, r1, c0, c1, level, orient, levels, p, sgm)
                                blk_bits += _bits(probs, sctx, 1 if coef[c, i, j] < 0 else 0)
                                n_found += 1
                                fi = i
                                fj = j
                        regs, bit, done = _code_significance(decoding, regs, state, buf, probs, counts, stats, coef,
                                                             mag, low, neg, c, i, j, p, ctx, r0, r1, c0, c1, level,
                                                             orient, levels, cost, not empty, mixw, ctxb, mset, lr, sgm)
                        if done:
                            return regs, True
                        if bit == 1:
                            found = True
                if recording and empty and n_found == 1:
                    cost[c, fi, fj] = blk_bits
    return regs, False


@njit(cache=True)
def final_codes(mag, low, neg, out):
    """Decoder codes for :func:`wavecodec._kernels.coefficients.expand_codes`: ``(2*known + 2**low)``, signed."""
    nc, hp, wp = mag.shape
    for c in range(nc):
        for i in range(hp):
            for j in range(wp):
                m = np.int64(mag[c, i, j])
                if m == 0:
                    out[c, i, j] = 0
                    continue
                a = 2 * m + (np.int64(1) << low[c, i, j])
                out[c, i, j] = -a if neg[c, i, j] else a


@njit(cache=True)
def optimal_offsets(coef, mag, low):
    """Mean position of the true magnitudes in their final intervals, fresh and refined (as spiht's)."""
    sums = np.zeros(2)
    cnt = np.zeros(2)
    nc, hp, wp = mag.shape
    for c in range(nc):
        for i in range(hp):
            for j in range(wp):
                m = np.int64(mag[c, i, j])
                lo = np.int64(low[c, i, j])
                if m == 0 or lo == 0:
                    continue
                width = np.int64(1) << lo
                x = _magnitude(coef, c, i, j)
                g = 0 if m == width else 1
                sums[g] += ((x & (width - 1)) + 0.5) / width
                cnt[g] += 1
    out = np.full(2, 0.5)
    for g in range(2):
        if cnt[g] > 0:
            out[g] = sums[g] / cnt[g]
    return out


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class Config:
    name: str
    runs: bool = True  # cleanup run decisions on empty 4x4 blocks
    passes: str = "ebcot"  # 'ebcot' (SP, MR, CU) or 'single' (one pass per plane, no propagation ordering)
    sub_passes: tuple = (0.0,)  # significance sub-passes before refinement: P(1) thresholds, descending
    sub_after: tuple = ()  # significance sub-passes after refinement, before cleanup
    priors: bool = False  # context models start at probabilities trained on other Kodak images
    steps: bool = False  # 4 quantiser steps 2**(-k/4) at budgets <= steps_max bpp, best decoded MSE kept
    steps_max: float = B.SEARCH_MAX_BPP
    split: bool = False  # significance contexts split by the count of significant 8-neighbours (0, 1, 2+)
    colour: str = "ict"  # 'ict' (the codec's front end) or 'sklt3' (study_strong_coder's subband KLT, 54 bytes)
    weights: tuple = tuple(map(tuple, DEFAULT_WEIGHTS))
    note: str = ""
    # the gray study's ingredients (results_gray_study.md); the defaults are the configurations above
    wavelet: str = "cdf97"  # front end's wavelet (a stream field already)
    levels_low: tuple = ()  # ((max_bpp, levels), ...): decomposition levels at budgets up to max_bpp
    n_steps: int = B.N_STEPS  # quantiser steps 2**(-k/n_steps), k < n_steps, in the step search
    rdoq: float = 0.0  # RD-optimised zeroing after a first encode, lambda = rdoq * 4**p_stop (encoder only)
    deadzone: float = 0.0  # zero coefficients new at the last plane below (1 + deadzone) * 2**p (encoder only)
    rd_iters: int = 1
    recon: str = "global"  # 'global' (2 offsets) or 'energy' (8 offsets by neighbourhood class, 6 more bytes)
    mix: bool = False  # significance coded with a logistic mix of two context models (_ctx_b)
    mix_lr: float = 0.02
    sign_model: int = 0  # 1: magnitude-weighted neighbour-sign contexts for gray/luma (_sign_context2)
    spin: int = 0  # decoder post-filter: cycle spinning over spin x spin shifts (gray; see cycle_spin)
    spin_alpha: float = 1.0
    spin_project: bool = False
    spin_shrink: str = "hard"  # 'hard' thresholding or 'garrote'
    prior_confidence: int = 12  # symbols the trained priors are worth (PRIOR_CONFIDENCE)
    open_coarse: int = 0  # the sub-passes also take empty-context coefficients of the LL band and the coarsest levels (this many)
    interleave: str = "plane"  # colour: each pass plane by plane ('plane'), or level by level, the planes within ('level')

    @property
    def plain_front_end(self) -> bool:
        return self.wavelet == "cdf97" and not self.levels_low and self.n_steps == B.N_STEPS


CONFIGS = {c.name: c for c in [
    Config("full", note="fractional passes, ECECOW energy contexts, runs"),
    Config("steps", steps=True, note="full + 4-step search at <= 0.3 bpp (decoded MSE)"),
    Config("priors", priors=True, note="full + trained initial probabilities"),
    Config("rde", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,),
           note="significance sub-passes by modelled P(1) >= 0.3, 0.1, 0.02, refinement, the rest"),
    Config("combo", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True,
           note="rde + priors + steps"),
    Config("combo-split", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True,
           note="combo + significance contexts split by significant-neighbour count"),
    Config("combo-sklt3", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True,
           colour="sklt3", note="combo-split + subband KLT colour (study_strong_coder's sklt3, 54 bytes counted)"),
    Config("best", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True,
           steps_max=9.0, note="combo-split with the 4-step search at every rate"),
    Config("best-sklt3", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True,
           steps_max=9.0, colour="sklt3", note="best + subband KLT colour (54 bytes counted)"),
    Config("combo-always", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, steps_max=9.0,
           note="combo with the 4-step search at every rate"),
    Config("rde2", sub_passes=(0.4, 0.2, 0.1, 0.05), sub_after=(0.0,),
           note="sub-passes P(1) >= 0.4, 0.2, 0.1, 0.05, refinement, the rest"),
    Config("no-runs", runs=False, note="without the cleanup run decisions"),
    Config("single", passes="single", note="one pass per plane (significance and refinement in raster order)"),
    Config("flat-weights", weights=((1, 1, 1, 1, 1),) * 4, note="equal weights in the energy"),    # the gray study (results_gray_study.md): ingredients on top of `best`
    Config("best-l7lo", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, levels_low=((0.06, 7),),
           note="best + 7 levels at <= 0.05 bpp"),
    Config("best-l8lo", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, levels_low=((0.06, 8),),
           note="best + 8 levels at <= 0.05 bpp"),
    Config("best-l7", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, levels_low=((9.0, 7),), note="best + 7 levels at every rate"),
    Config("best-s8", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, n_steps=8, note="best + 8-step search 2**(-k/8)"),
    Config("best-dz25", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, deadzone=0.25, note="best + dead zone 2.5 steps at the cut (re-encode)"),
    Config("best-dz50", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, deadzone=0.5, note="best + dead zone 3 steps at the cut (re-encode)"),
    Config("best-rdoq10", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, rdoq=0.1, note="best + RDOQ zeroing, lambda = 0.1 * 4**p (re-encode)"),
    Config("best-rdoq20", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, rdoq=0.2, note="best + RDOQ zeroing, lambda = 0.2 * 4**p (re-encode)"),
    Config("best-rdoq40", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, rdoq=0.4, note="best + RDOQ zeroing, lambda = 0.4 * 4**p (re-encode)"),
    Config("best-recon", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, recon="energy",
           note="best + 8 reconstruction offsets by neighbourhood class (6 bytes more)"),
    Config("best-mix", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, mix=True, note="best + significance by logistic mix of two context models"),
    Config("best-mix05", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, mix=True, mix_lr=0.005, note="best-mix, mixer learning rate 0.005"),
    Config("best-spin4", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, spin=4, spin_alpha=0.3, spin_project=True,
           note="best + decoder post-filter: cycle spinning over 16 shifts, threshold 0.3 * 2**p, projection"),
    Config("best-spin2", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, spin=2, spin_alpha=0.3, spin_project=True,
           note="best-spin4 over 4 shifts"),
    Config("best-sign", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, sign_model=1, note="best + magnitude-weighted sign contexts (900)"),
    Config("best-all", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, mix=True, rdoq=0.2, spin=4, spin_alpha=0.3, spin_project=True,
           note="best + mix + rdoq20 + spin4"),
    Config("best-max", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, mix=True, rdoq=0.2, n_steps=8, spin=8, spin_alpha=0.3, spin_project=True,
           note="best-all + 8-step search + 64-shift post-filter"),
    Config("best-enc", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, mix=True, rdoq=0.2, note="best + mix + rdoq20 (no post-filter)"),
    Config("best-pc32", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, prior_confidence=32, note="best, priors worth 32 symbols (12)"),
    Config("best-pc4", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, prior_confidence=4, note="best, priors worth 4 symbols (12)"),
    # colour: the passes level by level, the three planes within each level (2026-11-27)
    Config("cs-level", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True,
           interleave="level", note="combo-split, each pass run level by level with the planes within each level"),
    # the LL band and the coarsest levels always in the sub-passes (2026-11-27)
    Config("cs-open1", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True,
           open_coarse=1, note="combo-split, the LL band and the coarsest level's empty-context coefficients in the sub-passes"),
    Config("cs-open2", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True,
           open_coarse=2, note="combo-split, the LL band and the two coarsest levels in the sub-passes"),
    # sibling orientations in the energy (a sixth weight column; 2026-11-27)
    Config("cs-sib1", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True,
           weights=tuple(tuple(r) + (1,) for r in DEFAULT_WEIGHTS.tolist()),
           note="combo-split + the co-located coefficients of the two sibling orientations in the energy, weight 1"),
    Config("cs-sib2", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True,
           weights=tuple(tuple(r) + (2,) for r in DEFAULT_WEIGHTS.tolist()),
           note="combo-split + sibling orientations, weight 2"),
    Config("best-b68", sub_passes=(0.3, 0.1, 0.02), sub_after=(0.0,), priors=True, steps=True, split=True, steps_max=9.0, wavelet="bior6.8", note="best with the bior6.8 wavelet"),
]}


PRIORS: dict = {}  # config name -> P(bit = 0) per context, trained on TRAIN_IMAGES
TRAIN_IMAGES = ("kodim02", "kodim04", "kodim08", "kodim12", "kodim17", "kodim21")  # none of the 6 test images
PRIOR_CONFIDENCE = 12


MIXERS: dict = {}  # config name -> initial mixer weights, averaged over TRAIN_IMAGES


def initial_mixer(cfg: Config) -> np.ndarray:
    if not cfg.mix:
        return np.zeros((0, 2))
    if cfg.name in MIXERS:
        return MIXERS[cfg.name].copy()
    return np.tile(np.array([[1.0, 0.0]]), (N_MIX_SETS, 1))


def initial_models(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    if cfg.priors and cfg.name in PRIORS:
        return models_from_priors(PRIORS[cfg.name], cfg.prior_confidence)
    return new_models(N_ALL)


def train_priors(cfg: Config, kodak: Path) -> None:
    """Symbol counts per context over TRAIN_IMAGES (gray and colour, full streams to 1 bpp) -> P(0) priors."""
    total = np.zeros((N_ALL, 2), dtype=np.int64)
    mixers = []
    for name in TRAIN_IMAGES:
        for mode in ("gray", "rgb"):
            img = load(kodak / f"{name}.png", mode)
            pix = img if img.ndim == 3 else img[:, :, None]
            levels = T.default_levels(*pix.shape[:2])
            q, quant = next(B.forward_coefficients(pix, lossless=False, wavelet="cdf97", levels=levels, bit_depth=8))
            stats = np.zeros((N_ALL, 2), dtype=np.int64)
            budget = pix.shape[0] * pix.shape[1] // 8
            mixw = initial_mixer(cfg)

            def run(state, buf):
                return run_coder(False, np.ascontiguousarray(q), levels, quant.n_max, state, buf, cfg, stats,
                                 mixw=mixw)

            B.run_encoder(True, budget, budget + 64, run)
            total += stats
            mixers.append(mixw)
    p0 = (total[:, 0] + 0.4) / (total.sum(axis=1) + 0.8)
    PRIORS[cfg.name] = np.rint(p0 * 32768).astype(np.int32)
    if cfg.mix:
        MIXERS[cfg.name] = np.mean(mixers, axis=0)


def run_coder(decoding: bool, coef: np.ndarray, levels: int, n_max: int, state: np.ndarray, buf: np.ndarray,
              cfg: Config, stats: np.ndarray | None = None, cost: np.ndarray | None = None,
              mixw: np.ndarray | None = None) -> tuple:
    """Run the coder; ``(mag, low, neg, p_stop)``, ``p_stop`` the bit-plane at which it stopped (-1: all coded).

    ``cost`` (encoder): filled with each new significant coefficient's bits (see :func:`_code_significance`).
    ``mixw``: the mixer's weights (updated in place) for the configurations with ``mix``."""
    nc, hp, wp = coef.shape
    bands = band_table(hp, wp, levels)
    wts = np.array(cfg.weights, dtype=np.int64)
    mag = np.zeros(coef.shape, dtype=np.int32)
    low = np.zeros(coef.shape, dtype=np.int8)
    neg = np.zeros(coef.shape, dtype=np.uint8)
    seen = np.zeros(coef.shape, dtype=np.int8)
    probs, counts = initial_models(cfg)
    if stats is None:
        stats = np.zeros((0, 2), dtype=np.int64)
    if cost is None:
        cost = np.zeros((0, 0, 0))
    if mixw is None:
        mixw = initial_mixer(cfg)
    lr = float(cfg.mix_lr)
    sgm = int(cfg.sign_model)
    regs = coder_registers(decoding, state)
    done = False
    p_stop = -1
    open_level = levels - cfg.open_coarse + 1 if cfg.open_coarse > 0 else 99
    if cfg.interleave == "level":  # LL, then each level's three bands, coarse to fine
        groups = [bands[0:1]] + [bands[k:k + 3] for k in range(1, bands.shape[0], 3)]
    else:
        groups = [bands]
    for p in range(n_max, -1, -1):
        p_stop = p
        if cfg.passes == "ebcot":
            for t in cfg.sub_passes:
                for g in groups:
                    for c in range(nc):
                        regs, done = propagation_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag,
                                                      low, neg, seen, g, wts, levels, p, c, int(t * 32768),
                                                      cfg.split, cost, mixw, lr, sgm, open_level)
                        if done:
                            break
                    if done:
                        break
                if done:
                    break
            if done:
                break
        for g in groups:
            for c in range(nc):
                regs, done = refinement_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, low, neg,
                                             g, wts, levels, p, c)
                if done:
                    break
            if done:
                break
        if done:
            break
        for t in cfg.sub_after:
            for g in groups:
                for c in range(nc):
                    regs, done = propagation_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, low,
                                                  neg, seen, g, wts, levels, p, c, int(t * 32768), cfg.split,
                                                  cost, mixw, lr, sgm, open_level)
                    if done:
                        break
                if done:
                    break
            if done:
                break
        if done:
            break
        for g in groups:
            for c in range(nc):
                regs, done = cleanup_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, low, neg,
                                          seen, g, wts, levels, p, c, cfg.runs, cfg.split, cost, mixw, lr, sgm)
                if done:
                    break
            if done:
                break
        if done:
            break
    if not done:
        p_stop = -1
    save_registers(decoding, state, regs)
    return mag, low, neg, p_stop


@njit(cache=True)
def rd_zero(q, orig, mag, low, cost, p_stop, off_fresh, off_refined, kappa, deadzone):
    """Encoder-only quantisation choice after a first encode that stopped at plane ``p_stop``.

    * ``kappa`` > 0 (RDOQ): zero every coefficient that became significant when the rate it cost (its
      significance decision and sign less a 0's bits, from ``cost``, plus one bit per refinement) buys less
      distortion decrease than ``lambda = kappa * 4**p_stop`` per bit (lambda: the slope of the operational
      RD curve at the cut, ``2 ln2 Delta**2 / 12 = 0.1155 Delta**2`` for a uniform quantiser at high rate);
    * ``deadzone`` > 0: zero the coefficients new at the last plane with magnitude below
      ``(1 + deadzone) * 2**p_stop`` (a dead zone ``2 (1 + deadzone)`` steps wide at the cut instead of 2).

    Returns the number of coefficients zeroed."""
    nc, hp, wp = q.shape
    lam = kappa * float(np.int64(1) << (2 * p_stop))
    n = 0
    for c in range(nc):
        for i in range(hp):
            for j in range(wp):
                m = np.int64(mag[c, i, j])
                if m == 0:
                    continue
                lo = np.int64(low[c, i, j])
                width = np.int64(1) << lo
                x = float(abs(np.int64(orig[c, i, j])))
                fresh = m == width
                if deadzone > 0 and fresh and lo == p_stop and x < (1.0 + deadzone) * width:
                    q[c, i, j] = 0
                    n += 1
                    continue
                if kappa > 0 and cost[c, i, j] > 0:
                    top = 0
                    t = m
                    while t > 1:
                        t >>= 1
                        top += 1
                    r = cost[c, i, j] + (top - lo)
                    xhat = m + (off_fresh if fresh else off_refined) * width
                    dd = x * x - (x - xhat) * (x - xhat)
                    if dd < lam * r:
                        q[c, i, j] = 0
                        n += 1
    return n


@njit(cache=True)
def recon_class_map(mag, low, bands, wts, levels):
    """Reconstruction class of every coefficient known to an interval wider than 1 (else -1): fresh or
    refined x the final neighbourhood energy against its own magnitude (0, < m, < 4m, more)."""
    cls = np.full(mag.shape, -1, dtype=np.int8)
    nc = mag.shape[0]
    for c in range(nc):
        for b in range(bands.shape[0]):
            r0, r1, c0, c1 = bands[b, R0], bands[b, R1], bands[b, C0], bands[b, C1]
            level, orient = bands[b, LEVEL], bands[b, ORIENT]
            for i in range(r0, r1):
                for j in range(c0, c1):
                    m = np.int64(mag[c, i, j])
                    lo = np.int64(low[c, i, j])
                    if m == 0 or lo == 0:
                        continue
                    e = _energy(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, wts)
                    k = 0 if e == 0 else (1 if e < m else (2 if e < 4 * m else 3))
                    g = 0 if m == (np.int64(1) << lo) else 1
                    cls[c, i, j] = g * 4 + k
    return cls


@njit(cache=True)
def class_offsets(coef, mag, low, cls, n_cls):
    """Mean position of the true magnitudes in their final intervals per reconstruction class."""
    sums = np.zeros(n_cls)
    cnt = np.zeros(n_cls)
    nc, hp, wp = mag.shape
    for c in range(nc):
        for i in range(hp):
            for j in range(wp):
                k = cls[c, i, j]
                if k < 0:
                    continue
                width = np.int64(1) << np.int64(low[c, i, j])
                x = _magnitude(coef, c, i, j)
                sums[k] += ((x & (width - 1)) + 0.5) / width
                cnt[k] += 1
    out = np.full(n_cls, 0.5)
    for k in range(n_cls):
        if cnt[k] > 0:
            out[k] = sums[k] / cnt[k]
    return out


N_RECON_CLS = 8


def encode(coef: np.ndarray, levels: int, n_max: int, budget: int, cfg: Config) -> tuple[bytes, tuple]:
    """The payload at ``budget`` bytes and the reconstruction offsets (bytes of 1/256).

    With ``rdoq``/``deadzone``: encode, choose which coefficients to zero (:func:`rd_zero`), encode again
    (``rd_iters`` times); the decoder is unchanged.  With ``recon='energy'``: one offset per class of
    :func:`recon_class_map` (the caller takes the extra bytes out of the budget)."""
    record = cfg.rdoq > 0

    def run_with(q, cost):
        def run(state, buf):
            return run_coder(False, q, levels, n_max, state, buf, cfg, cost=cost)
        return B.run_encoder(True, budget, budget + 64, run)

    cost = np.zeros(coef.shape) if record else None
    payload, (mag, low, neg, p_stop) = run_with(coef, cost)
    if (cfg.rdoq > 0 or cfg.deadzone > 0) and p_stop >= 0:
        q = coef.copy()
        for _ in range(cfg.rd_iters):
            off = optimal_offsets(coef, mag, low)
            rd_zero(q, coef, mag, low, cost if record else np.zeros((1, 1, 1)), p_stop, off[0], off[1],
                    float(cfg.rdoq), float(cfg.deadzone))
            cost = np.zeros(coef.shape) if record else None
            payload, (mag, low, neg, p_stop) = run_with(q, cost)
            if p_stop < 0:
                break
    if cfg.recon == "energy":
        bands = band_table(coef.shape[1], coef.shape[2], levels)
        cls = recon_class_map(mag, low, bands, np.array(cfg.weights, dtype=np.int64), levels)
        offs = class_offsets(coef, mag, low, cls, N_RECON_CLS)
    else:
        offs = optimal_offsets(coef, mag, low)
    recon = tuple(int(np.clip(np.rint(o * 256), 1, 255)) for o in offs)
    return payload, recon


def decode(payload: bytes, shape: tuple, levels: int, n_max: int, cfg: Config) -> tuple:
    """Decoder codes (see :func:`final_codes`), the decoded ``(mag, low)`` and the plane where decoding stopped."""
    data, state = B.start_decoder(payload, True)
    dummy = np.zeros(shape, dtype=np.int32)
    mag, low, neg, p_stop = run_coder(True, dummy, levels, n_max, state, data, cfg)
    codes = np.zeros(shape, dtype=np.int32)
    final_codes(mag, low, neg, codes)
    return codes, mag, low, p_stop


def apply_class_offsets(coeffs: np.ndarray, mag: np.ndarray, low: np.ndarray, neg: np.ndarray, recon: tuple,
                        levels: int, cfg: Config, weights, plane_weight, frac_bits: int) -> None:
    """Move the values :func:`B.expand` gave (offset 0.5) to their class offsets ``recon`` (in place)."""
    bands = band_table(mag.shape[1], mag.shape[2], levels)
    cls = recon_class_map(mag, low, bands, np.array(cfg.weights, dtype=np.int64), levels)
    off = (np.array(recon, dtype=np.float64) / 256.0 - 0.5)
    sel = cls >= 0
    width = np.ldexp(1.0, low.astype(np.int64))
    w = weights.table[weights.rowlev[:, None], weights.collev[None, :]][None] * plane_weight[:, None, None]
    delta = np.where(sel, off[np.maximum(cls, 0)] * width, 0.0) / (1 << frac_bits) / w
    coeffs += np.where(neg != 0, -delta, delta)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def load(path: Path, mode: str) -> np.ndarray:
    im = Image.open(path)
    if mode == "gray":
        return np.asarray(im.convert("L"))
    return np.asarray(im.convert("RGB"))


def front_end_candidates(pix: np.ndarray, cfg: Config, levels: int) -> list:
    """``(q, quant)`` per quantiser step of the configuration's search: the bit-plane front end
    (``B.forward_coefficients``) for the codec's wavelet and steps, else the same weighted coefficients
    (``B._weighted_coefficients``, ``B._quantise``) with ``cfg.wavelet`` and steps ``2**(-k/cfg.n_steps)``."""
    n = cfg.n_steps if cfg.steps else 1
    if cfg.plain_front_end and levels == T.default_levels(*pix.shape[:2]):
        steps = tuple(range(B.N_STEPS)) if cfg.steps else (0,)
        return [(np.ascontiguousarray(q).copy(), SimpleNamespace(**vars(quant), scale=B.step_scale(quant.step)))
                for q, quant in B.forward_coefficients(pix, lossless=False, wavelet="cdf97", levels=levels,
                                                       bit_depth=8, steps=steps)]
    h, w, c = pix.shape
    base, offsets, colour, _ = B._weighted_coefficients(pix, wavelet=cfg.wavelet, levels=levels)
    frac = B.frac_bits_for(8, levels)
    hp, wp = T.padded_shape(h, w, levels)
    out = []
    for k in range(n):
        scale = 2.0 ** (-k / cfg.n_steps)
        q = np.empty((c, hp, wp), dtype=np.int32)
        top, _ = B._quantise(base, scale * (1 << frac), q.reshape(-1))
        out.append((q, SimpleNamespace(colour=colour, frac_bits=frac, n_max=top.bit_length() - 1, offsets=offsets,
                                       step=round(4.0 * k / cfg.n_steps, 3), scale=scale)))
    return out


def cycle_spin(img: np.ndarray, mean: float, mag: np.ndarray, low: np.ndarray, p_stop: int, levels: int, wavelet: str,
               scale: float, frac_bits: int, shifts: int, alpha: float, project: bool,
               shrink: str = "hard") -> np.ndarray:
    """Decoder-only post-filter for gray images (no stream change): translation-invariant hard thresholding
    of the decoded image (R. R. Coifman, D. L. Donoho, "Translation-invariant de-noising", 1995; as a
    post-processor of compressed images, A. Nosratinia, "Enhancement of JPEG-compressed images by
    re-application of JPEG", J. VLSI Signal Process. 27:69-79, 2001), then, with ``project``, a projection
    onto the quantisation cells the stream decoded (consistent reconstruction: every coefficient of the
    result back inside the interval the decoder knows it lies in).

    ``img``: float64 (H, W) decoded image; ``mean``: the plane mean the front end removed.  For each of ``shifts**2`` shifts (dy, dx) the image is shifted
    (symmetric extension at the top-left), transformed with the stream's wavelet and levels, every detail
    coefficient whose magnitude in the coder's integer units is below ``alpha * 2**p_stop`` set to zero,
    transformed back and shifted back; the estimates are averaged per pixel."""
    h, w = img.shape
    hp, wp = T.padded_shape(h, w, levels)
    rowlev, collev = B.level_maps(hp, wp, levels)
    table = T.synthesis_weight_table(wavelet, levels)
    unit = table[rowlev[:, None], collev[None, :]] * scale * (1 << frac_bits)  # X * unit = coder's integer units
    thr = alpha * float(1 << max(p_stop, 0))
    ll = np.zeros((hp, wp), dtype=bool)
    ll[: hp >> levels, : wp >> levels] = True
    acc = np.zeros((h, w))
    cnt = np.zeros((h, w))
    for dy in range(shifts):
        for dx in range(shifts):
            x = np.pad(img, ((dy, 0), (dx, 0)), mode="symmetric")[:h, :w] - mean
            X = T.forward(x, wavelet=wavelet, levels=levels)
            a = np.abs(X) * unit
            if shrink == "hard":
                X[(a < thr) & ~ll] = 0.0
            else:  # non-negative garrote: x (1 - thr**2 / x**2) above the threshold (H.-Y. Gao, 1998)
                g = np.where(a > thr, 1.0 - thr * thr / np.maximum(a * a, 1e-300), 0.0)
                X = np.where(ll, X, X * g)
            y = T.inverse(X, shape=(h, w), wavelet=wavelet, levels=levels) + mean
            acc[: h - dy, : w - dx] += y[dy:, dx:]
            cnt[: h - dy, : w - dx] += 1
    out = acc / cnt
    if project:
        X = T.forward(out - mean, wavelet=wavelet, levels=levels)
        v = X * unit
        m = mag[0].astype(np.float64)
        width = np.ldexp(1.0, low[0].astype(np.int64))
        sig = m > 0
        bound = float(1 << (max(p_stop, 0) + 1))
        a = np.abs(v)
        s = np.sign(v)
        # significant: |v| in [m, m + 2**low], sign as decoded (the decoded value's sign: that of img's coefficient)
        vd = T.forward(img - mean, wavelet=wavelet, levels=levels) * unit
        sd = np.where(vd < 0, -1.0, 1.0)
        v = np.where(sig, sd * np.clip(np.where(s == sd, a, 0.0), m, m + width), np.clip(v, -bound, bound))
        out = T.inverse(v / unit, shape=(h, w), wavelet=wavelet, levels=levels) + mean
    return out


def study_curve(img: np.ndarray, budgets: list[int], rates, cfg: Config) -> list[dict]:
    """The study coder at each payload budget: bytes, decoded PSNR (the best quantiser step with ``cfg.steps``)."""
    pix = img if img.ndim == 3 else img[:, :, None]
    h, w, c = pix.shape
    header = SimpleNamespace(height=h, width=w, channels=c, bit_depth=8, lossless=False, dtype=np.dtype(np.uint8))
    if c == 3 and cfg.colour == "sklt3":
        return sklt_curve(pix, budgets, rates, cfg)
    cache = {}
    side = N_RECON_CLS - 2 if cfg.recon == "energy" else 0  # offset bytes beyond the stream's two
    rows = []
    for budget, bpp in zip(budgets, rates):
        levels = T.default_levels(h, w)
        for max_bpp, lv in cfg.levels_low:
            if bpp <= max_bpp:
                levels = lv
                break
        if levels not in cache:
            cache[levels] = front_end_candidates(pix, cfg, levels)
        cands = cache[levels]
        best = None
        for q, quant in cands[: (len(cands) if bpp <= cfg.steps_max else 1)]:
            plan = SimpleNamespace(wavelet=cfg.wavelet, levels=levels, offsets=quant.offsets, colour=quant.colour,
                                   step=quant.step)
            hp, wp = q.shape[1:]
            weights = B.CoefficientWeights.for_stream(plan, header, hp, wp)
            plane_weight = B.chroma_weights(quant.colour)[:c] * quant.scale
            payload, recon = encode(q, levels, quant.n_max, budget - side, cfg)
            codes, mag, low, p_stop = decode(payload, q.shape, levels, quant.n_max, cfg)
            neg = (codes < 0).astype(np.uint8)
            values, buf = B.coefficient_buffer(q.shape)
            buf[...] = codes
            coeffs = B.expand(values, buf, integer=False, frac_bits=quant.frac_bits,
                              recon=recon if cfg.recon == "global" else (128, 128), weights=weights,
                              plane_weight=plane_weight)
            if cfg.recon != "global":
                apply_class_offsets(coeffs, mag, low, neg, recon, levels, cfg, weights, plane_weight,
                                    quant.frac_bits)
            if cfg.spin and c == 1:
                img_f = B.inverse_coefficients(coeffs, plan, header, rounded=False)[:, :, 0]
                post = cycle_spin(img_f, quant.offsets[0], mag, low, p_stop, levels, cfg.wavelet, quant.scale,
                                  quant.frac_bits, cfg.spin, cfg.spin_alpha, cfg.spin_project, cfg.spin_shrink)
                out = np.clip(np.rint(post), 0, 255).astype(np.uint8)[:, :, None]
            else:
                out = B.inverse_coefficients(coeffs, plan, header)
            n_bytes = len(payload) + side
            row = {"bytes": n_bytes, "bpp": 8.0 * n_bytes / (h * w), "psnr": psnr(pix, out),
                   "step": quant.step, "levels": levels}
            if best is None or row["psnr"] > best["psnr"]:
                best = row
        rows.append(best)
    return rows


def sklt_curve(pix: np.ndarray, budgets: list[int], rates, cfg: Config) -> list[dict]:
    """Colour through the subband KLT of ``study_strong_coder`` (one 3x3 KLT per group of levels after the
    wavelet transform, 3 groups, 18 bytes each taken out of the budget), coded by the study coder."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import study_strong_coder as ssc

    h, w, c = pix.shape
    levels = T.default_levels(h, w)
    fe = ssc.front_end(pix, "sklt3", levels, "cdf97")
    frac = B.frac_bits_for(8, levels)
    hp, wp = fe.x.shape[1:]
    rowlev, collev = B.level_maps(hp, wp, levels)
    weights = B.CoefficientWeights(fe.table, rowlev, collev)
    rows = []
    for budget, bpp in zip(budgets, rates):
        best = None
        for step in (range(B.N_STEPS) if cfg.steps and bpp <= cfg.steps_max else (0,)):
            scale = B.step_scale(step) * (1 << frac)
            q = np.ascontiguousarray(np.trunc(fe.x * scale).astype(np.int32))
            n_max = int(np.abs(q).max()).bit_length() - 1
            payload, recon = encode(q, levels, n_max, budget - fe.side_bytes, cfg)
            codes, _, _, _ = decode(payload, q.shape, levels, n_max, cfg)
            values, buf = B.coefficient_buffer(q.shape)
            buf[...] = codes
            coeffs = B.expand(values, buf, integer=False, frac_bits=frac, recon=recon, weights=weights,
                              plane_weight=fe.plane_w * B.step_scale(step))
            for g, inv in fe.group_inv.items():
                mask = fe.group_map == g
                coeffs[:, mask] = inv @ coeffs[:, mask]
            planes = np.stack([T.inverse(coeffs[k], shape=(h, w), wavelet="cdf97", levels=levels) + fe.means[k]
                               for k in range(c)])
            out = np.clip(np.rint(planes.transpose(1, 2, 0)), 0, 255).astype(np.uint8)
            n = len(payload) + fe.side_bytes
            row = {"bytes": n, "bpp": 8.0 * n / (h * w), "psnr": psnr(pix, out), "step": step}
            if best is None or row["psnr"] > best["psnr"]:
                best = row
        rows.append(best)
    return rows


def spiht_curve(img: np.ndarray, rates, codec: str = "spiht") -> list[dict]:
    """A registered codec through the public API at each rate: payload bpp, PSNR.  ``codec`` may carry
    options after '+': 'ecbp+step_search=always'."""
    h, w = img.shape[:2]
    codec, *opts = codec.split("+")
    options = dict(o.split("=", 1) for o in opts)
    rows = []
    for bpp in rates:
        stream = wavecodec.encode(img, codec, bpp=bpp, **options)
        n = wavecodec.info(stream).payload_size
        rows.append({"target": bpp, "bytes": n, "bpp": 8.0 * n / (h * w), "psnr": psnr(img, wavecodec.decode(stream))})
    return rows


def bd_lines(results: dict, mode: str, names: list[str], images: list[str], reference: str = "") -> list[str]:
    """Markdown table of the mean curves and the BD figures against spiht (and, with ``reference`` present in
    the results for every image, e.g. ``codec:jpeg2000``, the BD-rate and BD-PSNR against it)."""
    rates = RATES_RGB if mode == "rgb" else RATES_GRAY
    base = results[mode]["spiht"]
    ref = results[mode].get(reference, {}) if reference else {}
    with_ref = bool(ref) and all(i in ref for i in images)
    lines = [f"### {mode} ({len(images)} images: {', '.join(images)})", "",
             "| coder | " + " | ".join(f"{r:g}" for r in rates)
             + " | BD-PSNR vs spiht (mean curve, 0.1-1 bpp) | BD-rate vs spiht | mean per-image BD-PSNR"
             + (f" | BD-rate vs {reference} | BD-PSNR vs {reference}" if with_ref else "") + " | note |",
             "|---|" + "---:|" * (len(rates) + 3 + (2 if with_ref else 0)) + "---|"]

    def curve(per, only_bd):
        keep = [k for k, r in enumerate(rates) if r >= 0.1 or not only_bd]
        bpp = np.mean([[per[i][k]["bpp"] for k in keep] for i in images], axis=0)
        ps = np.mean([[per[i][k]["psnr"] for k in keep] for i in images], axis=0)
        return bpp, ps

    def pts(rows):
        rows = [r for r, t in zip(rows, rates) if t >= 0.1]
        return [r["bpp"] for r in rows], [r["psnr"] for r in rows]

    bb, bp = curve(base, True)
    for name in ["spiht"] + names:
        per = results[mode].get(name, {})
        if not all(i in per for i in images):
            continue
        cb, cp = curve(per, True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d, r = bd_psnr(bb, bp, cb, cp), bd_rate(bb, bp, cb, cp)
            per_img = np.mean([bd_psnr(*pts(base[i]), *pts(per[i])) for i in images])
        if with_ref:
            rb, rp = curve(ref, True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref_cells = f" | {bd_rate(rb, rp, cb, cp):+.2f}% | {bd_psnr(rb, rp, cb, cp):+.3f} dB"
        else:
            ref_cells = ""
        cells = " | ".join(f"{p:.2f}" for p in curve(per, False)[1])
        note = (CONFIGS[name].note if name in CONFIGS else f"`{name[6:]}` through the public API" + ("" if "+" in name else ", default options")
                if name.startswith("codec:") else "today's spiht (ac), public API, default options")
        lines.append(f"| `{name}` | {cells} | {d:+.3f} dB | {r:+.2f}% | {per_img:+.3f} dB{ref_cells} | {note} |")
    return lines


def breakdown(img: np.ndarray, bpp: float, cfg: Config) -> dict:
    """Where the bits go at ``bpp``: the static empirical entropy of each decision kind (bits), from the
    encoder's symbol counts per context (an estimate of the adaptive coder's cost)."""
    pix = img if img.ndim == 3 else img[:, :, None]
    levels = T.default_levels(*pix.shape[:2])
    q, quant = next(B.forward_coefficients(pix, lossless=False, wavelet="cdf97", levels=levels, bit_depth=8))
    stats = np.zeros((N_ALL, 2), dtype=np.int64)
    budget = int(bpp * pix.shape[0] * pix.shape[1] / 8)

    def run(state, buf):
        return run_coder(False, np.ascontiguousarray(q), levels, quant.n_max, state, buf, cfg, stats)

    payload, _ = B.run_encoder(True, budget, budget + 64, run)
    n = stats.sum(axis=1).astype(float)
    p1 = np.where(n > 0, stats[:, 1] / np.maximum(n, 1), 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(p1 > 0, p1 * np.log2(p1), 0) + np.where(p1 < 1, (1 - p1) * np.log2(1 - p1), 0))
    bits = n * h
    parts = {"significance": (SIG0, RUN0), "run": (RUN0, REF0), "refinement": (REF0, SGN0),
             "sign": (SGN0, N_CONTEXTS), "sign (sign_model=1)": (SGN2_0, N_ALL),
             "significance (mix=True, as coded)": (TMP_CTX, TMP_CTX + 1)}
    out = {"payload_bits": 8 * len(payload)}
    for k, (a, b) in parts.items():
        out[k] = {"symbols": int(n[a:b].sum()), "bits": float(bits[a:b].sum())}
    return out


def low_rate_table(files: list[Path], results: dict) -> None:
    """Levels and wavelet at 0.02 and 0.05 bpp (the gray study): ``best`` with 5, 6 (default), 7 and 8
    levels, and with bior6.8 and 7 levels, at spiht's payload bytes (from the results file); mean PSNR,
    and the mean of each image's best choice."""
    base = CONFIGS["best"]
    train_priors(base, files[0].parent)
    variants = {f"{lv} levels": replace(base, levels_low=((9.0, lv),)) for lv in (5, 6, 7, 8)}
    variants["bior6.8, 7 levels"] = replace(base, wavelet="bior6.8", levels_low=((9.0, 7),))
    out: dict = {}
    for f in files:
        img = load(f, "gray")
        budgets = [r["bytes"] for r in results["gray"]["spiht"][f.stem][:2]]
        for name, cfg in variants.items():
            out.setdefault(name, {})[f.stem] = [r["psnr"] for r in study_curve(img, budgets, RATES_GRAY[:2], cfg)]
    for name, per in out.items():
        print(f"{name}: " + " / ".join(f"{v:.3f}" for v in np.mean(list(per.values()), axis=0)) + " dB")
    for keys in (["5 levels", "6 levels", "7 levels", "8 levels"], list(out)):
        best = np.mean([[max(out[k][f.stem][r] for k in keys) for r in range(2)] for f in files], axis=0)
        print(f"per-image best of {', '.join(keys)}: " + " / ".join(f"{v:.3f}" for v in best) + " dB")


def spin_tuning(kodak: Path) -> None:
    """The post-filter's settings on two *training* images (kodim02, kodim12; never the test images):
    ``best`` without priors, one quantiser step, spiht's bytes at 0.02, 0.05, 0.25 and 1 bpp; the PSNR
    change of each (shifts, threshold factor, projection)."""
    cfg = CONFIGS["best"]
    settings = [(4, 0.2, True), (4, 0.3, True), (4, 0.3, False), (4, 0.4, True), (4, 0.5, True), (3, 0.3, True),
                (2, 0.3, True), (8, 0.3, True)]
    for stem in ("kodim02", "kodim12"):
        img = load(kodak / f"{stem}.png", "gray")
        h, w = img.shape
        levels = T.default_levels(h, w)
        header = SimpleNamespace(height=h, width=w, channels=1, bit_depth=8, lossless=False,
                                 dtype=np.dtype(np.uint8))
        q, quant = front_end_candidates(img[:, :, None], replace(cfg, steps=False), levels)[0]
        plan = SimpleNamespace(wavelet="cdf97", levels=levels, offsets=quant.offsets, colour=quant.colour, step=0)
        weights = B.CoefficientWeights.for_stream(plan, header, *q.shape[1:])
        for bpp in (0.02, 0.05, 0.25, 1.0):
            budget = wavecodec.info(wavecodec.encode(img, "spiht", bpp=bpp)).payload_size
            payload, recon = encode(q, levels, quant.n_max, budget, cfg)
            codes, mag, low, p_stop = decode(payload, q.shape, levels, quant.n_max, cfg)
            values, buf = B.coefficient_buffer(q.shape)
            buf[...] = codes
            coeffs = B.expand(values, buf, integer=False, frac_bits=quant.frac_bits, recon=recon, weights=weights,
                              plane_weight=np.array([1.0]))
            decoded = B.inverse_coefficients(coeffs, plan, header, rounded=False)[:, :, 0]
            base = psnr(img, np.clip(np.rint(decoded), 0, 255))
            line = [f"{stem} {bpp} bpp: {base:.3f} dB"]
            for shifts, alpha, project in settings:
                out = cycle_spin(decoded, quant.offsets[0], mag, low, p_stop, levels, "cdf97", 1.0, quant.frac_bits,
                                 shifts, alpha, project)
                gain = psnr(img, np.clip(np.rint(out), 0, 255)) - base
                line.append(f"{shifts}x{shifts} {alpha}{' proj' if project else ''} {gain:+.3f}")
            print("; ".join(line), flush=True)


def cost_table(kodak: Path, names: list[str]) -> None:
    """Encode and decode seconds of the study coder per configuration (kodim01 gray, step 0, median of 3;
    the post-filter counted in the decode; the step search's candidates multiply the encode)."""
    img = load(kodak / "kodim01.png", "gray")
    pix = img[:, :, None]
    h, w = img.shape
    header = SimpleNamespace(height=h, width=w, channels=1, bit_depth=8, lossless=False, dtype=np.dtype(np.uint8))
    for name in names:
        cfg = CONFIGS[name]
        levels = T.default_levels(h, w)
        q, quant = front_end_candidates(pix, replace(cfg, steps=False), levels)[0]
        plan = SimpleNamespace(wavelet=cfg.wavelet, levels=levels, offsets=quant.offsets, colour=quant.colour,
                               step=quant.step)
        weights = B.CoefficientWeights.for_stream(plan, header, *q.shape[1:])
        line = []
        for bpp in (0.25, 1.0):
            budget = int(bpp * h * w / 8)
            enc, dec = [], []
            for rep in range(4):
                t0 = time.perf_counter()
                payload, recon = encode(q, levels, quant.n_max, budget, cfg)
                t1 = time.perf_counter()
                codes, mag, low, p_stop = decode(payload, q.shape, levels, quant.n_max, cfg)
                values, buf = B.coefficient_buffer(q.shape)
                buf[...] = codes
                coeffs = B.expand(values, buf, integer=False, frac_bits=quant.frac_bits,
                                  recon=recon if cfg.recon == "global" else (128, 128), weights=weights,
                                  plane_weight=np.array([quant.scale]))
                img_f = B.inverse_coefficients(coeffs, plan, header, rounded=False)[:, :, 0]
                if cfg.spin:
                    cycle_spin(img_f, quant.offsets[0], mag, low, p_stop, levels, cfg.wavelet, quant.scale,
                               quant.frac_bits, cfg.spin, cfg.spin_alpha, cfg.spin_project, cfg.spin_shrink)
                t2 = time.perf_counter()
                if rep:  # the first run compiles
                    enc.append(t1 - t0)
                    dec.append(t2 - t1)
            line.append(f"{bpp} bpp: encode {np.median(enc):.3f} s, decode {np.median(dec):.3f} s")
        print(f"{name}: " + "; ".join(line), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kodak", type=Path)
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--mode", choices=("rgb", "gray", "both"), default="both")
    ap.add_argument("--configs", default="full")
    ap.add_argument("--out", type=Path, default=Path("/tmp/study_context_coder.json"))
    ap.add_argument("--reference", default="codec:jpeg2000",
                    help="a codec:NAME already in the results file: BD-rate and BD-PSNR against it too")
    ap.add_argument("--breakdown", type=float, default=None,
                    help="only print where the bits go at this rate (first config, first image, each mode)")
    ap.add_argument("--timing", action="store_true",
                    help="only time encode and decode of spiht and ecbp on kodim01 at 1 and 0.25 bpp (median of 5;"
                         " run under flock /tmp/measuring.lock)")
    ap.add_argument("--spin-tuning", action="store_true",
                    help="only compare post-filter settings on two training images (gray)")
    ap.add_argument("--low-rate", action="store_true",
                    help="only compare levels and wavelets at 0.02 and 0.05 bpp (gray; spiht's bytes from --out)")
    ap.add_argument("--only", default="", help="comma-separated image stems: only these of the selected images")
    ap.add_argument("--cost", action="store_true",
                    help="only time the study coder's encode and decode (with any post-filter) of each config on"
                         " kodim01 gray at 0.25 and 1 bpp, one quantiser step, median of 3 (run under flock"
                         " /tmp/measuring.lock)")
    args = ap.parse_args()
    files = sorted(args.kodak.glob("kodim*.png"))
    if args.spin_tuning:
        spin_tuning(args.kodak)
        return
    if args.cost:
        cost_table(args.kodak, [n for n in args.configs.split(",") if n])
        return
    if args.timing:
        for mode in ("rgb", "gray"):
            img = load(args.kodak / "kodim01.png", mode)
            for bpp in (1.0, 0.25):
                line = []
                for codec in ("spiht", "ecbp"):
                    wavecodec.decode(wavecodec.encode(img, codec, bpp=bpp))  # compile
                    enc, dec = [], []
                    for _ in range(5):
                        t0 = time.perf_counter()
                        stream = wavecodec.encode(img, codec, bpp=bpp)
                        t1 = time.perf_counter()
                        wavecodec.decode(stream)
                        t2 = time.perf_counter()
                        enc.append(t1 - t0)
                        dec.append(t2 - t1)
                    line.append(f"{codec} encode {np.median(enc):.3f} s, decode {np.median(dec):.3f} s")
                print(f"{mode} kodim01 {bpp} bpp: " + "; ".join(line))
        return
    if args.breakdown is not None:
        cfg = CONFIGS[args.configs.split(",")[0]]
        if cfg.priors:
            train_priors(cfg, args.kodak)
        for mode in ("rgb", "gray") if args.mode == "both" else (args.mode,):
            for f in files[: args.images]:
                b = breakdown(load(f, mode), args.breakdown, cfg)
                total = sum(v["bits"] for k, v in b.items() if k != "payload_bits")
                print(f"{mode} {f.stem} {args.breakdown} bpp, {cfg.name}: payload {b['payload_bits']} bits; "
                      + "; ".join(f"{k} {v['symbols']} symbols, {v['bits']:.0f} bits ({100 * v['bits'] / total:.0f}%)"
                                  for k, v in b.items() if k != "payload_bits"))
        return
    if args.images < len(files):  # spread over the set (6: kodim01, 06, 10, 15, 19, 24)
        idx = np.linspace(0, len(files) - 1, args.images).round().astype(int)
        files = [files[i] for i in idx]
    if args.low_rate:
        low_rate_table(files, json.loads(args.out.read_text()))
        return
    if args.only:  # a subset of the selected images (to split a run over processes; merge the results files)
        files = [f for f in files if f.stem in args.only.split(",")]
    names = [n for n in args.configs.split(",") if n]
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    modes = ("rgb", "gray") if args.mode == "both" else (args.mode,)
    for mode in modes:
        rates = RATES_RGB if mode == "rgb" else RATES_GRAY
        res = results.setdefault(mode, {})
        for f in files:
            img = load(f, mode)
            if f.stem not in res.setdefault("spiht", {}):
                t0 = time.perf_counter()
                res["spiht"][f.stem] = spiht_curve(img, rates)
                print(f"{mode} {f.stem} spiht: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            budgets = [r["bytes"] for r in res["spiht"][f.stem]]
            for name in names:
                if f.stem in res.get(name, {}):
                    continue
                t0 = time.perf_counter()
                if name.startswith("codec:"):  # a registered codec through the API, e.g. codec:ecbp
                    res.setdefault(name, {})[f.stem] = spiht_curve(img, rates, name[6:])
                    gain = np.mean([a["psnr"] - b["psnr"] for a, b in zip(res[name][f.stem], res["spiht"][f.stem])])
                    print(f"{mode} {f.stem} {name}: {time.perf_counter() - t0:.1f} s, mean dPSNR {gain:+.3f} dB",
                          file=sys.stderr)
                    args.out.write_text(json.dumps(results))
                    continue
                if CONFIGS[name].priors and name not in PRIORS:
                    train_priors(CONFIGS[name], args.kodak)
                rows = study_curve(img, budgets, rates, CONFIGS[name])
                for r, t in zip(rows, rates):
                    r["target"] = t
                res.setdefault(name, {})[f.stem] = rows
                gain = np.mean([a["psnr"] - b["psnr"] for a, b in zip(rows, res["spiht"][f.stem])])
                print(f"{mode} {f.stem} {name}: {time.perf_counter() - t0:.1f} s, mean dPSNR at equal bytes"
                      f" {gain:+.3f} dB", file=sys.stderr)
                args.out.write_text(json.dumps(results))
            args.out.write_text(json.dumps(results))
    for mode in modes:
        shown = [n for n in ["spiht"] + names + [args.reference] if n in results[mode]]  # (not every config in the file)
        images = sorted(set.intersection(*[set(results[mode][n]) for n in shown]) & {f.stem for f in files})
        print("\n".join(bd_lines(results, mode, names, images, args.reference)))
        print()


if __name__ == "__main__":
    main()
