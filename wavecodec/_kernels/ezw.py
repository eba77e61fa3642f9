"""EZW coding kernel (Shapiro, IEEE TSP 41(12):3445-3462, 1993), in Numba.

One kernel, :func:`ezw_code`, runs the encoder or the decoder (``decoding``, a
run-time bool: one compiled kernel serves both directions), so both sides take
exactly the same path; the flags ``arith`` and ``rescan`` are passed as ``None``
(off) or ``True`` (on) so that Numba compiles one specialisation per variant and
prunes the unused branches, and the range coder's registers live in local
variables updated with the scalar-only :func:`.arith.ac_encode_step` /
:func:`.arith.ac_decode_step` (see :mod:`wavecodec._kernels.spiht` and
:mod:`.arith` for why).

Coefficients are in the zero-padded tree layout of :mod:`wavecodec.transform`
(``mag[c, i, j]``: int32 magnitudes, ``sgn_in``: 1 = negative).  Trees follow
EZW's LL convention: with ``levels`` levels the LL band is ``hl x wl``; LL
coefficient ``(i, j)`` has the three children ``(i, j+wl)``, ``(i+hl, j)``,
``(i+hl, j+wl)``; a detail node ``(i, j)`` with ``i < hp/2`` and ``j < wp/2`` has
the four children ``(2i..2i+1, 2j..2j+1)``; the finest level has none (and with
``levels = 0`` nothing has children).

Scan order of a dominant pass: plane by plane (Y, Cb, Cr), and inside a plane
subband by subband from coarse to fine (LL, HL_L, LH_L, HH_L, HL_{L-1}, ...;
HL = top-right, LH = bottom-left), raster order inside each band.

Dominant symbols: POS, NEG, IZ (isolated zero), ZTR (zerotree root); at the
finest level (no descendants) Z.  Coefficients significant from earlier passes
count as 0 in the zerotree tests.  ``rescan`` None (the strict, decoder-consistent
reading of Shapiro): a significant coefficient is skipped (no symbol) but its
descendants are still scanned unless a zerotree covers them.  ``rescan`` True
(Valens / Sprljan): significant coefficients stay in the scan as zeros and are
coded IZ / ZTR / Z.  Descendants of a ZTR are not coded in that pass.

Subordinate pass at threshold ``T = 2**n`` (``n >= 1``): one bit (bit ``n-1`` of
the magnitude: upper or lower half of the uncertainty interval) per entry of the
subordinate list; afterwards the list is re-ordered by the magnitude the decoder
knows, descending, stable (Shapiro).  The pass at ``T = 1`` has nothing left to
refine and is skipped.

Bits.  Every dominant symbol is two binary decisions: ``b1`` = newly significant;
then, if significant, ``b2`` = sign (1 = NEG); otherwise ``b2`` = 1 for IZ, 0 for
ZTR.  ``arith`` None (variant "plain"): both bits are written raw, always, so
ZTR = 00, IZ = 01, POS = 10, NEG = 11, and Z = 00 at the finest level (the
decoder ignores the second bit of a Z, and the first bit of an already
significant coefficient under ``rescan``); refinement bits are raw.  ``arith``
True: adaptive binary arithmetic coding; decisions that the decoder can infer are
not coded (the second bit of Z; ``b1`` of an already significant coefficient
under ``rescan``).  Contexts (see :func:`ezw_context_count`).

Nothing here validates input: the wrapper (:mod:`wavecodec.coders.ezw`) does.
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
from .trees import sign_context

# Trace kinds (column 1 of the trace array); column 5 holds the refinement bit.
S_ZTR = 0
S_IZ = 1
S_POS = 2
S_NEG = 3
S_Z = 4
T_SUB = 5

CTX_SIG = 0  # newly significant: chroma(2) x band(4) x leaf(2) x parent sig(2) x neighbours(3) = 96
CTX_ZTR = CTX_SIG + 96  # IZ vs ZTR: chroma x band x parent sig(2) x neighbours(3) x node sig(2) = 96
CTX_SIGN = CTX_ZTR + 96  # sign: chroma x orientation(4) x horizontal(3) x vertical(3) = 72
CTX_SUB = CTX_SIGN + 72  # subordinate bit: chroma x band x first refinement(2) = 16
N_CONTEXTS = CTX_SUB + 16


def ezw_context_count() -> int:
    """Number of adaptive binary contexts of the arithmetic-coded variant.

    Every context separates luma from chroma and four band classes (LL, levels
    >= 3, level 2, level 1).  Further conditioning, all on what the decoder knows:

    * newly significant (``b1``): leaf or not, parent significant, significant
      4-neighbours (0, 1, 2+);
    * IZ vs ZTR: parent significant, significant 4-neighbours (0, 1, 2+), the node
      itself already significant (only under ``scan="rescan"``);
    * sign: band orientation and the clamped sign sums of the horizontal and the
      vertical neighbours (as in EBCOT);
    * subordinate bit: first refinement of the entry or a later one.
    """
    return N_CONTEXTS


@njit(cache=True, inline="always")
def _parent(i, j, hl, wl):
    """Parent of a detail node (i, j) (not in the LL band)."""
    if i < 2 * hl and j < 2 * wl:
        return (i - hl if i >= hl else i), (j - wl if j >= wl else j)
    return i >> 1, j >> 1


@njit(cache=True)
def descendant_max(val, hl, wl, levels):
    """Maximum of ``val`` over the descendants of every node of the top-left quadrant.

    Nodes are visited in reverse raster order, which sees every child before its
    parent (children of LL nodes and of detail nodes lie later in raster order).
    """
    nc, hp, wp = val.shape
    hp2 = hp // 2
    wp2 = wp // 2
    dmax = np.zeros((nc, max(hp2, 1), max(wp2, 1)), dtype=np.int32)
    if levels == 0:
        return dmax
    for c in range(nc):
        for i in range(hp2 - 1, -1, -1):
            for j in range(wp2 - 1, -1, -1):
                acc = np.int32(0)
                if i < hl and j < wl:
                    for k in range(3):
                        ci = i + (hl if k >= 1 else 0)
                        cj = j + (wl if k != 1 else 0)
                        m = val[c, ci, cj]
                        if ci < hp2 and cj < wp2:
                            d = dmax[c, ci, cj]
                            if d > m:
                                m = d
                        if m > acc:
                            acc = m
                else:
                    inner = 2 * i < hp2 and 2 * j < wp2
                    for a in range(2):
                        for b in range(2):
                            m = val[c, 2 * i + a, 2 * j + b]
                            if inner:
                                d = dmax[c, 2 * i + a, 2 * j + b]
                                if d > m:
                                    m = d
                            if m > acc:
                                acc = m
                dmax[c, i, j] = acc
    return dmax


@njit(cache=True)
def shapiro_reorder(lst, lval, llow, lfirst, n_list):
    """Shapiro's re-ordering of the subordinate list after a subordinate pass: by the
    magnitude the decoder knows (``lval``), descending; equal magnitudes keep their order.

    A bottom-up merge sort of the entry indices (``np.argsort(kind="mergesort")``
    does the same but its compilation, string argument included, took seconds).
    """
    if n_list < 2:
        return
    order = np.arange(n_list)
    tmp = np.empty(n_list, dtype=np.int64)
    width = 1
    while width < n_list:
        for lo in range(0, n_list, 2 * width):
            mid = min(lo + width, n_list)
            hi = min(lo + 2 * width, n_list)
            a = lo
            b = mid
            for k in range(lo, hi):
                # from the right run only when strictly larger: stable
                if a < mid and (b >= hi or lval[order[b]] <= lval[order[a]]):
                    tmp[k] = order[a]
                    a += 1
                else:
                    tmp[k] = order[b]
                    b += 1
        order, tmp = tmp, order
        width *= 2
    old_lst = lst[:n_list].copy()
    old_lval = lval[:n_list].copy()
    old_llow = llow[:n_list].copy()
    old_lfirst = lfirst[:n_list].copy()
    for k in range(n_list):  # plain loops: fancy indexing compiles slower
        lst[k] = old_lst[order[k]]
        lval[k] = old_lval[order[k]]
        llow[k] = old_llow[order[k]]
        lfirst[k] = old_lfirst[order[k]]


@njit(cache=True)
def ezw_code(decoding, arith, rescan, mag, sgn_in, levels, hl, wl, rowlev, collev, n_max, state, buf, probs,
             counts, trace, stats, significance_first):
    """Run EZW from threshold ``2**n_max`` down to 1 (or until the coder is done).

    Encoder (``decoding`` False): reads ``mag``/``sgn_in``, writes to ``buf``.
    Decoder: reads ``buf``; ``mag``/``sgn_in`` give only the shape.

    Returns ``(n_list, lst, lval, llow, sgn, n_trace)``: the subordinate list
    (packed coordinates ``(c << 42) | (i << 21) | j``), the magnitude bits known for
    each entry (``lval``), the lowest plane known (``llow``: ``|x|`` lies in
    ``[lval, lval + 2**llow)``), the sign map (with a 1-sample border) and the
    number of traced symbols.  ``trace[k] = (n, kind, c, i, j, bit)`` records the
    first ``len(trace)`` symbols (kinds ``S_*`` and ``T_SUB``).
    """
    nc, hp, wp = mag.shape
    hp2 = hp // 2
    wp2 = wp // 2
    total = nc * hp * wp
    sig = np.zeros((nc, hp + 2, wp + 2), dtype=np.uint8)
    sgn = np.zeros((nc, hp + 2, wp + 2), dtype=np.uint8)
    ztp = np.full((nc, hp, wp), 127, dtype=np.int8)  # plane of the pass in which the node was a/under a ZTR
    lst = np.empty(total, dtype=np.int64)
    lval = np.empty(total, dtype=np.int32)
    llow = np.empty(total, dtype=np.int8)
    lfirst = np.empty(total, dtype=np.uint8)
    val = np.zeros((1, 1, 1), dtype=np.int32)
    if not decoding:
        val = mag.copy()
    n_list = 0
    tcount = 0
    tracing = trace.shape[0] > 0
    e_low = state[STATE_LOW]
    e_rng = state[STATE_RANGE]
    d_rng = state[STATE_RANGE]
    d_code = state[STATE_LOW]
    d_pos = state[STATE_POS]
    d_limit = state[STATE_LIMIT]
    d_done = state[STATE_DONE]

    done = False
    n = n_max
    while n >= 0 and not done:
        bitn = np.int32(1) << n
        dmax = np.zeros((1, 1, 1), dtype=np.int32)
        if not decoding:
            dmax = descendant_max(val, hl, wl, levels)  # significant coefficients read as 0

        # ---------------------------------------------------------- dominant pass
        for c in range(nc):
            chroma = 1 if c > 0 else 0
            for band in range(3 * levels + 1):
                if band == 0:
                    r0, r1, c0, c1 = 0, hl, 0, wl
                else:
                    k = levels - (band - 1) // 3
                    hk = hp >> k
                    wk = wp >> k
                    o = (band - 1) % 3
                    if o == 0:
                        r0, r1, c0, c1 = 0, hk, wk, 2 * wk
                    elif o == 1:
                        r0, r1, c0, c1 = hk, 2 * hk, 0, wk
                    else:
                        r0, r1, c0, c1 = hk, 2 * hk, wk, 2 * wk
                for i in range(r0, r1):
                    for j in range(c0, c1):
                        psig = 0
                        if band > 0:
                            pi, pj = _parent(i, j, hl, wl)
                            if ztp[c, pi, pj] == n:
                                ztp[c, i, j] = n  # predictably insignificant
                                continue
                            psig = np.int64(sig[c, pi + 1, pj + 1])
                        was_sig = sig[c, i + 1, j + 1] != 0
                        if was_sig and rescan is None:
                            continue
                        leaf = levels == 0 or i >= hp2 or j >= wp2
                        b1 = 0
                        b2 = 0
                        if not decoding:
                            if not was_sig and mag[c, i, j] >= bitn:
                                b1 = 1
                                b2 = np.int64(sgn_in[c, i, j])
                            elif not leaf:
                                b2 = 1 if dmax[c, i, j] >= bitn else 0
                        nb = 0
                        if arith is not None:
                            nb = (np.int64(sig[c, i, j + 1]) + np.int64(sig[c, i + 2, j + 1])
                                  + np.int64(sig[c, i + 1, j]) + np.int64(sig[c, i + 1, j + 2]))
                            if nb > 2:
                                nb = 2
                        bclass = _band_class(min(rowlev[i], collev[j]), levels)
                        for step in range(2):
                            # which decision, in which context, and whether it is coded at all
                            ctx = 0
                            if step == 0:
                                bit = b1
                                coded = not (was_sig and arith is not None)
                                if arith is not None:
                                    ctx = CTX_SIG + ((((chroma * N_BAND + bclass) * 2 + (1 if leaf else 0)) * 2
                                                      + psig) * 3 + nb)
                            else:
                                bit = b2
                                coded = b1 == 1 or not leaf or arith is None
                                if arith is not None:
                                    if b1 == 1:
                                        orient = _orientation(rowlev[i], collev[j], levels)
                                        ctx = CTX_SIGN + sign_context(sgn, sig, c, i, j, orient)
                                    else:
                                        ctx = CTX_ZTR + (((chroma * N_BAND + bclass) * 2 + psig) * 3 + nb) * 2 + (
                                            1 if was_sig else 0)
                            if not coded:
                                continue
                            # the coder call, written out so that Numba prunes the unused paths
                            if not decoding:
                                if arith is not None:
                                    e_low, e_rng, pf, ps, pc = ac_encode_step(e_low, e_rng, probs[ctx, 0],
                                                                              probs[ctx, 1], counts[ctx], bit)
                                    probs[ctx, 0] = pf
                                    probs[ctx, 1] = ps
                                    counts[ctx] = pc
                                    while e_rng < TOP:
                                        e_rng = (e_rng << 8) & MASK32
                                        e_low = ac_encoder_shift(state, buf, e_low)
                                else:
                                    raw_write_bit(state, buf, bit)
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
                            if stats.shape[0] > 0 and arith is not None:
                                stats[ctx, bit] += 1
                            if step == 0:
                                b1 = bit
                                if was_sig:
                                    b1 = 0  # plain + rescan: the decoder ignores this bit
                            else:
                                b2 = bit
                            if not decoding:  # the encoder stops once its budget is spent
                                if state[STATE_DONE] != 0:
                                    done = True
                                    break
                        if done:
                            break  # an unfinished symbol is not applied
                        if b1 == 1:
                            sym = S_NEG if b2 == 1 else S_POS
                        elif leaf:
                            sym = S_Z
                        elif b2 == 1:
                            sym = S_IZ
                        else:
                            sym = S_ZTR
                        if tracing:
                            if tcount < trace.shape[0]:
                                trace[tcount, 0] = n
                                trace[tcount, 1] = sym
                                trace[tcount, 2] = c
                                trace[tcount, 3] = i
                                trace[tcount, 4] = j
                                trace[tcount, 5] = 0
                            tcount += 1
                        if b1 == 1:
                            sig[c, i + 1, j + 1] = 1
                            sgn[c, i + 1, j + 1] = b2
                            lst[n_list] = _pack(c, i, j)
                            lval[n_list] = bitn
                            llow[n_list] = n
                            lfirst[n_list] = 1
                            n_list += 1
                            if not decoding:
                                val[c, i, j] = 0
                        elif sym == S_ZTR:
                            ztp[c, i, j] = n
                        if done:
                            break
                    if done:
                        break
                if done:
                    break
            if done:
                break
        if done or (n == 0 and significance_first == 0):
            break

        # ------------------------------------------------------- subordinate pass
        # Shapiro: bit n-1 of every entry, the ones found in this pass included;
        # significance first: bit n of the entries found in earlier passes (SPIHT's order)
        half = bitn if significance_first != 0 else bitn >> 1
        low_after = n if significance_first != 0 else n - 1
        for k in range(n_list):
            if llow[k] <= low_after:
                continue  # found in this dominant pass (significance first): refined in the next one
            p = lst[k]
            c = p >> _SHIFT_C
            i = (p >> _SHIFT_I) & _MASK
            j = p & _MASK
            ctx = 0
            if arith is not None:
                bclass = _band_class(min(rowlev[i], collev[j]), levels)
                ctx = CTX_SUB + ((1 if c > 0 else 0) * N_BAND + bclass) * 2 + np.int64(lfirst[k])
            bit = 0
            if not decoding:
                bit = 1 if (mag[c, i, j] & half) != 0 else 0
            # the coder call, written out so that Numba prunes the unused paths
            if not decoding:
                if arith is not None:
                    e_low, e_rng, pf, ps, pc = ac_encode_step(e_low, e_rng, probs[ctx, 0], probs[ctx, 1],
                                                              counts[ctx], bit)
                    probs[ctx, 0] = pf
                    probs[ctx, 1] = ps
                    counts[ctx] = pc
                    while e_rng < TOP:
                        e_rng = (e_rng << 8) & MASK32
                        e_low = ac_encoder_shift(state, buf, e_low)
                else:
                    raw_write_bit(state, buf, bit)
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
            if stats.shape[0] > 0 and arith is not None:
                stats[ctx, bit] += 1
            if bit == 1:
                lval[k] |= half
            llow[k] = low_after
            lfirst[k] = 0
            if tracing:
                if tcount < trace.shape[0]:
                    trace[tcount, 0] = n
                    trace[tcount, 1] = T_SUB
                    trace[tcount, 2] = c
                    trace[tcount, 3] = i
                    trace[tcount, 4] = j
                    trace[tcount, 5] = bit
                tcount += 1
            if not decoding:
                if state[STATE_DONE] != 0:
                    done = True
                    break
        if done:
            break
        shapiro_reorder(lst, lval, llow, lfirst, n_list)
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
    return n_list, lst, lval, llow, sgn, tcount


@njit(cache=True)
def optimal_offsets(mag, lst, lval, llow, n_list):
    """Encoder side: mean position of the true magnitudes inside their final uncertainty intervals.

    Returned for entries known only to be significant (``|x|`` in ``[T, 2T)``) and
    for refined ones separately.  Reconstructing at these fractions instead of the
    interval centre minimises the decoded coefficients' squared error (the
    conditional mean: magnitudes are roughly Laplacian, not uniform in the interval).
    """
    sums = np.zeros(2)
    cnt = np.zeros(2)
    for k in range(n_list):
        low = np.int64(llow[k])
        if low <= 0:
            continue
        p = lst[k]
        width = np.int64(1) << low
        m = np.int64(mag[p >> _SHIFT_C, (p >> _SHIFT_I) & _MASK, p & _MASK])
        g = 0 if np.int64(lval[k]) == width else 1  # only the top bit known: fresh
        sums[g] += ((m & (width - 1)) + 0.5) / width  # +0.5: magnitudes are truncated to integers
        cnt[g] += 1
    out = np.full(2, 0.5)
    for g in range(2):
        if cnt[g] > 0:
            out[g] = sums[g] / cnt[g]
    return out


@njit(cache=True)
def distortion_reduction(mag, lst, lval, llow, n_list, offset_fresh, offset_refined):
    """Encoder side: squared error removed by the decoded coefficients (``sum m**2 - (m - r)**2``).

    ``m`` is the magnitude (centre ``mag + 0.5`` of its truncation interval), ``r`` the
    decoder's reconstruction; the error of the whole coefficient set is its energy
    minus this, which lets the encoder compare quantiser steps without decoding.
    """
    acc = 0.0
    for k in range(n_list):
        p = lst[k]
        m = np.float64(mag[p >> _SHIFT_C, (p >> _SHIFT_I) & _MASK, p & _MASK]) + 0.5
        low = np.int64(llow[k])
        width = np.int64(1) << low
        if low <= 0:
            r = np.float64(lval[k]) + 0.5
        else:
            off = offset_fresh if np.int64(lval[k]) == width else offset_refined
            r = np.float64(lval[k]) + width * off
        acc += m * m - (m - r) * (m - r)
    return acc


@njit(cache=True)
def reconstruct(lst, lval, llow, sgn, n_list, shape_c, shape_h, shape_w, frac_bits, integer, weight_map,
                plane_weight, offset_fresh, offset_refined):
    """Coefficient values from the subordinate list.

    ``|x|`` lies in ``[lval, lval + 2**llow)``; lossy: ``lval + offset * 2**llow``
    with the offset for fresh entries (only the top bit known) or refined ones
    (0.5 each: the interval centre, so ``1.5 T`` for a fresh coefficient, as in
    Shapiro); lossless (``integer``): the middle integer of the interval.  Values
    are divided by ``weight_map[i, j] * plane_weight[c]`` and ``2**frac_bits``.
    Coefficients not on the list are 0.
    """
    res = np.zeros((shape_c, shape_h, shape_w), dtype=np.float64)
    scale = 1.0 / (1 << frac_bits)
    for k in range(n_list):
        p = lst[k]
        c = p >> _SHIFT_C
        i = (p >> _SHIFT_I) & _MASK
        j = p & _MASK
        low = np.int64(llow[k])
        v = np.float64(lval[k])
        if integer:
            v += np.float64(((np.int64(1) << low) - 1) // 2)
        elif low <= 0:
            v += 0.5
        else:
            width = np.int64(1) << low
            v += width * (offset_fresh if np.int64(lval[k]) == width else offset_refined)
        v *= scale / (weight_map[i, j] * plane_weight[c])
        res[c, i, j] = -v if sgn[c, i + 1, j + 1] != 0 else v
    return res
