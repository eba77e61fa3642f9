"""SPIHT coding kernels (Said & Pearlman, IEEE TCSVT 6(3), 1996), in Numba.

One kernel, :func:`spiht_code`, runs the encoder or the decoder (``decoding``
flag) so that both sides take exactly the same path through the lists; every
place where the encoder *emits* a bit the decoder *reads* it.  ``decoding`` is
an ordinary run-time bool: one compiled kernel serves the encoder and the
decoder (a first encode and decode compile it once; the branches cost less than
a second specialisation, measured with ``benchmarks/bench_coldstart.py``).
``arith`` is passed as ``None`` (raw bits) or ``True`` (arithmetic coding): the
variants are compiled separately, and Numba prunes the branches that test it.
The range coder's registers live in local variables, updated by the scalar-only
:func:`.arith.ac_encode_step` / :func:`.arith.ac_decode_step`, ordinary jitted
functions that LLVM inlines (the encoder touches its state array only to emit a
byte): helpers that take arrays, called at every decision, make Numba count
references to those arrays on every bit (atomic operations that took a third of
the time); for the same reason the context helpers, which read the significance
maps, are inlined in Numba's IR (``inline="always"``).  The bits go either to raw
output (``arith = None``: the paper's binary-uncoded SPIHT) or to the adaptive
binary arithmetic coder of :mod:`.arith` with the contexts described in
:func:`spiht_context_count`.

Coefficients are in the zero-padded dyadic tree layout of
:mod:`wavecodec.transform`: array ``mag[c, i, j]`` (int32 magnitudes, integer
bit-planes) for plane ``c``; the coarsest LL slot is ``hl x wl`` (both even).

Trees (paper Sec. III, Fig. 2):

* outside the LL slot, node ``(i, j)`` with ``i < hp/2`` and ``j < wp/2`` has the
  offspring ``O(i, j) = {(2i, 2j), (2i, 2j+1), (2i+1, 2j), (2i+1, 2j+1)}``; nodes of
  the finest level have none;
* in the LL slot the coefficients form 2x2 groups; the top-left member of a group
  has no offspring, each other member ``(2a+di, 2b+dj)`` has the 2x2 block at
  ``(di*hl + 2a, dj*wl + 2b)`` in the coarsest detail band of its orientation.

Lists are flat arrays of packed coordinates ``(c << 42) | (i << 21) | j``; the LIS
is processed as a queue within a pass (entries appended during the pass are
visited in the same pass), compacted in place.

Nothing here validates or allocates per symbol: the Python wrapper
(:mod:`wavecodec.coders.spiht`) sizes the buffers and checks the header.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .arith import (
    MASK32,
    STATE_DONE,
    STATE_LIMIT,
    STATE_LOW,
    STATE_POS,
    STATE_RANGE,
    TOP,
    ac_decode_step,
    ac_encode_step,
    ac_encoder_shift,
    raw_read_bit,
    raw_write_bit,
)
from .trees import MASK as _MASK
from .trees import N_BAND
from .trees import SHIFT_C as _SHIFT_C
from .trees import SHIFT_I as _SHIFT_I
from .trees import band_class as _band_class
from .trees import orientation as _orientation
from .trees import pack as _pack
from .trees import sign_context as _sign_ctx

# Trace record kinds (column 1 of the trace array).
T_LIP = 0  # significance of a LIP pixel
T_SIGN = 1  # sign bit (0 = positive, 1 = negative)
T_SET_A = 2  # significance of D(i,j)
T_SET_B = 3  # significance of L(i,j)
T_OFFSPRING = 4  # significance of an offspring pixel
T_REFINE = 5  # refinement bit

# Context layout (arithmetic-coded variant).  Band classes: 0 LL, 1 levels >= 3,
# 2 level 2, 3 level 1.  ``chroma`` = plane index > 0.
CTX_PIX = 0  # LIP pixel: chroma(2) x band(4) x hv(3) x diag(3) x parent sig(2) x child sig(2) = 288
CTX_OFF = CTX_PIX + 288  # offspring: chroma x band x hv x diag x sibling sig(2) x parent sig(2) = 288
CTX_SETA = CTX_OFF + 288  # D set: chroma x band x node sig(2) x neighbours(4) x offspring ring(3) = 192
CTX_SETB = CTX_SETA + 192  # L set: chroma x band x node sig(2) x children sig (3) = 48
CTX_SIGN = CTX_SETB + 48  # sign: chroma x orientation(4) x horizontal(3) x vertical(3) = 72
CTX_REF = CTX_SIGN + 72  # refinement: chroma x band x first(2) x neighbours(2) = 32
N_CONTEXTS = CTX_REF + 32


def spiht_context_count() -> int:
    """Number of adaptive binary contexts of the arithmetic-coded variant.

    Every context also separates luma from chroma planes and four subband classes
    (LL, levels >= 3, level 2, level 1):

    * LIP pixel: significant horizontal/vertical and diagonal neighbours (0, 1, 2+
      each, as in EBCOT's zero coding), parent significant, any offspring significant;
    * offspring pixel: the same neighbour counts, a sibling already significant in
      this group, the parent (the LIS node) significant;
    * D-set (type A): node significant, significant neighbours of the node (0..3+),
      significant samples on the ring around its offspring block (0, 1, 2+);
    * L-set (type B): node significant, significant offspring (0, 1, 2+);
    * sign: band orientation and the clamped sign sums of the left+right and
      up+down neighbours (EBCOT's sign contexts);
    * refinement: first refinement or not, any significant neighbour.
    """
    return N_CONTEXTS


@njit(cache=True, inline="always")
def _record(trace, tcount, n, kind, c, i, j, bit):
    k = tcount[0]
    if k < trace.shape[0]:
        trace[k, 0] = n
        trace[k, 1] = kind
        trace[k, 2] = c
        trace[k, 3] = i
        trace[k, 4] = j
        trace[k, 5] = bit
    tcount[0] = k + 1


@njit(cache=True)
def _offspring(i, j, hl, wl, hp2, wp2, levels):
    """Top-left corner of the 2x2 offspring block of (i, j), or (-1, -1)."""
    if i < hl and j < wl:
        if levels == 0:
            return -1, -1
        di = i & 1
        dj = j & 1
        if di == 0 and dj == 0:
            return -1, -1
        return di * hl + (i - di), dj * wl + (j - dj)
    if i < hp2 and j < wp2:
        return 2 * i, 2 * j
    return -1, -1


@njit(cache=True)
def descendant_or(mag, hl, wl, levels):
    """Bitwise OR of the magnitudes over D(i,j) and over L(i,j), for every node with offspring.

    ``OR >= 2**n`` iff some member has magnitude ``>= 2**n``, so these two arrays
    answer every set-significance test of SPIHT in O(1).  Nodes are visited in
    reverse raster order, which sees every child before its parent.
    """
    nc, hp, wp = mag.shape
    hp2 = hp // 2
    wp2 = wp // 2
    d_or = np.zeros((nc, hp2, wp2), dtype=np.int32)
    l_or = np.zeros((nc, hp2, wp2), dtype=np.int32)
    if levels == 0:
        return d_or, l_or
    for c in range(nc):
        for i in range(hp2 - 1, -1, -1):
            for j in range(wp2 - 1, -1, -1):
                r0, c0 = _offspring(i, j, hl, wl, hp2, wp2, levels)
                if r0 < 0:
                    continue
                acc_d = 0
                acc_l = 0
                inner = r0 < hp2 and c0 < wp2
                for a in range(2):
                    for b in range(2):
                        m = mag[c, r0 + a, c0 + b]
                        if inner:
                            cd = d_or[c, r0 + a, c0 + b]
                            acc_l |= cd
                            m |= cd
                        acc_d |= m
                d_or[c, i, j] = acc_d
                l_or[c, i, j] = acc_l
    return d_or, l_or


@njit(cache=True, inline="always")
def _neigh(sig, c, i, j):
    """(horizontal+vertical count capped at 2, diagonal count capped at 2) of significant neighbours."""
    y = i + 1
    x = j + 1
    hv = np.int64(sig[c, y - 1, x]) + np.int64(sig[c, y + 1, x]) + np.int64(sig[c, y, x - 1]) + np.int64(sig[c, y, x + 1])
    dg = (
        np.int64(sig[c, y - 1, x - 1]) + np.int64(sig[c, y - 1, x + 1])
        + np.int64(sig[c, y + 1, x - 1]) + np.int64(sig[c, y + 1, x + 1])
    )
    if hv > 2:
        hv = 2
    if dg > 2:
        dg = 2
    return hv, dg


@njit(cache=True, inline="always")
def _children_sig(sig, c, i, j, hl, wl, hp2, wp2, levels):
    """1 if any offspring of (i, j) is significant."""
    r0, c0 = _offspring(i, j, hl, wl, hp2, wp2, levels)
    if r0 < 0:
        return 0
    y = r0 + 1
    x = c0 + 1
    if sig[c, y, x] | sig[c, y, x + 1] | sig[c, y + 1, x] | sig[c, y + 1, x + 1]:
        return 1
    return 0


@njit(cache=True, inline="always")
def _ring_sig(sig, c, r0, c0):
    """Significant coefficients (capped at 2) on the 12-sample ring around the 2x2 block at (r0, c0)."""
    y = r0  # border offset: sig index = coordinate + 1
    x = c0
    t = np.int64(0)
    for b in range(4):
        t += sig[c, y, x + b] + sig[c, y + 3, x + b]
    t += sig[c, y + 1, x] + sig[c, y + 2, x] + sig[c, y + 1, x + 3] + sig[c, y + 2, x + 3]
    return t if t < 2 else np.int64(2)


@njit(cache=True, inline="always")
def _parent_sig(sig, c, i, j, hl, wl):
    """Significance of the parent of detail node (i, j) (0 for LL nodes)."""
    if i < hl and j < wl:
        return 0
    if i < 2 * hl and j < 2 * wl:
        # coarsest detail band: the parent is an LL group member
        di = 1 if i >= hl else 0
        dj = 1 if j >= wl else 0
        pi = ((i - di * hl) & ~1) + di
        pj = ((j - dj * wl) & ~1) + dj
        return np.int64(sig[c, pi + 1, pj + 1])
    return np.int64(sig[c, (i >> 1) + 1, (j >> 1) + 1])


@njit(cache=True)
def spiht_code(
    decoding,
    arith,
    mag,
    sgn_in,
    levels,
    hl,
    wl,
    rowlev,
    collev,
    n_max,
    n_min,
    state,
    buf,
    probs,
    counts,
    out_val,
    out_sign,
    trace,
    stats,
):
    """Run SPIHT from bit-plane ``n_max`` down to ``n_min`` (or until the coder is done).

    Encoder (``decoding`` False): reads ``mag``/``sgn_in`` and writes bits to ``buf``.
    Decoder: reads bits from ``buf``; ``mag``/``sgn_in`` are ignored except for their
    shape, and the decoded state is returned in ``out_val`` (magnitude bits known
    so far, as an integer) and ``out_sign``.

    ``rowlev[i]``/``collev[j]``: decomposition level of row/column ``i``/``j`` in the
    tree layout (``levels + 1`` inside the LL slot); a node's level is the minimum.

    Returns ``(n, lsp_count, refined, lsp_old)``: the bit-plane being coded when
    coding stopped, the LSP size, and how many of the ``lsp_old`` entries that were
    significant before that plane had been refined.  Together with ``out_val``
    this tells the decoder the uncertainty interval of every coefficient.
    ``trace[k] = (n, kind, c, i, j, bit)`` records the first ``len(trace)`` bits.
    """
    nc, hp, wp = mag.shape
    hp2 = hp // 2
    wp2 = wp // 2
    total = nc * hp * wp

    # significance / sign maps with a 1-sample zero border (context modelling)
    sig = np.zeros((nc, hp + 2, wp + 2), dtype=np.uint8)
    sgn = np.zeros((nc, hp + 2, wp + 2), dtype=np.uint8)
    if not decoding:
        d_or, l_or = descendant_or(mag, hl, wl, levels)
    else:
        d_or = np.zeros((1, 1, 1), dtype=np.int32)
        l_or = np.zeros((1, 1, 1), dtype=np.int32)

    lip = np.empty(total, dtype=np.int64)
    lsp = np.empty(total, dtype=np.int64)
    lsp_plane = np.empty(total, dtype=np.int8)  # plane at which the entry became significant
    # a node enters the LIS at most twice per pass (as type A, then as type B), and
    # compaction never lets the write index pass the read index
    n_lis_cap = 3 * nc * hp2 * wp2 + 16
    lis = np.empty(n_lis_cap, dtype=np.int64)
    lis_b = np.empty(n_lis_cap, dtype=np.uint8)
    tcount = np.zeros(1, dtype=np.int64)
    # the range coder's registers live in locals here (see arith.ac_decode_step)
    e_low = state[STATE_LOW]
    e_rng = state[STATE_RANGE]
    d_rng = state[STATE_RANGE]
    d_code = state[STATE_LOW]
    d_pos = state[STATE_POS]
    d_limit = state[STATE_LIMIT]
    d_done = state[STATE_DONE]
    tracing = trace.shape[0] > 0

    n_lip = 0
    n_lsp = 0
    n_lis = 0
    for c in range(nc):
        for i in range(hl):
            for j in range(wl):
                lip[n_lip] = _pack(c, i, j)
                n_lip += 1
    for c in range(nc):
        for i in range(hl):
            for j in range(wl):
                r0, c0 = _offspring(i, j, hl, wl, hp2, wp2, levels)
                if r0 >= 0:
                    lis[n_lis] = _pack(c, i, j)
                    lis_b[n_lis] = 0
                    n_lis += 1

    done = False
    n = n_max
    lsp_old = 0
    refined = 0
    while n >= n_min and not done:
        lsp_old = n_lsp
        refined = 0
        bitn = np.int32(1) << n

        # ---- sorting pass, step 2.1: pixels of the LIP
        w = 0
        k = 0
        while k < n_lip:
            p = lip[k]
            c = p >> _SHIFT_C
            i = (p >> _SHIFT_I) & _MASK
            j = p & _MASK
            ctx = 0
            if arith is not None:
                lev = min(rowlev[i], collev[j])
                hv, dg = _neigh(sig, c, i, j)
                ps = _parent_sig(sig, c, i, j, hl, wl)
                ch = _children_sig(sig, c, i, j, hl, wl, hp2, wp2, levels)
                ctx = CTX_PIX + (
                    (((((1 if c > 0 else 0) * N_BAND + _band_class(lev, levels)) * 3 + hv) * 3 + dg) * 2 + ps) * 2 + ch
                )
            bit = 0
            if not decoding:
                bit = 1 if (mag[c, i, j] & bitn) != 0 else 0
            # the coder call, written out so that Numba prunes the unused paths before inlining
            if not decoding:
                if stats.shape[0] > 0:
                    stats[ctx, bit] += 1
                if arith is not None:
                    e_low, e_rng, pf, ps, pc = ac_encode_step(e_low, e_rng, probs[ctx, 0], probs[ctx, 1], counts[ctx], bit)
                    probs[ctx, 0] = pf
                    probs[ctx, 1] = ps
                    counts[ctx] = pc
                    while e_rng < TOP:
                        e_rng = (e_rng << 8) & MASK32
                        e_low = ac_encoder_shift(state, buf, e_low)
                else:
                    raw_write_bit(state, buf, bit)
                bit = bit
            elif arith is not None:
                bit, d_rng, d_code, d_pos, d_done, pf, ps, pc = ac_decode_step(
                    d_rng, d_code, d_pos, d_limit, d_done, probs[ctx, 0], probs[ctx, 1], counts[ctx],
                    np.int64(buf[d_pos]) if d_pos < d_limit else np.int64(0),
                    np.int64(buf[d_pos + 1]) if d_pos + 1 < d_limit else np.int64(0),
                )
                probs[ctx, 0] = pf
                probs[ctx, 1] = ps
                counts[ctx] = pc
            else:
                bit = raw_read_bit(state, buf)
            if bit < 0:
                done = True
                break
            if tracing:
                _record(trace, tcount, n, T_LIP, c, i, j, bit)
            if bit == 1:
                s = 0
                if not decoding:
                    s = sgn_in[c, i, j]
                sctx = 0
                if arith is not None:
                    orient = _orientation(rowlev[i], collev[j], levels)
                    sctx = CTX_SIGN + _sign_ctx(sgn, sig, c, i, j, orient)
                # the coder call, written out so that Numba prunes the unused paths before inlining
                if not decoding:
                    if stats.shape[0] > 0:
                        stats[sctx, s] += 1
                    if arith is not None:
                        e_low, e_rng, pf, ps, pc = ac_encode_step(e_low, e_rng, probs[sctx, 0], probs[sctx, 1], counts[sctx], s)
                        probs[sctx, 0] = pf
                        probs[sctx, 1] = ps
                        counts[sctx] = pc
                        while e_rng < TOP:
                            e_rng = (e_rng << 8) & MASK32
                            e_low = ac_encoder_shift(state, buf, e_low)
                    else:
                        raw_write_bit(state, buf, s)
                    s = s
                elif arith is not None:
                    s, d_rng, d_code, d_pos, d_done, pf, ps, pc = ac_decode_step(
                        d_rng, d_code, d_pos, d_limit, d_done, probs[sctx, 0], probs[sctx, 1], counts[sctx],
                        np.int64(buf[d_pos]) if d_pos < d_limit else np.int64(0),
                        np.int64(buf[d_pos + 1]) if d_pos + 1 < d_limit else np.int64(0),
                    )
                    probs[sctx, 0] = pf
                    probs[sctx, 1] = ps
                    counts[sctx] = pc
                else:
                    s = raw_read_bit(state, buf)
                if s < 0:
                    done = True
                    break
                if tracing:
                    _record(trace, tcount, n, T_SIGN, c, i, j, s)
                sig[c, i + 1, j + 1] = 1
                sgn[c, i + 1, j + 1] = s
                if decoding:
                    out_val[c, i, j] = bitn
                    out_sign[c, i, j] = s
                lsp[n_lsp] = p
                lsp_plane[n_lsp] = n
                n_lsp += 1
            else:
                lip[w] = p
                w += 1
            k += 1
            if not decoding:  # the encoder stops once its budget is spent
                if state[STATE_DONE] != 0:
                    done = True
                    break
        if done:
            break
        n_lip = w

        # ---- sorting pass, step 2.2: sets of the LIS (a queue within the pass)
        w = 0
        k = 0
        while k < n_lis:
            p = lis[k]
            typ = lis_b[k]
            c = p >> _SHIFT_C
            i = (p >> _SHIFT_I) & _MASK
            j = p & _MASK
            lev = min(rowlev[i], collev[j])
            bclass = _band_class(lev, levels)
            chroma = 1 if c > 0 else 0
            node_sig = np.int64(sig[c, i + 1, j + 1])
            r0, c0 = _offspring(i, j, hl, wl, hp2, wp2, levels)
            if typ == 0:
                # type A: significance of D(i, j)
                ctx = 0
                if arith is not None:
                    hv, dg = _neigh(sig, c, i, j)
                    nb = hv + dg
                    if nb > 3:
                        nb = 3
                    ring = _ring_sig(sig, c, r0, c0)
                    ctx = CTX_SETA + (((chroma * N_BAND + bclass) * 2 + node_sig) * 4 + nb) * 3 + ring
                bit = 0
                if not decoding:
                    bit = 1 if d_or[c, i, j] >= bitn else 0
                # the coder call, written out so that Numba prunes the unused paths before inlining
                if not decoding:
                    if stats.shape[0] > 0:
                        stats[ctx, bit] += 1
                    if arith is not None:
                        e_low, e_rng, pf, ps, pc = ac_encode_step(e_low, e_rng, probs[ctx, 0], probs[ctx, 1], counts[ctx], bit)
                        probs[ctx, 0] = pf
                        probs[ctx, 1] = ps
                        counts[ctx] = pc
                        while e_rng < TOP:
                            e_rng = (e_rng << 8) & MASK32
                            e_low = ac_encoder_shift(state, buf, e_low)
                    else:
                        raw_write_bit(state, buf, bit)
                    bit = bit
                elif arith is not None:
                    bit, d_rng, d_code, d_pos, d_done, pf, ps, pc = ac_decode_step(
                        d_rng, d_code, d_pos, d_limit, d_done, probs[ctx, 0], probs[ctx, 1], counts[ctx],
                        np.int64(buf[d_pos]) if d_pos < d_limit else np.int64(0),
                        np.int64(buf[d_pos + 1]) if d_pos + 1 < d_limit else np.int64(0),
                    )
                    probs[ctx, 0] = pf
                    probs[ctx, 1] = ps
                    counts[ctx] = pc
                else:
                    bit = raw_read_bit(state, buf)
                if bit < 0:
                    done = True
                    break
                if tracing:
                    _record(trace, tcount, n, T_SET_A, c, i, j, bit)
                if bit == 1:
                    child_lev = min(rowlev[r0], collev[c0])
                    child_class = _band_class(child_lev, levels)
                    any_sib = 0
                    for a in range(2):
                        for b in range(2):
                            ci = r0 + a
                            cj = c0 + b
                            octx = 0
                            if arith is not None:
                                hv, dg = _neigh(sig, c, ci, cj)
                                octx = CTX_OFF + (
                                    ((((chroma * N_BAND + child_class) * 3 + hv) * 3 + dg) * 2 + any_sib) * 2 + node_sig
                                )
                            ob = 0
                            if not decoding:
                                ob = 1 if (mag[c, ci, cj] & bitn) != 0 else 0
                            # the coder call, written out so that Numba prunes the unused paths before inlining
                            if not decoding:
                                if stats.shape[0] > 0:
                                    stats[octx, ob] += 1
                                if arith is not None:
                                    e_low, e_rng, pf, ps, pc = ac_encode_step(e_low, e_rng, probs[octx, 0], probs[octx, 1], counts[octx], ob)
                                    probs[octx, 0] = pf
                                    probs[octx, 1] = ps
                                    counts[octx] = pc
                                    while e_rng < TOP:
                                        e_rng = (e_rng << 8) & MASK32
                                        e_low = ac_encoder_shift(state, buf, e_low)
                                else:
                                    raw_write_bit(state, buf, ob)
                                ob = ob
                            elif arith is not None:
                                ob, d_rng, d_code, d_pos, d_done, pf, ps, pc = ac_decode_step(
                                    d_rng, d_code, d_pos, d_limit, d_done, probs[octx, 0], probs[octx, 1], counts[octx],
                                    np.int64(buf[d_pos]) if d_pos < d_limit else np.int64(0),
                                    np.int64(buf[d_pos + 1]) if d_pos + 1 < d_limit else np.int64(0),
                                )
                                probs[octx, 0] = pf
                                probs[octx, 1] = ps
                                counts[octx] = pc
                            else:
                                ob = raw_read_bit(state, buf)
                            if ob < 0:
                                done = True
                                break
                            if tracing:
                                _record(trace, tcount, n, T_OFFSPRING, c, ci, cj, ob)
                            if ob == 1:
                                any_sib = 1
                                s = 0
                                if not decoding:
                                    s = sgn_in[c, ci, cj]
                                sctx = 0
                                if arith is not None:
                                    orient = _orientation(rowlev[ci], collev[cj], levels)
                                    sctx = CTX_SIGN + _sign_ctx(sgn, sig, c, ci, cj, orient)
                                # the coder call, written out so that Numba prunes the unused paths before inlining
                                if not decoding:
                                    if stats.shape[0] > 0:
                                        stats[sctx, s] += 1
                                    if arith is not None:
                                        e_low, e_rng, pf, ps, pc = ac_encode_step(e_low, e_rng, probs[sctx, 0], probs[sctx, 1], counts[sctx], s)
                                        probs[sctx, 0] = pf
                                        probs[sctx, 1] = ps
                                        counts[sctx] = pc
                                        while e_rng < TOP:
                                            e_rng = (e_rng << 8) & MASK32
                                            e_low = ac_encoder_shift(state, buf, e_low)
                                    else:
                                        raw_write_bit(state, buf, s)
                                    s = s
                                elif arith is not None:
                                    s, d_rng, d_code, d_pos, d_done, pf, ps, pc = ac_decode_step(
                                        d_rng, d_code, d_pos, d_limit, d_done, probs[sctx, 0], probs[sctx, 1], counts[sctx],
                                        np.int64(buf[d_pos]) if d_pos < d_limit else np.int64(0),
                                        np.int64(buf[d_pos + 1]) if d_pos + 1 < d_limit else np.int64(0),
                                    )
                                    probs[sctx, 0] = pf
                                    probs[sctx, 1] = ps
                                    counts[sctx] = pc
                                else:
                                    s = raw_read_bit(state, buf)
                                if s < 0:
                                    done = True
                                    break
                                if tracing:
                                    _record(trace, tcount, n, T_SIGN, c, ci, cj, s)
                                sig[c, ci + 1, cj + 1] = 1
                                sgn[c, ci + 1, cj + 1] = s
                                if decoding:
                                    out_val[c, ci, cj] = bitn
                                    out_sign[c, ci, cj] = s
                                lsp[n_lsp] = _pack(c, ci, cj)
                                lsp_plane[n_lsp] = n
                                n_lsp += 1
                            else:
                                lip[n_lip] = _pack(c, ci, cj)
                                n_lip += 1
                            if not decoding:  # the encoder stops once its budget is spent
                                if state[STATE_DONE] != 0:
                                    done = True
                                    break
                        if done:
                            break
                    if done:
                        break
                    if r0 < hp2 and c0 < wp2:
                        # L(i, j) not empty: move to the end of the LIS as type B
                        lis[n_lis] = p
                        lis_b[n_lis] = 1
                        n_lis += 1
                    # entry removed from its current place
                else:
                    lis[w] = p
                    lis_b[w] = 0
                    w += 1
            else:
                # type B: significance of L(i, j)
                ctx = 0
                if arith is not None:
                    nsig_children = (
                        np.int64(sig[c, r0 + 1, c0 + 1]) + np.int64(sig[c, r0 + 1, c0 + 2])
                        + np.int64(sig[c, r0 + 2, c0 + 1]) + np.int64(sig[c, r0 + 2, c0 + 2])
                    )
                    if nsig_children > 2:
                        nsig_children = 2
                    ctx = CTX_SETB + ((chroma * N_BAND + bclass) * 2 + node_sig) * 3 + nsig_children
                bit = 0
                if not decoding:
                    bit = 1 if l_or[c, i, j] >= bitn else 0
                # the coder call, written out so that Numba prunes the unused paths before inlining
                if not decoding:
                    if stats.shape[0] > 0:
                        stats[ctx, bit] += 1
                    if arith is not None:
                        e_low, e_rng, pf, ps, pc = ac_encode_step(e_low, e_rng, probs[ctx, 0], probs[ctx, 1], counts[ctx], bit)
                        probs[ctx, 0] = pf
                        probs[ctx, 1] = ps
                        counts[ctx] = pc
                        while e_rng < TOP:
                            e_rng = (e_rng << 8) & MASK32
                            e_low = ac_encoder_shift(state, buf, e_low)
                    else:
                        raw_write_bit(state, buf, bit)
                    bit = bit
                elif arith is not None:
                    bit, d_rng, d_code, d_pos, d_done, pf, ps, pc = ac_decode_step(
                        d_rng, d_code, d_pos, d_limit, d_done, probs[ctx, 0], probs[ctx, 1], counts[ctx],
                        np.int64(buf[d_pos]) if d_pos < d_limit else np.int64(0),
                        np.int64(buf[d_pos + 1]) if d_pos + 1 < d_limit else np.int64(0),
                    )
                    probs[ctx, 0] = pf
                    probs[ctx, 1] = ps
                    counts[ctx] = pc
                else:
                    bit = raw_read_bit(state, buf)
                if bit < 0:
                    done = True
                    break
                if tracing:
                    _record(trace, tcount, n, T_SET_B, c, i, j, bit)
                if bit == 1:
                    for a in range(2):
                        for b in range(2):
                            lis[n_lis] = _pack(c, r0 + a, c0 + b)
                            lis_b[n_lis] = 0
                            n_lis += 1
                else:
                    lis[w] = p
                    lis_b[w] = 1
                    w += 1
            k += 1
            if not decoding:  # the encoder stops once its budget is spent
                if state[STATE_DONE] != 0:
                    done = True
                    break
        if done:
            break
        n_lis = w

        # ---- refinement pass: entries significant before this plane
        k = 0
        while k < lsp_old:
            p = lsp[k]
            c = p >> _SHIFT_C
            i = (p >> _SHIFT_I) & _MASK
            j = p & _MASK
            ctx = 0
            if arith is not None:
                lev = min(rowlev[i], collev[j])
                first = 1 if lsp_plane[k] == n + 1 else 0
                hv, dg = _neigh(sig, c, i, j)
                anyn = 1 if hv + dg > 0 else 0
                ctx = CTX_REF + (((1 if c > 0 else 0) * N_BAND + _band_class(lev, levels)) * 2 + first) * 2 + anyn
            bit = 0
            if not decoding:
                bit = 1 if (mag[c, i, j] & bitn) != 0 else 0
            # the coder call, written out so that Numba prunes the unused paths before inlining
            if not decoding:
                if stats.shape[0] > 0:
                    stats[ctx, bit] += 1
                if arith is not None:
                    e_low, e_rng, pf, ps, pc = ac_encode_step(e_low, e_rng, probs[ctx, 0], probs[ctx, 1], counts[ctx], bit)
                    probs[ctx, 0] = pf
                    probs[ctx, 1] = ps
                    counts[ctx] = pc
                    while e_rng < TOP:
                        e_rng = (e_rng << 8) & MASK32
                        e_low = ac_encoder_shift(state, buf, e_low)
                else:
                    raw_write_bit(state, buf, bit)
                bit = bit
            elif arith is not None:
                bit, d_rng, d_code, d_pos, d_done, pf, ps, pc = ac_decode_step(
                    d_rng, d_code, d_pos, d_limit, d_done, probs[ctx, 0], probs[ctx, 1], counts[ctx],
                    np.int64(buf[d_pos]) if d_pos < d_limit else np.int64(0),
                    np.int64(buf[d_pos + 1]) if d_pos + 1 < d_limit else np.int64(0),
                )
                probs[ctx, 0] = pf
                probs[ctx, 1] = ps
                counts[ctx] = pc
            else:
                bit = raw_read_bit(state, buf)
            if bit < 0:
                done = True
                break
            if tracing:
                _record(trace, tcount, n, T_REFINE, c, i, j, bit)
            if decoding:
                if bit == 1:
                    out_val[c, i, j] |= bitn
            k += 1
            refined = k
            if not decoding:  # the encoder stops once its budget is spent
                if state[STATE_DONE] != 0:
                    done = True
                    break
        if done:
            break
        n -= 1

    if arith is not None:  # hand the registers back (the encoder's flush needs them)
        if not decoding:
            state[STATE_LOW] = e_low
            state[STATE_RANGE] = e_rng
        else:
            state[STATE_LOW] = d_code
            state[STATE_RANGE] = d_rng
            state[STATE_POS] = d_pos
            state[STATE_DONE] = d_done
    if not done:
        # all planes coded: everything is known down to n_min
        return n_min - 1, n_lsp, 0, n_lsp, tcount[0], lsp, lsp_plane
    return n, n_lsp, refined, lsp_old, tcount[0], lsp, lsp_plane


@njit(cache=True)
def _known_plane(k, lsp_plane, n_stop, refined, lsp_old):
    """Lowest bit-plane known for LSP entry ``k`` when coding stopped at plane ``n_stop``."""
    if k < lsp_old:
        low = n_stop if k < refined else n_stop + 1
    else:
        low = n_stop
    return low if low > 0 else 0


@njit(cache=True)
def optimal_offsets(mag, lsp, lsp_plane, n_lsp, n_stop, refined, lsp_old):
    """Encoder side: mean position of the true magnitudes inside their final uncertainty intervals.

    Returned separately for "fresh" entries (only the significance bit known:
    interval ``[2**n, 2**(n+1))``) and for refined ones.  Reconstructing at these
    fractions instead of the interval centre (0.5) minimises the MSE of the
    decoded coefficients (conditional mean), since magnitudes are not uniform in
    their intervals (wavelet coefficients are roughly Laplacian).
    """
    sums = np.zeros(2)
    cnt = np.zeros(2)
    for k in range(n_lsp):
        p = lsp[k]
        c = p >> _SHIFT_C
        i = (p >> _SHIFT_I) & _MASK
        j = p & _MASK
        low = _known_plane(k, lsp_plane, n_stop, refined, lsp_old)
        if low == 0:
            continue
        width = np.int64(1) << low
        m = np.int64(mag[c, i, j])
        frac = ((m & (width - 1)) + 0.5) / width  # +0.5: magnitudes are truncated to integers
        g = 0 if lsp_plane[k] == low else 1
        sums[g] += frac
        cnt[g] += 1
    out = np.full(2, 0.5)
    for g in range(2):
        if cnt[g] > 0:
            out[g] = sums[g] / cnt[g]
    return out


@njit(cache=True)
def distortion_reduction(mag, lsp, lsp_plane, n_lsp, n_stop, refined, lsp_old, offset_fresh, offset_refined):
    """Encoder side: how much the decoded significant coefficients reduce the squared error.

    Sum over the LSP of ``m**2 - (m - r)**2``, with ``m`` the magnitude (taken at the
    centre ``mag + 0.5`` of its truncation interval) and ``r`` the decoder's
    reconstruction from the final state; the squared error of the whole decoded
    coefficient set is the total energy minus this.  Lets the encoder compare
    quantiser steps without decoding.
    """
    acc = 0.0
    for k in range(n_lsp):
        p = lsp[k]
        c = p >> _SHIFT_C
        i = (p >> _SHIFT_I) & _MASK
        j = p & _MASK
        low = _known_plane(k, lsp_plane, n_stop, refined, lsp_old)
        m = np.float64(mag[c, i, j]) + 0.5
        width = np.int64(1) << low
        known = np.float64((np.int64(mag[c, i, j]) >> low) << low)
        if low == 0:
            r = known + 0.5
        else:
            off = offset_fresh if lsp_plane[k] == low else offset_refined
            r = known + width * off
        acc += m * m - (m - r) * (m - r)
    return acc


@njit(cache=True)
def reconstruct(out_val, out_sign, lsp, lsp_plane, n_lsp, n_stop, refined, lsp_old, frac_bits, integer,
                offset_fresh, offset_refined, weight_map, plane_weight):
    """Turn the decoder state into coefficient values.

    A coefficient significant at plane ``n`` is known to lie in ``[v, v + 2**k)``
    where ``v`` holds its decoded bits and ``k`` is the lowest plane decoded for it.
    The paper reconstructs at the centre of that interval (offset 0.5, so
    1.5 * 2**n for a fresh coefficient); the offsets here are fractions of the
    interval width, for fresh and for refined coefficients.  ``integer``: lossless
    mode, where a fully decoded value is exact and intervals are sets of integers.
    Values are divided by ``weight_map[i, j] * plane_weight[c]``, undoing the
    encoder's rate-distortion weighting (only significant coefficients are non-zero).
    """
    nc, hp, wp = out_val.shape
    res = np.zeros((nc, hp, wp), dtype=np.float64)
    scale = 1.0 / (1 << frac_bits)
    for k in range(n_lsp):
        p = lsp[k]
        c = p >> _SHIFT_C
        i = (p >> _SHIFT_I) & _MASK
        j = p & _MASK
        low = _known_plane(k, lsp_plane, n_stop, refined, lsp_old)
        v = np.float64(out_val[c, i, j])
        if integer:
            if low > 0:
                v += np.float64(((1 << low) - 1) // 2)
        elif low > 0:
            off = offset_fresh if lsp_plane[k] == low else offset_refined
            v += np.float64(1 << low) * off
        else:
            v += 0.5
        v *= scale / (weight_map[i, j] * plane_weight[c])
        res[c, i, j] = -v if out_sign[c, i, j] != 0 else v
    return res
