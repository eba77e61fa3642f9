"""Study kernel for issue 17: SPIHT-AC with richer contexts (NOT part of the package, no stream depends on it).

A copy of :mod:`wavecodec._kernels.spiht` (the passes, the workspace, the driver) whose context
functions take two run-time switches, ``Tree.mode`` bits:

* ``MODE_XPLANE`` (1): inter-plane contexts for colour: significance tests also see whether the
  co-located coefficient of another plane is already significant, and sign bits see the sign of
  the co-located coefficient of plane 0 (of plane 1 for plane 0) and which plane is coded;
* ``MODE_MAGNITUDE`` (2): ECECOW-style magnitude contexts: significance tests of LIP and
  offspring pixels also see how far the known magnitudes of the 8 significant neighbours
  exceed the threshold (0, 1..3, 4+ in units of the current plane beyond one per neighbour);
* ``MODE_FAMILY`` (4): the same tests also see whether the parent's known magnitude is 4 or
  more units of the current plane, and how many (0, 1, 2+) of the co-located coefficients of
  the two other orientations of the same level ("cousins") are significant.

With ``mode = 0`` every context is the base coder's (section-local index times the section's
split factor), so the payload is byte-identical to ``wavecodec.coders.spiht``'s: the study
checks that.  Why a copy and not a hook: the base kernel's context helpers are inlined module
globals; changing them in place would change the golden streams, and the study must not.
Known magnitudes are synchronous: the decoder knows the bits above plane ``n`` of coefficients
significant before plane ``n`` (bit ``n`` is refined after the sorting pass) and ``1 << n`` of
those found at plane ``n``; the encoder masks its magnitudes to the same.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from wavecodec._kernels.jit import helper
from wavecodec._kernels.jit import python_array_kernel as _pass

from wavecodec._kernels.arith import STATE_DONE, code_decision, coder_registers, save_registers
from wavecodec._kernels.spiht import _offspring, descendant_top  # the library's set-maxima scan, shared
from wavecodec._kernels.trees import N_BAND
from wavecodec._kernels.trees import SHIFT_C as _SHIFT_C
from wavecodec._kernels.trees import SHIFT_I as _SHIFT_I
from wavecodec._kernels.trees import band_class as _band_class
from wavecodec._kernels.trees import magnitude as _magnitude
from wavecodec._kernels.trees import NEGATIVE, SIGNIFICANT
from wavecodec._kernels.trees import interval_means
from wavecodec._kernels.trees import diagonal_neighbours, four_neighbours, orientation, sign_context
from wavecodec._kernels.trees import pack as _pack
from wavecodec._kernels.trees import unpack as _unpack

# Context layout: the base coder's sections, each split by a factor (the extra context bits).
# Band classes: 0 LL, 1 levels >= 3, 2 level 2, 3 level 1.  ``chroma`` = plane index > 0.
MODE_XPLANE = 1
MODE_MAGNITUDE = 2
MODE_FAMILY = 4
K_PIX = 36  # xplane significance (2) x magnitude class (3) x large parent (2) x significant cousins (3)
K_OFF = 36
K_SETA = 2  # xplane significance
K_SIGN = 9  # plane (3) x co-located reference sign (3)
BASE_SIZES = (288, 288, 192, 48, 72, 32)  # the base coder's sections
SPLITS = (K_PIX, K_OFF, K_SETA, 1, K_SIGN, 1)
CTX_PIX = 0
CTX_OFF = CTX_PIX + 288 * K_PIX
CTX_SETA = CTX_OFF + 288 * K_OFF
CTX_SETB = CTX_SETA + 192 * K_SETA
CTX_SIGN = CTX_SETB + 48
CTX_REF = CTX_SIGN + 72 * K_SIGN
N_CONTEXTS = CTX_REF + 32


def prior_map() -> np.ndarray:
    """For every context here, the base coder's context it refines (to start from the base priors)."""
    out = []
    base = 0
    for size, k in zip(BASE_SIZES, SPLITS):
        out.extend(base + local for local in range(size) for _ in range(k))
        base += size
    return np.asarray(out, dtype=np.int64)


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
def _neigh(sig, c, i, j):
    """(horizontal+vertical count capped at 2, diagonal count capped at 2) of significant neighbours."""
    return min(four_neighbours(sig, c, i, j), 2), min(diagonal_neighbours(sig, c, i, j), 2)


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
        t += (sig[c, y, x + b] & SIGNIFICANT) + (sig[c, y + 3, x + b] & SIGNIFICANT)
    t += ((sig[c, y + 1, x] & SIGNIFICANT) + (sig[c, y + 2, x] & SIGNIFICANT) + (sig[c, y + 1, x + 3] & SIGNIFICANT)
          + (sig[c, y + 2, x + 3] & SIGNIFICANT))
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
        return np.int64(sig[c, pi + 1, pj + 1] & SIGNIFICANT)
    return np.int64(sig[c, (i >> 1) + 1, (j >> 1) + 1] & SIGNIFICANT)


# --------------------------------------------------------------------------- the coder

# What the passes share, bundled so that each pass reads like the paper's step.
# The passes unpack them into locals first: reading an array out of a tuple in a
# hot loop would update its reference count on every access.
Tree = namedtuple("Tree", ["hl", "wl", "hp2", "wp2", "levels", "rowlev", "collev", "mode"])
Maps = namedtuple("Maps", ["coef", "sig", "d_top", "l_top", "out_val"])
Lists = namedtuple("Lists", ["lip", "lsp", "lsp_plane", "lis", "lis_b"])


@njit(cache=True, inline="always")
def _known(coef, sig, c, y, x, n):
    """Known magnitude of map entry (y, x) (border coordinates) in units of ``2**n`` (0: insignificant)."""
    if (sig[c, y, x] & SIGNIFICANT) == 0:
        return np.int64(0)
    v = _magnitude(coef, c, y - 1, x - 1) >> n
    if v > 1:
        v &= ~np.int64(1)  # bit n of an older coefficient is refined after the sorting pass
    return v if v < 64 else np.int64(64)


@njit(cache=True, inline="always")
def _magnitude_class(coef, sig, c, i, j, n):
    """0, 1, 2: how far the neighbours' known magnitudes exceed one unit each (0, 1..3, 4+)."""
    y = i + 1
    x = j + 1
    excess = np.int64(0)
    for dy in range(-1, 2):
        for dx in range(-1, 2):
            if dy != 0 or dx != 0:
                v = _known(coef, sig, c, y + dy, x + dx, n)
                if v > 1:
                    excess += v - 1
    if excess == 0:
        return 0
    return 1 if excess <= 3 else 2


@njit(cache=True, inline="always")
def _xplane_sig(sig, c, i, j):
    """1 if the co-located coefficient of another plane is significant (0 for one plane)."""
    nc = sig.shape[0]
    for k in range(nc):
        if k != c and (sig[k, i + 1, j + 1] & SIGNIFICANT) != 0:
            return 1
    return 0


@njit(cache=True, inline="always")
def _family(coef, sig, rowlev, collev, hl, wl, hp2, levels, c, i, j, n):
    """(large parent, significant cousins): the parent's known magnitude is 4 or more units of
    ``2**n`` (1/0), and how many (0, 1, 2) of the two co-located coefficients of the other
    orientations of the same level are significant (0, 0 in the LL slot)."""
    if i < hl and j < wl:
        return 0, 0
    if i < 2 * hl and j < 2 * wl:
        di = 1 if i >= hl else 0
        dj = 1 if j >= wl else 0
        pi = ((i - di * hl) & ~1) + di
        pj = ((j - dj * wl) & ~1) + dj
    else:
        pi = i >> 1
        pj = j >> 1
    large = 1 if _known(coef, sig, c, pi + 1, pj + 1, n) >= 4 else 0
    lev = min(rowlev[i], collev[j])
    hb = (2 * hp2) >> lev  # band height at this level
    wb = (collev.shape[0]) >> lev
    bi = i - hb if i >= hb else i
    bj = j - wb if j >= wb else j
    cz = 0
    for oi in range(2):
        for oj in range(2):
            if oi == 0 and oj == 0:
                continue
            y = bi + oi * hb
            x = bj + oj * wb
            if (y != i or x != j) and (sig[c, y + 1, x + 1] & SIGNIFICANT) != 0:
                cz += 1
    return large, min(cz, 2)


@njit(cache=True, inline="always")
def _pixel_extra(mode, coef, sig, c, i, j, n, rowlev, collev, hl, wl, hp2, levels):
    xp = _xplane_sig(sig, c, i, j) if mode & MODE_XPLANE else 0
    mc = _magnitude_class(coef, sig, c, i, j, n) if mode & MODE_MAGNITUDE else 0
    pl = 0
    cz = 0
    if mode & MODE_FAMILY:
        pl, cz = _family(coef, sig, rowlev, collev, hl, wl, hp2, levels, c, i, j, n)
    return ((xp * 3 + mc) * 2 + pl) * 3 + cz


@njit(cache=True, inline="always")
def _pixel_context(sig, rowlev, collev, hl, wl, hp2, wp2, levels, c, i, j, mode, coef, n):
    """Context of a LIP pixel's significance: band, neighbours, parent and offspring significance."""
    hv, dg = _neigh(sig, c, i, j)
    ps = _parent_sig(sig, c, i, j, hl, wl)
    ch = _children_sig(sig, c, i, j, hl, wl, hp2, wp2, levels)
    band = _band_class(min(rowlev[i], collev[j]), levels)
    chroma = 1 if c > 0 else 0
    local = (((((chroma * N_BAND + band) * 3 + hv) * 3 + dg) * 2 + ps) * 2 + ch)
    return CTX_PIX + local * K_PIX + _pixel_extra(mode, coef, sig, c, i, j, n, rowlev, collev, hl, wl, hp2, levels)


@njit(cache=True, inline="always")
def _offspring_context(sig, band, c, i, j, any_sibling, parent_sig, mode, coef, n, rowlev, collev, hl, wl, hp2,
                       levels):
    """Context of an offspring pixel's significance (tested when its parent's set D turns significant)."""
    hv, dg = _neigh(sig, c, i, j)
    chroma = 1 if c > 0 else 0
    local = ((((chroma * N_BAND + band) * 3 + hv) * 3 + dg) * 2 + any_sibling) * 2 + parent_sig
    return CTX_OFF + local * K_OFF + _pixel_extra(mode, coef, sig, c, i, j, n, rowlev, collev, hl, wl, hp2, levels)


@njit(cache=True, inline="always")
def _set_context(sig, band, typ, c, i, j, r0, c0, mode):
    """Context of the significance of D(i, j) (``typ`` 0) or L(i, j) (``typ`` 1)."""
    chroma = 1 if c > 0 else 0
    node_sig = np.int64(sig[c, i + 1, j + 1] & SIGNIFICANT)
    if typ == 0:
        hv, dg = _neigh(sig, c, i, j)
        nb = min(hv + dg, 3)
        local = (((chroma * N_BAND + band) * 2 + node_sig) * 4 + nb) * 3 + _ring_sig(sig, c, r0, c0)
        xp = _xplane_sig(sig, c, i, j) if mode & MODE_XPLANE else 0
        return CTX_SETA + local * K_SETA + xp
    children = (
        np.int64(sig[c, r0 + 1, c0 + 1] & SIGNIFICANT) + np.int64(sig[c, r0 + 1, c0 + 2] & SIGNIFICANT)
        + np.int64(sig[c, r0 + 2, c0 + 1] & SIGNIFICANT) + np.int64(sig[c, r0 + 2, c0 + 2] & SIGNIFICANT)
    )
    return CTX_SETB + ((chroma * N_BAND + band) * 2 + node_sig) * 3 + min(children, 2)


@njit(cache=True, inline="always")
def _refinement_context(sig, band, c, i, j, first):
    """Context of a refinement bit: band, first refinement or not, any significant neighbour."""
    hv, dg = _neigh(sig, c, i, j)
    chroma = 1 if c > 0 else 0
    anyn = 1 if hv + dg > 0 else 0
    return CTX_REF + ((chroma * N_BAND + band) * 2 + first) * 2 + anyn


@njit(cache=True, inline="always")
def _sign_context(sig, rowlev, collev, levels, c, i, j, mode):
    """Context of a sign bit: band orientation, the neighbours' signs (EBCOT's sign contexts) and,
    with MODE_XPLANE, the plane and the sign of the co-located coefficient of the reference plane."""
    local = sign_context(sig, c, i, j, orientation(rowlev[i], collev[j], levels))
    extra = 0
    if mode & MODE_XPLANE and sig.shape[0] > 1:
        ref = 1 if c == 0 else 0
        v = sig[ref, i + 1, j + 1]
        s = 0 if (v & SIGNIFICANT) == 0 else (2 if v & NEGATIVE else 1)
        extra = (c if c < 3 else 2) * 3 + s
    return CTX_SIGN + local * K_SIGN + extra


@_pass
def sort_lip(decoding, arith, regs, coder, tree, maps, lists, n_lip, n_lsp, n):
    """Sorting pass, step 2.1: test each pixel of the LIP for significance at plane ``n``.

    A significant pixel gets its sign coded and moves to the LSP (step 2.1.1); the
    others stay in the LIP, in order.  Returns ``(regs, n_lip, n_lsp, done)``.
    """
    state, buf, probs, counts, stats = coder
    hl, wl, hp2, wp2, levels, rowlev, collev, mode = tree
    coef, sig, _, _, out_val = maps
    lip, lsp, lsp_plane, _, _ = lists
    bitn = np.int64(1) << n
    w = 0
    for k in range(n_lip):
        p = lip[k]
        c, i, j = _unpack(p)
        ctx = 0
        if arith is not None:
            ctx = _pixel_context(sig, rowlev, collev, hl, wl, hp2, wp2, levels, c, i, j, mode, coef, n)
        bit = 0
        if not decoding:
            bit = 1 if (_magnitude(coef, c, i, j) & bitn) != 0 else 0
        bit, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, bit)
        if bit < 0:
            return regs, n_lip, n_lsp, True
        if bit == 1:
            ctx = 0
            if arith is not None:
                ctx = _sign_context(sig, rowlev, collev, levels, c, i, j, mode)
            s = 0 if decoding or coef[c, i, j] >= 0 else 1
            s, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, s)
            if s < 0:
                return regs, n_lip, n_lsp, True
            _now_significant(decoding, sig, out_val, lsp, lsp_plane, n_lsp, n, c, i, j, s)
            n_lsp += 1
        else:
            lip[w] = p
            w += 1
        if not decoding and state[STATE_DONE] != 0:  # the encoder's budget is spent
            return regs, n_lip, n_lsp, True
    return regs, w, n_lsp, False


@njit(cache=True, inline="always")
def _now_significant(decoding, sig, out_val, lsp, lsp_plane, n_lsp, n, c, i, j, s):
    """Record (i, j), significant at plane ``n`` with sign ``s`` (1: negative), and append it to the LSP."""
    sig[c, i + 1, j + 1] = SIGNIFICANT | (NEGATIVE if s != 0 else 0)
    if decoding:
        out_val[c, i, j] = np.int32(1) << n
    lsp[n_lsp] = _pack(c, i, j)
    lsp_plane[n_lsp] = n


@_pass
def sort_lis(decoding, arith, regs, coder, tree, maps, lists, n_lis, n_lip, n_lsp, n):
    """Sorting pass, step 2.2: test each set of the LIS for significance at plane ``n``.

    Type A entries stand for D(i, j): when significant, each offspring is tested
    (step 2.2.1.2: a significant one gets its sign coded and joins the LSP, an
    insignificant one the LIP) and the entry moves to the end of the LIS as type B
    if L(i, j) is not empty.  Type B entries stand for L(i, j): when significant,
    the four offspring join the end of the LIS as type A (step 2.2.2).  Entries
    appended during the pass are visited in the same pass (the LIS is a queue);
    the list is compacted in place.  Returns ``(regs, n_lis, n_lip, n_lsp, done)``.
    """
    state, buf, probs, counts, stats = coder
    hl, wl, hp2, wp2, levels, rowlev, collev, mode = tree
    coef, sig, d_top, l_top, out_val = maps
    lip, lsp, lsp_plane, lis, lis_b = lists
    bitn = np.int64(1) << n
    w = 0
    k = 0
    while k < n_lis:
        p = lis[k]
        typ = lis_b[k]
        c, i, j = _unpack(p)
        r0, c0 = _offspring(i, j, hl, wl, hp2, wp2, levels)
        ctx = 0
        if arith is not None:
            ctx = _set_context(sig, _band_class(min(rowlev[i], collev[j]), levels), typ, c, i, j, r0, c0, mode)
        bit = 0
        if not decoding:
            top = d_top[c, i, j] if typ == 0 else l_top[c, i, j]
            bit = 1 if top >= n else 0
        bit, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, bit)
        if bit < 0:
            return regs, n_lis, n_lip, n_lsp, True
        if bit == 0:
            lis[w] = p  # stays, with its type
            lis_b[w] = typ
            w += 1
        elif typ == 0:
            # step 2.2.1.2: each offspring (k, l) of (i, j)
            parent_sig = np.int64(sig[c, i + 1, j + 1] & SIGNIFICANT)
            band = _band_class(min(rowlev[r0], collev[c0]), levels)
            any_sibling = np.int64(0)
            for a in range(4):
                ci = r0 + (a >> 1)
                cj = c0 + (a & 1)
                ctx = (_offspring_context(sig, band, c, ci, cj, any_sibling, parent_sig, mode, coef, n, rowlev, collev,
                                          hl, wl, hp2, levels)
                       if arith is not None else 0)
                bit = 0
                if not decoding:
                    bit = 1 if (_magnitude(coef, c, ci, cj) & bitn) != 0 else 0
                bit, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, bit)
                if bit < 0:
                    return regs, n_lis, n_lip, n_lsp, True
                if bit == 1:
                    any_sibling = 1
                    ctx = 0
                    if arith is not None:
                        ctx = _sign_context(sig, rowlev, collev, levels, c, ci, cj, mode)
                    s = 0 if decoding or coef[c, ci, cj] >= 0 else 1
                    s, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, s)
                    if s < 0:
                        return regs, n_lis, n_lip, n_lsp, True
                    _now_significant(decoding, sig, out_val, lsp, lsp_plane, n_lsp, n, c, ci, cj, s)
                    n_lsp += 1
                else:
                    lip[n_lip] = _pack(c, ci, cj)
                    n_lip += 1
                if not decoding and state[STATE_DONE] != 0:
                    return regs, n_lis, n_lip, n_lsp, True
            if r0 < hp2 and c0 < wp2:  # L(i, j) not empty: to the end of the LIS as type B
                lis[n_lis] = p
                lis_b[n_lis] = 1
                n_lis += 1
        else:
            for a in range(4):  # step 2.2.2: each offspring to the end of the LIS as type A
                lis[n_lis] = _pack(c, r0 + (a >> 1), c0 + (a & 1))
                lis_b[n_lis] = 0
                n_lis += 1
        k += 1
        if not decoding and state[STATE_DONE] != 0:
            return regs, n_lis, n_lip, n_lsp, True
    return regs, w, n_lip, n_lsp, False


@_pass
def refinement_pass(decoding, arith, regs, coder, tree, maps, lists, lsp_old, n):
    """Refinement pass, step 3: the n-th magnitude bit of each entry significant before plane ``n``.

    Returns ``(regs, refined, done)``: how many of the ``lsp_old`` entries were refined.
    """
    state, buf, probs, counts, stats = coder
    hl, wl, hp2, wp2, levels, rowlev, collev, mode = tree
    coef, sig, _, _, out_val = maps
    lip, lsp, lsp_plane, _, _ = lists
    bitn = np.int64(1) << n
    for k in range(lsp_old):
        p = lsp[k]
        c, i, j = _unpack(p)
        ctx = 0
        if arith is not None:
            band = _band_class(min(rowlev[i], collev[j]), levels)
            ctx = _refinement_context(sig, band, c, i, j, 1 if lsp_plane[k] == n + 1 else 0)
        bit = 0
        if not decoding:
            bit = 1 if (_magnitude(coef, c, i, j) & bitn) != 0 else 0
        bit, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, bit)
        if bit < 0:
            return regs, k, True
        if decoding and bit == 1:
            out_val[c, i, j] |= np.int32(1) << n
        if not decoding and state[STATE_DONE] != 0:
            return regs, k + 1, True
    return regs, lsp_old, False


def workspace(decoding: bool, coef, out_val, levels: int, rowlev, collev, mode: int = 0):
    """Allocate what :func:`spiht_code` works in: ``(tree, maps, lists)``.

    ``coef``: the encoder's signed int32 coefficients (C, hp, wp) (the decoder's
    ``out_val`` stands in for them); ``out_val``: the decoder's magnitude bits
    (int32, zero-filled; a dummy for the encoder).  ``rowlev[i]``/``collev[j]``:
    decomposition level of row/column ``i``/``j`` in the tree layout (``levels + 1``
    inside the LL slot); a node's level is the minimum.

    (Plain Python: allocating here keeps NumPy's allocation routines out of the
    compiled kernels, and with them Numba's reference counting.)  The encoder's
    ``d_top``/``l_top`` hold the set top planes of :func:`descendant_top` (a byte
    per node); the significance and sign maps have a one-sample zero border
    (context modelling); the lists are allocated at their largest possible size
    but only the part that coding reaches is ever touched (and so resident).
    """
    nc, hp, wp = coef.shape
    hp2, wp2 = hp // 2, wp // 2
    hl, wl = hp >> levels, wp >> levels  # the LL slot
    tree = Tree(hl, wl, hp2, wp2, levels, rowlev, collev, mode)
    if decoding:
        d_top = l_top = np.zeros((1, 1, 1), dtype=np.int8)
    else:
        d_top = np.zeros((nc, hp2, wp2), dtype=np.int8)
        l_top = np.zeros((nc, max(hp // 4, 1), max(wp // 4, 1)), dtype=np.int8)
        descendant_top(coef, d_top, l_top, hl, wl, levels, np.empty(wp, dtype=np.uint32), np.empty(wp // 2))
    sig = np.zeros((nc, hp + 2, wp + 2), dtype=np.uint8)
    maps = Maps(coef, sig, d_top, l_top, out_val)
    total = nc * hp * wp
    # a node enters the LIS at most twice per pass (as type A, then as type B), and
    # compaction never lets the write index pass the read index
    n_lis_cap = 3 * nc * hp2 * wp2 + 16
    lists = Lists(
        np.empty(total, dtype=np.int64),  # LIP
        np.empty(total, dtype=np.int64),  # LSP
        np.empty(total, dtype=np.int8),  # plane at which each LSP entry became significant
        np.empty(n_lis_cap, dtype=np.int64),  # LIS
        np.empty(n_lis_cap, dtype=np.uint8),  # LIS entry type: 0 = A (set D), 1 = B (set L)
    )
    return tree, maps, lists


def spiht_code(decoding, arith, tree, maps, lists, coder, n_max, n_min):
    """Run SPIHT from bit-plane ``n_max`` down to ``n_min`` (or until the coder is done).

    Encoder (``decoding`` False): reads ``maps.coef`` (and the set top planes
    ``d_top``/``l_top``) and writes bits to ``coder.buf``.  Decoder: reads bits
    from ``coder.buf``; the decoded state is left in ``maps.out_val`` (magnitude bits
    known so far, as an integer) and ``maps.sig`` (significance and signs, with a border).  ``coder.stats`` (contexts
    x 2, or empty) counts the encoder's symbols per context.  Arrays come from
    :func:`workspace`.

    Returns ``(n, lsp_count, refined, lsp_old)``: the bit-plane being coded when
    coding stopped, the LSP size (``lists.lsp``, with ``lists.lsp_plane`` the plane
    at which each entry became significant), and how many of the ``lsp_old``
    entries that were significant before that plane had been refined.  Together
    with ``out_val`` this tells the decoder the uncertainty interval of every
    coefficient.

    A Python function: the loop over bit-planes calls the compiled passes (three
    calls per plane), which saves compiling a driver that would link, optimise and
    emit every pass once more (measured: about 1 s of a cold start).
    """
    hl, wl, levels = tree.hl, tree.wl, tree.levels
    nc = maps.sig.shape[0]
    # step 1: the LL coefficients in the LIP (raster order, plane by plane), those
    # with offspring in the LIS as type A: in each 2x2 group of the LL slot all but
    # the top-left member (and none when there are no levels)
    c, i, j = (a.ravel() for a in np.meshgrid(np.arange(nc), np.arange(hl), np.arange(wl), indexing="ij"))
    ll = (c.astype(np.int64) << _SHIFT_C) | (i.astype(np.int64) << _SHIFT_I) | j.astype(np.int64)
    n_lip = ll.size
    lists.lip[:n_lip] = ll
    roots = ll[((i & 1) | (j & 1)) != 0] if levels > 0 else ll[:0]
    n_lis = roots.size
    lists.lis[:n_lis] = roots
    lists.lis_b[:n_lis] = 0

    regs = coder_registers(decoding, coder.state)
    n_lsp = 0
    n = n_max
    lsp_old = refined = 0
    done = False
    while n >= n_min:
        lsp_old = n_lsp
        refined = 0
        regs, n_lip, n_lsp, done = sort_lip(decoding, arith, regs, coder, tree, maps, lists, n_lip, n_lsp, n)
        if done:
            break
        regs, n_lis, n_lip, n_lsp, done = sort_lis(decoding, arith, regs, coder, tree, maps, lists,
                                                   n_lis, n_lip, n_lsp, n)
        if done:
            break
        regs, refined, done = refinement_pass(decoding, arith, regs, coder, tree, maps, lists, lsp_old, n)
        if done:
            break
        n -= 1  # step 4: quantisation-step update
    if arith is not None:  # hand the registers back (the encoder's flush needs them)
        save_registers(decoding, coder.state, regs)
    if not done:  # all planes coded: everything is known down to n_min
        return n_min - 1, n_lsp, 0, n_lsp
    return n, n_lsp, refined, lsp_old


@helper
def _known_plane(k, lsp_plane, n_stop, refined, lsp_old):
    """Lowest bit-plane known for LSP entry ``k`` when coding stopped at plane ``n_stop``."""
    if k < lsp_old:
        low = n_stop if k < refined else n_stop + 1
    else:
        low = n_stop
    return low if low > 0 else 0


@njit(cache=True)
def optimal_offsets(coef, lsp, lsp_plane, n_lsp, n_stop, refined, lsp_old):
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
        c, i, j = _unpack(p)
        low = _known_plane(k, lsp_plane, n_stop, refined, lsp_old)
        if low == 0:
            continue
        width = np.int64(1) << low
        m = _magnitude(coef, c, i, j)
        frac = ((m & (width - 1)) + 0.5) / width  # +0.5: magnitudes are truncated to integers
        g = 0 if lsp_plane[k] == low else 1
        sums[g] += frac
        cnt[g] += 1
    return interval_means(sums, cnt)


@njit(cache=True)
def distortion_reduction(coef, lsp, lsp_plane, n_lsp, n_stop, refined, lsp_old, offset_fresh, offset_refined):
    """Encoder side: how much the decoded significant coefficients reduce the squared error.

    Sum over the LSP of ``m**2 - (m - r)**2``, with ``m`` the magnitude (taken at the
    centre ``|coef| + 0.5`` of its truncation interval) and ``r`` the decoder's
    reconstruction from the final state; the squared error of the whole decoded
    coefficient set is the total energy minus this.  Lets the encoder compare
    quantiser steps without decoding.
    """
    acc = 0.0
    for k in range(n_lsp):
        p = lsp[k]
        c, i, j = _unpack(p)
        low = _known_plane(k, lsp_plane, n_stop, refined, lsp_old)
        mi = _magnitude(coef, c, i, j)
        m = np.float64(mi) + 0.5
        width = np.int64(1) << low
        known = np.float64((mi >> low) << low)
        if low == 0:
            r = known + 0.5
        else:
            off = offset_fresh if lsp_plane[k] == low else offset_refined
            r = known + width * off
        acc += m * m - (m - r) * (m - r)
    return acc


@njit(cache=True, _nrt=False)
def final_codes(out_val, sig, lsp, lsp_plane, n_lsp, n_stop, refined, lsp_old):
    """Decoder: turn ``out_val`` in place into the coefficient codes of
    :func:`.coefficients.expand_codes`, from the LSP and the sign map.

    Each significant coefficient is known to lie in ``[v, v + 2**low)`` (``v`` its
    decoded bits, ``low`` the lowest plane decoded for it: :func:`_known_plane`);
    its code is ``+-((v << 1) | (1 << low))``, with the sign of the coefficient.
    After this the LSP and the maps are no longer needed.
    """
    for k in range(n_lsp):
        p = lsp[k]
        c, i, j = _unpack(p)
        low = _known_plane(k, lsp_plane, n_stop, refined, lsp_old)
        code = (np.int64(out_val[c, i, j]) << 1) | (np.int64(1) << low)
        out_val[c, i, j] = -code if sig[c, i + 1, j + 1] & NEGATIVE else code
