"""IMP1EZW coding kernel, in Numba: EZW with an enlarged significance symbol map.

Brahimi, Laouir, Boubchir, Ali-Cherif, "An improved embedded zerotree wavelet
image coding method based on coefficient partitioning using morphological
operation" / improved EZW, AEU Int. J. Electron. Commun. 73:183-192, 2017: two
new dominant symbols reduce the number of zerotrees and the symbol redundancy.

Everything is as in :mod:`wavecodec._kernels.ezw` with ``scan="strict"`` (trees,
tree layout, scan order, strict decoder-consistent dominant pass, subordinate
passes with Shapiro's re-ordering, reconstruction via
:func:`wavecodec._kernels.ezw.reconstruct`) except the symbol map:

* POS / NEG: newly significant, and some descendant is significant at this
  threshold (the descendants are scanned in this pass as usual);
* PT / NT: newly significant (positive / negative) **and its whole subtree is
  insignificant** at this threshold (coefficients significant from earlier
  passes count as 0, as in the zerotree test).  The coefficient and its
  zerotree cost one symbol; its descendants are not scanned in this pass;
* IZ, ZTR as in EZW; at the finest level (no descendants) POS / NEG / Z only.

Binary decomposition (the enlarged alphabet as binary decisions):

``b1``  newly significant?
``b2``  if significant: sign (1 = negative); otherwise (not at the finest
        level): 1 = IZ, 0 = ZTR.  A Z needs no ``b2`` with ``arith``.
``b3``  only if significant and not at the finest level: 1 = PT/NT (subtree
        insignificant), 0 = POS/NEG.

So P = 1 0 0, N = 1 1 0, PT = 1 0 1, NT = 1 1 1, IZ = 0 1, ZTR = 0 0, Z = 0 and,
at the finest level, POS = 1 0, NEG = 1 1.  ``arith`` None ("plain"): these bits
are written raw (Z = 00: the decoder ignores the second bit, as in EZW).

Contexts of the arithmetic-coded variant (see :func:`imp1ezw_context_count`),
all on what the decoder knows.  Ingredients:

* ``pc`` plane class: 0 = luminance, 1 = chroma whose co-located luminance
  coefficient (the same position ``(i, j)`` in the Y plane) is not significant,
  2 = chroma whose co-located luminance coefficient is significant.  The Y plane
  of a pass is scanned before Cb and Cr, so the luminance significance used here
  includes the current pass, on both sides (inter-plane dependency);
* ``band``: LL, levels >= 3, level 2, level 1;
* ``ps`` parent state: 0 parent insignificant (coded IZ in this pass), 1 parent
  newly significant in this pass, 2 parent significant earlier, 3 third sibling
  (raster order) after two siblings coded ZTR / Z while the parent's subtree is
  known to hold a significant coefficient (parent IZ or POS / NEG in this pass),
  4 second sibling (for the children of an LL node: the LH child) after one
  such ZTR / Z;
* ``nb`` neighbourhood: significant 4-neighbours 2+ / 1, else significant
  diagonal neighbours 2+ / 1 / 0 (5 classes);
* ``kid``: some child significant from an earlier pass;
* ``sn``: already scanned neighbours (left, up-left, up, up-right) whose subtree
  is known to hold a significant coefficient in this pass (coded IZ or
  POS / NEG), 0 / 1 / 2+.

Decisions: ``b1`` pc x band x leaf x ps x nb x kid; ``b2`` IZ vs ZTR pc x band
x ps x nb x kid x sn; ``b3`` the same with ``nb`` merged into 3 classes (none,
diagonal only, some 4-neighbour); sign: chroma x orientation x the clamped
horizontal and vertical neighbour sign sums (as EBCOT); subordinate bit: chroma
x band x first refinement x significant 4-neighbours (0, 1, 2+).

Inference (arithmetic-coded variant only): when the parent's subtree is known to
hold a significant coefficient in this pass and the other siblings have all been
coded ZTR / Z, the last sibling cannot be ZTR / Z: at the finest level its ``b1``
(= 1), otherwise the IZ/ZTR decision (= IZ) is not coded.

Nothing here validates input: the wrapper (:mod:`wavecodec.coders.imp1ezw`) does.
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
from .ezw import S_IZ, S_NEG, S_POS, S_Z, S_ZTR, T_SUB, _parent, descendant_max, reconstruct, shapiro_reorder
from .trees import MASK as _MASK
from .trees import N_BAND
from .trees import SHIFT_C as _SHIFT_C
from .trees import SHIFT_I as _SHIFT_I
from .trees import band_class as _band_class
from .trees import orientation as _orientation
from .trees import pack as _pack
from .trees import sign_context

S_PT = 6
S_NT = 7

__all__ = ["S_ZTR", "S_IZ", "S_POS", "S_NEG", "S_Z", "S_PT", "S_NT", "T_SUB", "imp1ezw_code", "reconstruct",
           "imp1ezw_context_count"]

CTX_SIG = 0
N_NB = 5  # neighbourhood classes
N_PS = 5  # parent states
CTX_ZTR = CTX_SIG + 3 * N_BAND * 2 * N_PS * N_NB * 3
CTX_SIGN = CTX_ZTR + 3 * N_BAND * N_PS * N_NB * 3 * 3
CTX_PT = CTX_SIGN + 72
CTX_SUB = CTX_PT + 3 * N_BAND * N_PS * N_NB * 3 * 3
N_CONTEXTS = CTX_SUB + 2 * N_BAND * 2 * 3


def imp1ezw_context_count() -> int:
    """Number of adaptive binary contexts of the arithmetic-coded variant (module docstring)."""
    return N_CONTEXTS


@njit(cache=True)
def imp1ezw_code(decoding, arith, rescan, mag, sgn_in, levels, hl, wl, rowlev, collev, n_max, state, buf, probs,
                 counts, trace, stats, significance_first):
    """Run IMP1EZW from threshold ``2**n_max`` down to 1 (or until the coder is done).

    Same interface and return value as :func:`wavecodec._kernels.ezw.ezw_code`;
    ``rescan`` is ignored (the scan is always the strict one); trace kinds add
    ``S_PT`` / ``S_NT``.
    """
    nc, hp, wp = mag.shape
    hp2 = hp // 2
    wp2 = wp // 2
    total = nc * hp * wp
    sig = np.zeros((nc, hp + 2, wp + 2), dtype=np.uint8)
    sgn = np.zeros((nc, hp + 2, wp + 2), dtype=np.uint8)
    ztp = np.full((nc, hp, wp), 127, dtype=np.int8)  # plane of the pass in which the node's subtree is skipped
    snew = np.full((nc, hp, wp), 127, dtype=np.int8)  # plane of the pass in which the node became significant
    ins = np.full((nc, hp, wp), 127, dtype=np.int8)  # plane of the pass in which it was coded ZTR / Z
    subp = np.full((nc, hp + 2, wp + 2), 127, dtype=np.int8)  # plane of the pass in which its subtree had a sig.
    lst = np.empty(total, dtype=np.int64)
    lval = np.empty(total, dtype=np.int32)
    llow = np.empty(total, dtype=np.int8)
    lfirst = np.empty(total, dtype=np.uint8)
    val = np.zeros((1, 1, 1), dtype=np.int32)
    if decoding is None:
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
        if decoding is None:
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
                        forced = False
                        if band > 0:
                            pi, pj = _parent(i, j, hl, wl)
                            if ztp[c, pi, pj] == n:
                                ztp[c, i, j] = n  # predictably insignificant
                                continue
                            if sig[c, pi + 1, pj + 1] != 0:
                                age = np.int64(snew[c, pi, pj]) - n
                                psig = 1 if age == 0 else 2
                            if arith is not None and subp[c, pi + 1, pj + 1] == n:
                                # the parent's subtree holds a significant coefficient in this pass: if this is
                                # the last sibling scanned and all the others were ZTR / Z, it is not ZTR / Z
                                if i < 2 * hl and j < 2 * wl:
                                    if i >= hl and j >= wl:
                                        forced = ins[c, i - hl, j] == n and ins[c, i, j - wl] == n
                                    elif i >= hl and ins[c, i - hl, j + wl] == n:
                                        psig = 4  # LH child after its HL sibling coded ZTR
                                elif (i & 1) == 1 and (j & 1) == 1:
                                    forced = ins[c, i - 1, j - 1] == n and ins[c, i - 1, j] == n and ins[
                                        c, i, j - 1] == n
                                elif (i & 1) == 1 and ins[c, i - 1, j] == n and ins[c, i - 1, j + 1] == n:
                                    psig = 3  # the third sibling after two ZTR / Z
                                elif (i & 1) == 0 and (j & 1) == 1 and ins[c, i, j - 1] == n:
                                    psig = 4  # the second sibling after a ZTR / Z
                        if sig[c, i + 1, j + 1] != 0:
                            continue
                        leaf = levels == 0 or i >= hp2 or j >= wp2
                        b1 = 0
                        b2 = 0
                        b3 = 0
                        if decoding is None:
                            if mag[c, i, j] >= bitn:
                                b1 = 1
                                b2 = np.int64(sgn_in[c, i, j])
                                if not leaf:
                                    b3 = 0 if dmax[c, i, j] >= bitn else 1
                            elif not leaf:
                                b2 = 1 if dmax[c, i, j] >= bitn else 0
                        nb = 0
                        kid = 0
                        sn = 0
                        pc = 0
                        if arith is not None:
                            hv = (np.int64(sig[c, i, j + 1]) + np.int64(sig[c, i + 2, j + 1])
                                  + np.int64(sig[c, i + 1, j]) + np.int64(sig[c, i + 1, j + 2]))
                            if hv >= 2:
                                nb = 4
                            elif hv == 1:
                                nb = 3
                            else:
                                dg = (np.int64(sig[c, i, j]) + np.int64(sig[c, i, j + 2])
                                      + np.int64(sig[c, i + 2, j]) + np.int64(sig[c, i + 2, j + 2]))
                                nb = 2 if dg >= 2 else dg
                            if not leaf:  # children significant from earlier passes (0, 1, 2+)
                                if i < hl and j < wl:
                                    kid = (np.int64(sig[c, i + 1, j + wl + 1]) + np.int64(sig[c, i + hl + 1, j + 1])
                                           + np.int64(sig[c, i + hl + 1, j + wl + 1]))
                                else:
                                    kid = (np.int64(sig[c, 2 * i + 1, 2 * j + 1]) + np.int64(sig[c, 2 * i + 1, 2 * j + 2])
                                           + np.int64(sig[c, 2 * i + 2, 2 * j + 1])
                                           + np.int64(sig[c, 2 * i + 2, 2 * j + 2]))
                                if kid > 1:
                                    kid = 1
                            sn = ((1 if subp[c, i + 1, j] == n else 0) + (1 if subp[c, i, j + 1] == n else 0)
                                  + (1 if subp[c, i, j] == n else 0) + (1 if subp[c, i, j + 2] == n else 0))
                            if sn > 2:
                                sn = 2
                            if c > 0:
                                pc = 1 + np.int64(sig[0, i + 1, j + 1])  # co-located luminance significance
                        bclass = _band_class(min(rowlev[i], collev[j]), levels)
                        for step in range(3):
                            ctx = 0
                            if step == 0:
                                bit = b1
                                coded = not (forced and leaf)
                                if not coded:
                                    b1 = 1
                                if arith is not None:
                                    ctx = CTX_SIG + (((((pc * N_BAND + bclass) * 2 + (1 if leaf else 0)) * N_PS
                                                       + psig) * N_NB + nb) * 3 + kid)
                            elif step == 1:
                                bit = b2
                                coded = b1 == 1 or not (leaf or forced) or arith is None
                                if not coded and forced:
                                    b2 = 1
                                if arith is not None:
                                    if b1 == 1:
                                        orient = _orientation(rowlev[i], collev[j], levels)
                                        ctx = CTX_SIGN + sign_context(sgn, sig, c, i, j, orient)
                                    else:
                                        ctx = CTX_ZTR + ((((pc * N_BAND + bclass) * N_PS + psig) * N_NB + nb) * 3 + kid) * 3 + sn
                            else:
                                bit = b3
                                coded = b1 == 1 and not leaf
                                if arith is not None:
                                    ctx = CTX_PT + ((((pc * N_BAND + bclass) * N_PS + psig) * N_NB + (0 if nb == 0 else (1 if nb <= 2 else 2))) * 3 + kid) * 3 + sn
                            if not coded:
                                continue
                            # the coder call, written out so that Numba prunes the unused paths
                            if decoding is None:
                                if arith is not None:
                                    e_low, e_rng, pf, ps, pcount = ac_encode_step(e_low, e_rng, probs[ctx, 0],
                                                                                  probs[ctx, 1], counts[ctx], bit)
                                    probs[ctx, 0] = pf
                                    probs[ctx, 1] = ps
                                    counts[ctx] = pcount
                                    while e_rng < TOP:
                                        e_rng = (e_rng << 8) & MASK32
                                        e_low = ac_encoder_shift(state, buf, e_low)
                                else:
                                    raw_write_bit(state, buf, bit)
                            elif arith is not None:
                                bit, d_rng, d_code, d_pos, d_done, pf, ps, pcount = ac_decode_step(
                                    d_rng, d_code, d_pos, d_limit, d_done, probs[ctx, 0], probs[ctx, 1], counts[ctx],
                                    np.int64(buf[d_pos]) if d_pos < d_limit else np.int64(0),
                                    np.int64(buf[d_pos + 1]) if d_pos + 1 < d_limit else np.int64(0),
                                )
                                probs[ctx, 0] = pf
                                probs[ctx, 1] = ps
                                counts[ctx] = pcount
                            else:
                                bit = raw_read_bit(state, buf)
                            if bit < 0:
                                done = True
                                break
                            if stats.shape[0] > 0 and arith is not None:
                                stats[ctx, bit] += 1
                            if step == 0:
                                b1 = bit
                            elif step == 1:
                                b2 = bit
                            else:
                                b3 = bit
                            if decoding is None:  # the encoder stops once its budget is spent
                                if state[STATE_DONE] != 0:
                                    done = True
                                    break
                        if done:
                            break  # an unfinished symbol is not applied
                        if b1 == 1:
                            if b3 == 1:
                                sym = S_NT if b2 == 1 else S_PT
                            else:
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
                        if (b1 == 1 and b3 == 0 and not leaf) or sym == S_IZ:
                            subp[c, i + 1, j + 1] = n  # its subtree holds a significant coefficient
                        if b1 == 1:
                            sig[c, i + 1, j + 1] = 1
                            sgn[c, i + 1, j + 1] = b2
                            snew[c, i, j] = n
                            lst[n_list] = _pack(c, i, j)
                            lval[n_list] = bitn
                            llow[n_list] = n
                            lfirst[n_list] = 1
                            n_list += 1
                            if decoding is None:
                                val[c, i, j] = 0
                            if b3 == 1:
                                ztp[c, i, j] = n  # PT / NT: the subtree is a zerotree in this pass
                        elif sym == S_ZTR:
                            ztp[c, i, j] = n
                        if sym == S_ZTR or sym == S_Z:
                            ins[c, i, j] = n
                    if done:
                        break
                if done:
                    break
            if done:
                break
        if done or (n == 0 and significance_first == 0):
            break

        # ------------------------------------------------------- subordinate pass
        # (pass order as in :func:`wavecodec._kernels.ezw.ezw_code`)
        half = bitn if significance_first != 0 else bitn >> 1
        low_after = n if significance_first != 0 else n - 1
        for k in range(n_list):
            if llow[k] <= low_after:
                continue
            p = lst[k]
            c = p >> _SHIFT_C
            i = (p >> _SHIFT_I) & _MASK
            j = p & _MASK
            ctx = 0
            if arith is not None:
                bclass = _band_class(min(rowlev[i], collev[j]), levels)
                hv = (np.int64(sig[c, i, j + 1]) + np.int64(sig[c, i + 2, j + 1])
                      + np.int64(sig[c, i + 1, j]) + np.int64(sig[c, i + 1, j + 2]))
                if hv > 2:
                    hv = 2
                ctx = CTX_SUB + (((1 if c > 0 else 0) * N_BAND + bclass) * 2 + np.int64(lfirst[k])) * 3 + hv
            bit = 0
            if decoding is None:
                bit = 1 if (mag[c, i, j] & half) != 0 else 0
            if decoding is None:
                if arith is not None:
                    e_low, e_rng, pf, ps, pcount = ac_encode_step(e_low, e_rng, probs[ctx, 0], probs[ctx, 1],
                                                                  counts[ctx], bit)
                    probs[ctx, 0] = pf
                    probs[ctx, 1] = ps
                    counts[ctx] = pcount
                    while e_rng < TOP:
                        e_rng = (e_rng << 8) & MASK32
                        e_low = ac_encoder_shift(state, buf, e_low)
                else:
                    raw_write_bit(state, buf, bit)
            elif arith is not None:
                bit, d_rng, d_code, d_pos, d_done, pf, ps, pcount = ac_decode_step(
                    d_rng, d_code, d_pos, d_limit, d_done, probs[ctx, 0], probs[ctx, 1], counts[ctx],
                    np.int64(buf[d_pos]) if d_pos < d_limit else np.int64(0),
                    np.int64(buf[d_pos + 1]) if d_pos + 1 < d_limit else np.int64(0),
                )
                probs[ctx, 0] = pf
                probs[ctx, 1] = ps
                counts[ctx] = pcount
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
            if decoding is None:
                if state[STATE_DONE] != 0:
                    done = True
                    break
        if done:
            break
        shapiro_reorder(lst, lval, llow, lfirst, n_list)
        n -= 1

    if arith is not None:  # hand the registers back (the encoder's flush needs them)
        if decoding is None:
            state[STATE_LOW] = e_low
            state[STATE_RANGE] = e_rng
        else:
            state[STATE_LOW] = d_code
            state[STATE_RANGE] = d_rng
            state[STATE_POS] = d_pos
            state[STATE_DONE] = d_done
    return n_list, lst, lval, llow, sgn, tcount
