"""SPIHT coding kernels (Said & Pearlman, IEEE TCSVT 6(3), 1996), in Numba.

The kernel follows the paper's algorithm (Sec. III): :func:`spiht_code` runs
the initialisation (step 1) and, per bit-plane, the sorting pass over the LIP
(:func:`sort_lip`, step 2.1) and over the LIS (:func:`sort_lis`, step 2.2) and
the refinement pass (:func:`refinement_pass`, step 3).  Every binary decision
goes through :func:`.arith.code_decision`, which encodes or decodes it (raw bits
or adaptive arithmetic coding in the contexts of :func:`spiht_context_count`).

One kernel runs the encoder and the decoder (``decoding`` flag), so both take
exactly the same path through the lists: every place where the encoder *emits*
a bit the decoder *reads* it.  ``decoding`` is an ordinary run-time bool (one
compilation serves both directions); ``arith`` is ``None`` (raw bits) or ``True``:
the raw-bits variant compiles separately, without the arithmetic coder (Numba
prunes branches on a ``None`` argument; with ``True`` both paths are compiled).

How it is compiled (measured with ``benchmarks/bench_coldstart.py`` and
interleaved warm A/B runs; the decorators are in :mod:`.jit`):

* the passes are compiled with ``_nrt=False`` (``array_helper``): they only read
  and write arrays they are given (:func:`workspace` allocates them in Python),
  so they need none of Numba's reference counting, which would otherwise cost
  atomic operations on every call with array arguments (2-3x the coding time);
* the encoder's side of :func:`.arith.code_decision` and the context helpers
  are inlined in Numba's IR (``inline="always"``): as calls, passing their
  arrays cost 10-30 % of the coding time (the sign context as a call: colour
  encoding 1.1x slower); the decoder's side is a call, compiled once, which
  LLVM inlines.

Coefficients are in the zero-padded dyadic tree layout of
:mod:`wavecodec.transform`: array ``coef[c, i, j]`` (signed int32, magnitudes
below ``2**30``: integer bit-planes) for plane ``c``; the coarsest LL slot is ``hl x wl`` (both even).

Trees (paper Sec. III, Fig. 2):

* outside the LL slot, node ``(i, j)`` with ``i < hp/2`` and ``j < wp/2`` has the
  offspring ``O(i, j) = {(2i, 2j), (2i, 2j+1), (2i+1, 2j), (2i+1, 2j+1)}``; nodes of
  the finest level have none;
* in the LL slot the coefficients form 2x2 groups; the top-left member of a group
  has no offspring, each other member ``(2a+di, 2b+dj)`` has the 2x2 block at
  ``(di*hl + 2a, dj*wl + 2b)`` in the coarsest detail band of its orientation.

Lists are flat arrays of packed coordinates ``(c << shift_c) | (i << shift_i) | j``
(:func:`.trees.pack_at`: int32 up to 2**31 samples, 4 bytes per entry); the LIS
is processed as a queue within a pass (entries appended during the pass are
visited in the same pass), compacted in place.

Nothing here validates or allocates: :func:`workspace` allocates, the Python
wrapper (:mod:`wavecodec.coders.spiht`) sizes the buffers and checks the header.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .jit import array_helper, helper
from .jit import python_array_kernel as _pass
from .pages import list_buffer, release_beyond, zeroed_buffer
from .prefetch import LOOKAHEAD, prefetch
from .unaligned import load_le64, store_le64

from .arith import STATE_DONE, code_decision, coder_registers, passes_done as _passes_done, save_registers
from .trees import N_BAND
from .trees import band_class as _band_class
from .trees import magnitude as _magnitude
from .trees import NEGATIVE, SIGNIFICANT, top_plane
from .trees import interval_means
from .trees import diagonal_neighbours, four_neighbours, orientation, sign_context
from .trees import SHIFT_C, SHIFT_I, list_shifts
from .trees import pack_at as _pack
from .trees import unpack_at as _unpack

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


@helper
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


@njit(cache=True, _nrt=False)
def descendant_top(coef, d_top, l_top, hl, wl, levels, row_or, row_float):
    """Fill ``d_top`` (C, hp/2, wp/2) and ``l_top`` (C, hp/4, wp/4), int8, with the top bit-plane
    (:func:`top_plane`) of the largest magnitude in D(i, j) and in L(i, j), for every node
    with offspring (``l_top`` for the nodes whose offspring have offspring).

    ``max |c| >= 2**n`` over a set iff its top plane is ``>= n``, so these two arrays
    answer every set-significance test of SPIHT in O(1), in a byte per node.  Rows are
    visited bottom to top, which sees every child before its parent.  Below the LL band
    a node's offspring are the 2x2 block at ``(2i, 2j)``, and a row takes loops without
    branches that LLVM vectorises: the OR of the magnitudes of the two offspring rows,
    column by column, into ``row_or`` (uint32, at least ``W``); each node's pair of
    columns, as float64 into ``row_float`` (at least ``W / 2``), whose exponent is the top
    plane (exact below 2**53; 0.0 gives -1); then the largest ``d_top`` of the offspring
    where they have offspring of their own.  (Measured at 8192^2: 0.05 s instead of 0.15 s
    node by node.)  The rows of the LL band (whose 2x2 groups point into the bands beside
    it) go node by node (:func:`_descendant_top_row`).  Same maxima either way.
    """
    nc, hp2, wp2 = d_top.shape
    if levels == 0:
        return
    wp = 2 * wp2
    exponents = row_float[:wp2].view(np.int64)
    for c in range(nc):
        for i in range(hp2 - 1, -1, -1):
            if i < hl:
                _descendant_top_row(coef, d_top, l_top, hl, wl, levels, c, i)
                continue
            r0 = 2 * i
            q0 = coef[c, r0]
            q1 = coef[c, r0 + 1]
            for x in range(wp):
                a = q0[x]
                b = q1[x]
                row_or[x] = np.uint32(a if a >= 0 else -a) | np.uint32(b if b >= 0 else -b)
            for j in range(wp2):
                row_float[j] = np.float64(row_or[2 * j] | row_or[2 * j + 1])
            out = d_top[c, i]
            inner = (wp2 + 1) // 2 if r0 < hp2 else 0  # nodes whose offspring have offspring
            if inner > 0:
                d0 = d_top[c, r0]
                d1 = d_top[c, r0 + 1]
                sets = l_top[c, i]
                for j in range(inner):
                    below = max(max(d0[2 * j], d0[2 * j + 1]), max(d1[2 * j], d1[2 * j + 1]))
                    own = max((exponents[j] >> 52) - 1023, -1)
                    out[j] = max(np.int8(own), below)
                    sets[j] = below
            for j in range(inner, wp2):
                out[j] = np.int8(max((exponents[j] >> 52) - 1023, -1))


@array_helper
def _descendant_top_row(coef, d_top, l_top, hl, wl, levels, c, i):
    """Row ``i`` of :func:`descendant_top` node by node, right to left (the LL band's rows)."""
    nc, hp2, wp2 = d_top.shape
    for j in range(wp2 - 1, -1, -1):
        r0, c0 = _offspring(i, j, hl, wl, hp2, wp2, levels)
        if r0 < 0:
            continue
        own = np.int64(0)  # OR of the offspring magnitudes: same top plane as their maximum
        below = -1  # largest top plane of the offspring's own sets D
        inner = r0 < hp2 and c0 < wp2
        for a in range(2):
            for b in range(2):
                own |= _magnitude(coef, c, r0 + a, c0 + b)
                if inner:
                    below = max(below, np.int64(d_top[c, r0 + a, c0 + b]))
        d_top[c, i, j] = max(top_plane(own), below)
        if inner:
            l_top[c, i, j] = below


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
Tree = namedtuple("Tree", ["hl", "wl", "hp2", "wp2", "levels", "rowlev", "collev", "shift_c", "shift_i"])
Maps = namedtuple("Maps", ["coef", "sig", "d_top", "l_top", "out_val"])
# The LSP: ``lsp`` (a byte stream) and ``lsp_sizes`` (2 bits an entry), see :func:`_append_lsp`;
# ``lsp_tail``: the stream's length in bytes and its last entry, kept between passes; ``lsp_ahead``:
# the refinement pass's ring of the entries it has read ahead of the one it codes
Lists = namedtuple("Lists", ["lip", "lsp", "lsp_sizes", "lsp_tail", "lsp_ahead", "lis", "lis_b"])
AHEAD_RING = 16  # a power of two above LOOKAHEAD


@njit(cache=True, inline="always")
def _append_lsp(lsp, lsp_sizes, k, pos, last, p):
    """Append entry ``p`` to the LSP as its ``k``-th entry.

    The LSP is only ever appended to and read from its start (refinement pass, final codes), and
    consecutive entries are mostly near each other (offspring of one node, nodes of one band), so
    it is kept as the differences between consecutive entries (the first: from 0), each
    zigzag-mapped to ``z >= 0`` and written little-endian in 1, 2, 3 or 5 bytes of ``lsp``, with
    that size's code (0-3) in 2 bits of ``lsp_sizes``: 2.16 bytes an entry instead of 4 and a
    plane byte for a lossless 2048^2 Kodak mosaic, where 86% of the coefficients end in the LSP.
    With the sizes apart, a reader finds where each entry starts without reading the one before,
    and neither side branches on the size (8 bytes are written, the next entry overwrites the
    rest).  ``pos``: the stream's length in bytes, ``last``: its last entry; returns them
    updated.  (The passes keep them in local variables: a store to memory on every append made
    the sorting passes slower.)
    """
    d = np.int64(p) - last
    z = (d << 1) ^ (d >> 63)
    code = np.int64(z >= 256) + np.int64(z >= 65536) + np.int64(z >= 16777216)
    store_le64(lsp, pos, z)
    lsp_sizes[k >> 2] |= np.uint8(code << (2 * (k & 3)))
    return pos + code + 1 + np.int64(code == 3), np.int64(p)


@njit(cache=True, inline="always")
def _save_tail(lsp_tail, lsp_pos, lsp_last):
    """Keep the LSP stream's length and last entry between passes (in ``lsp_tail``)."""
    lsp_tail[0] = lsp_pos
    lsp_tail[1] = lsp_last


@njit(cache=True, inline="always")
def _next_lsp(lsp, lsp_sizes, k, pos, p):
    """LSP entry ``k``, whose bytes start at ``pos``, ``p`` the entry before it (:func:`_append_lsp`;
    for the first entry ``pos = p = 0``).  Returns ``(pos, entry)``, ``pos`` past the entry's bytes.

    The one-pass walks (final codes, the encoder's estimates) read the LSP twice, LOOKAHEAD
    entries apart: the entry coded and the one whose memory is prefetched; the refinement pass
    reads it once, into a ring (2.0 against 3.1 ns an entry, a loop over 400,000 entries).
    """
    code = (np.int64(lsp_sizes[k >> 2]) >> (2 * (k & 3))) & 3
    size = code + 1 + np.int64(code == 3)
    z = load_le64(lsp, pos) & ((np.int64(1) << (8 * size)) - 1)
    return pos + size, p + ((z >> 1) ^ -(z & 1))


@njit(cache=True, inline="always")
def _pixel_context(sig, rowlev, collev, hl, wl, hp2, wp2, levels, c, i, j):
    """Context of a LIP pixel's significance: band, neighbours, parent and offspring significance."""
    hv, dg = _neigh(sig, c, i, j)
    ps = _parent_sig(sig, c, i, j, hl, wl)
    ch = _children_sig(sig, c, i, j, hl, wl, hp2, wp2, levels)
    band = _band_class(min(rowlev[i], collev[j]), levels)
    chroma = 1 if c > 0 else 0
    return CTX_PIX + (((((chroma * N_BAND + band) * 3 + hv) * 3 + dg) * 2 + ps) * 2 + ch)


@njit(cache=True, inline="always")
def _offspring_context(sig, band, c, i, j, any_sibling, parent_sig):
    """Context of an offspring pixel's significance (tested when its parent's set D turns significant)."""
    hv, dg = _neigh(sig, c, i, j)
    chroma = 1 if c > 0 else 0
    return CTX_OFF + ((((chroma * N_BAND + band) * 3 + hv) * 3 + dg) * 2 + any_sibling) * 2 + parent_sig


@njit(cache=True, inline="always")
def _set_context(sig, band, typ, c, i, j, r0, c0):
    """Context of the significance of D(i, j) (``typ`` 0) or L(i, j) (``typ`` 1)."""
    chroma = 1 if c > 0 else 0
    node_sig = np.int64(sig[c, i + 1, j + 1] & SIGNIFICANT)
    if typ == 0:
        hv, dg = _neigh(sig, c, i, j)
        nb = min(hv + dg, 3)
        return CTX_SETA + (((chroma * N_BAND + band) * 2 + node_sig) * 4 + nb) * 3 + _ring_sig(sig, c, r0, c0)
    children = (
        np.int64(sig[c, r0 + 1, c0 + 1] & SIGNIFICANT) + np.int64(sig[c, r0 + 1, c0 + 2] & SIGNIFICANT)
        + np.int64(sig[c, r0 + 2, c0 + 1] & SIGNIFICANT) + np.int64(sig[c, r0 + 2, c0 + 2] & SIGNIFICANT)
    )
    return CTX_SETB + ((chroma * N_BAND + band) * 2 + node_sig) * 3 + min(children, 2)


@njit(cache=True, inline="always")
def _first_refinement(known, n):
    """1 if the refinement at plane ``n`` of a coefficient whose magnitude bits above ``n`` are
    ``known`` is its first: it became significant at plane ``n + 1``, so that bit is its only one."""
    return 1 if (known >> (n + 1)) == 1 else 0


@njit(cache=True, inline="always")
def _refinement_context(sig, band, c, i, j, first):
    """Context of a refinement bit: band, first refinement or not, any significant neighbour."""
    hv, dg = _neigh(sig, c, i, j)
    chroma = 1 if c > 0 else 0
    anyn = 1 if hv + dg > 0 else 0
    return CTX_REF + ((chroma * N_BAND + band) * 2 + first) * 2 + anyn


@njit(cache=True, inline="always")
def _sign_context(sig, rowlev, collev, levels, c, i, j):
    """Context of a sign bit: band orientation and the neighbours' signs (EBCOT's sign contexts)."""
    return CTX_SIGN + sign_context(sig, c, i, j, orientation(rowlev[i], collev[j], levels))


@njit(cache=True, inline="always")
def _prefetch_pixel(values, sig, c, i, j):
    """Prefetch what coding pixel (c, i, j) reads: its value and its 3x3 neighbourhood in ``sig``."""
    prefetch(values, c, i, j)
    prefetch(sig, c, i, j + 1)
    prefetch(sig, c, i + 1, j + 1)
    prefetch(sig, c, i + 2, j + 1)


@_pass
def sort_lip(decoding, arith, regs, coder, tree, maps, lists, n_lip, n_lsp, n):
    """Sorting pass, step 2.1: test each pixel of the LIP for significance at plane ``n``.

    A significant pixel gets its sign coded and moves to the LSP (step 2.1.1); the
    others stay in the LIP, in order.  Returns ``(regs, n_lip, n_lsp, done)``.
    """
    state, buf, probs, counts, stats = coder
    hl, wl, hp2, wp2, levels, rowlev, collev, shc, shi = tree
    coef, sig, _, _, out_val = maps
    lip, lsp, lsp_sizes, lsp_tail, _, _, _ = lists
    lsp_pos, lsp_last = lsp_tail[0], lsp_tail[1]
    bitn = np.int64(1) << n
    values = out_val if decoding else coef
    w = 0
    for k in range(n_lip):
        if k + LOOKAHEAD < n_lip:  # the pixel, its neighbours, its parent and its offspring
            pc, pi, pj = _unpack(lip[k + LOOKAHEAD], shc, shi)
            _prefetch_pixel(values, sig, pc, pi, pj)
            prefetch(sig, pc, (pi >> 1) + 1, (pj >> 1) + 1)
            if pi < hp2 and pj < wp2:
                prefetch(sig, pc, 2 * pi + 1, 2 * pj + 1)
                prefetch(sig, pc, 2 * pi + 2, 2 * pj + 1)
        p = lip[k]
        c, i, j = _unpack(p, shc, shi)
        ctx = 0
        if arith is not None:
            ctx = _pixel_context(sig, rowlev, collev, hl, wl, hp2, wp2, levels, c, i, j)
        bit = 0
        if not decoding:
            bit = 1 if (_magnitude(coef, c, i, j) & bitn) != 0 else 0
        bit, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, bit)
        if bit < 0:
            _save_tail(lsp_tail, lsp_pos, lsp_last)
            return regs, n_lip, n_lsp, True
        if bit == 1:
            ctx = 0
            if arith is not None:
                ctx = _sign_context(sig, rowlev, collev, levels, c, i, j)
            s = 0 if decoding or coef[c, i, j] >= 0 else 1
            s, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, s)
            if s < 0:
                _save_tail(lsp_tail, lsp_pos, lsp_last)
                return regs, n_lip, n_lsp, True
            lsp_pos, lsp_last = _now_significant(decoding, sig, out_val, lsp, lsp_sizes, n_lsp, lsp_pos, lsp_last,
                                                 n, c, i, j, s, shc, shi)
            n_lsp += 1
        else:
            lip[w] = p
            w += 1
        if not decoding and state[STATE_DONE] != 0:  # the encoder's budget is spent
            _save_tail(lsp_tail, lsp_pos, lsp_last)
            return regs, n_lip, n_lsp, True
    _save_tail(lsp_tail, lsp_pos, lsp_last)
    return regs, w, n_lsp, False


@njit(cache=True, inline="always")
def _now_significant(decoding, sig, out_val, lsp, lsp_sizes, n_lsp, lsp_pos, lsp_last, n, c, i, j, s, shc, shi):
    """Record (i, j), significant at plane ``n`` with sign ``s`` (1: negative), and append it to the
    LSP as entry ``n_lsp`` (:func:`_append_lsp`: returns the stream's new ``(lsp_pos, lsp_last)``)."""
    sig[c, i + 1, j + 1] = SIGNIFICANT | (NEGATIVE if s != 0 else 0)
    if decoding:
        out_val[c, i, j] = np.int32(1) << n
    return _append_lsp(lsp, lsp_sizes, n_lsp, lsp_pos, lsp_last, _pack(c, i, j, shc, shi))


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
    hl, wl, hp2, wp2, levels, rowlev, collev, shc, shi = tree
    coef, sig, d_top, l_top, out_val = maps
    lip, lsp, lsp_sizes, lsp_tail, _, lis, lis_b = lists
    lsp_pos, lsp_last = lsp_tail[0], lsp_tail[1]
    bitn = np.int64(1) << n
    w = 0
    k = 0
    while k < n_lis:
        if k + LOOKAHEAD < n_lis:  # the node's neighbourhood and its offspring block with their ring
            pc, pi, pj = _unpack(lis[k + LOOKAHEAD], shc, shi)
            pr, pq = _offspring(pi, pj, hl, wl, hp2, wp2, levels)
            prefetch(sig, pc, pi, pj + 1)
            prefetch(sig, pc, pi + 1, pj + 1)
            prefetch(sig, pc, pi + 2, pj + 1)
            if pr >= 0:
                if not decoding:
                    prefetch(d_top, pc, pi, pj)
                    prefetch(coef, pc, pr, pq)
                    prefetch(coef, pc, pr + 1, pq)
                for a in range(4):
                    prefetch(sig, pc, pr + a, pq + 1)
        p = lis[k]
        typ = lis_b[k]
        c, i, j = _unpack(p, shc, shi)
        r0, c0 = _offspring(i, j, hl, wl, hp2, wp2, levels)
        ctx = 0
        if arith is not None:
            ctx = _set_context(sig, _band_class(min(rowlev[i], collev[j]), levels), typ, c, i, j, r0, c0)
        bit = 0
        if not decoding:
            top = d_top[c, i, j] if typ == 0 else l_top[c, i, j]
            bit = 1 if top >= n else 0
        bit, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, bit)
        if bit < 0:
            _save_tail(lsp_tail, lsp_pos, lsp_last)
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
                ctx = _offspring_context(sig, band, c, ci, cj, any_sibling, parent_sig) if arith is not None else 0
                bit = 0
                if not decoding:
                    bit = 1 if (_magnitude(coef, c, ci, cj) & bitn) != 0 else 0
                bit, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, bit)
                if bit < 0:
                    _save_tail(lsp_tail, lsp_pos, lsp_last)
                    return regs, n_lis, n_lip, n_lsp, True
                if bit == 1:
                    any_sibling = 1
                    ctx = 0
                    if arith is not None:
                        ctx = _sign_context(sig, rowlev, collev, levels, c, ci, cj)
                    s = 0 if decoding or coef[c, ci, cj] >= 0 else 1
                    s, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, s)
                    if s < 0:
                        _save_tail(lsp_tail, lsp_pos, lsp_last)
                        return regs, n_lis, n_lip, n_lsp, True
                    lsp_pos, lsp_last = _now_significant(decoding, sig, out_val, lsp, lsp_sizes, n_lsp, lsp_pos,
                                                         lsp_last, n, c, ci, cj, s, shc, shi)
                    n_lsp += 1
                else:
                    lip[n_lip] = _pack(c, ci, cj, shc, shi)
                    n_lip += 1
                if not decoding and state[STATE_DONE] != 0:
                    _save_tail(lsp_tail, lsp_pos, lsp_last)
                    return regs, n_lis, n_lip, n_lsp, True
            if r0 < hp2 and c0 < wp2:  # L(i, j) not empty: to the end of the LIS as type B
                lis[n_lis] = p
                lis_b[n_lis] = 1
                n_lis += 1
        else:
            for a in range(4):  # step 2.2.2: each offspring to the end of the LIS as type A
                lis[n_lis] = _pack(c, r0 + (a >> 1), c0 + (a & 1), shc, shi)
                lis_b[n_lis] = 0
                n_lis += 1
        k += 1
        if not decoding and state[STATE_DONE] != 0:
            _save_tail(lsp_tail, lsp_pos, lsp_last)
            return regs, n_lis, n_lip, n_lsp, True
    _save_tail(lsp_tail, lsp_pos, lsp_last)
    return regs, w, n_lip, n_lsp, False


@_pass
def refinement_pass(decoding, arith, regs, coder, tree, maps, lists, lsp_old, n):
    """Refinement pass, step 3: the n-th magnitude bit of each entry significant before plane ``n``.

    The context's "first refinement" is read off the magnitude bits known above plane ``n``
    (:func:`_first_refinement`).  Returns ``(regs, refined, done)``: how many of the
    ``lsp_old`` entries were refined.
    """
    state, buf, probs, counts, stats = coder
    hl, wl, hp2, wp2, levels, rowlev, collev, shc, shi = tree
    coef, sig, _, _, out_val = maps
    _, lsp, lsp_sizes, _, ring, _, _ = lists
    bitn = np.int64(1) << n
    values = out_val if decoding else coef
    # the LSP is read LOOKAHEAD entries ahead of the entry coded (to prefetch what that one
    # reads), into a ring of AHEAD_RING entries
    pos = ahead = np.int64(0)
    for t in range(min(LOOKAHEAD, lsp_old)):
        pos, ahead = _next_lsp(lsp, lsp_sizes, t, pos, ahead)
        ring[t] = ahead
    for k in range(lsp_old):
        if k + LOOKAHEAD < lsp_old:
            pos, ahead = _next_lsp(lsp, lsp_sizes, k + LOOKAHEAD, pos, ahead)
            ring[(k + LOOKAHEAD) & (AHEAD_RING - 1)] = ahead
            pc, pi, pj = _unpack(ahead, shc, shi)
            _prefetch_pixel(values, sig, pc, pi, pj)
        c, i, j = _unpack(ring[k & (AHEAD_RING - 1)], shc, shi)
        ctx = 0
        if arith is not None:
            band = _band_class(min(rowlev[i], collev[j]), levels)
            known = np.int64(out_val[c, i, j]) if decoding else _magnitude(coef, c, i, j)
            ctx = _refinement_context(sig, band, c, i, j, _first_refinement(known, n))
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


def workspace(decoding: bool, coef, out_val, levels: int, rowlev, collev, mapped: bool = False):
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
    but only the part that coding reaches is ever touched (and so resident).  With
    ``mapped`` (the wrapper's choice for big images) the LIP and LIS are
    :func:`.pages.list_buffer` memory, whose pages past their used part
    :func:`spiht_code` gives back between passes, and the significance map a map of its
    own too (:func:`.pages.zeroed_buffer`: its memory goes back to the system when it is
    freed, before the codes are expanded; from the allocator's heap it could stay with
    the process, a byte per sample); otherwise ordinary arrays, which the
    allocator reuses from call to call without the system's page faults.
    """
    nc, hp, wp = coef.shape
    hp2, wp2 = hp // 2, wp // 2
    hl, wl = hp >> levels, wp >> levels  # the LL slot
    shc, shi, entry = list_shifts(nc, hp, wp)
    if nc << shc > 1 << 37:  # the LSP stream's 5-byte differences hold 37-bit entries (2**37 int32 coefficients: 512 GB)
        raise ValueError(f"SPIHT lists cannot address a {nc}x{hp}x{wp} tree layout")
    tree = Tree(hl, wl, hp2, wp2, levels, rowlev, collev, shc, shi)
    if decoding:
        d_top = l_top = np.zeros((1, 1, 1), dtype=np.int8)
    else:
        d_top = np.zeros((nc, hp2, wp2), dtype=np.int8)
        l_top = np.zeros((nc, max(hp // 4, 1), max(wp // 4, 1)), dtype=np.int8)
        descendant_top(coef, d_top, l_top, hl, wl, levels, np.empty(wp, dtype=np.uint32), np.empty(wp2))
    bordered = (nc, hp + 2, wp + 2)
    sig = zeroed_buffer(bordered, np.uint8, huge=True) if mapped else np.zeros(bordered, np.uint8)
    maps = Maps(coef, sig, d_top, l_top, out_val)
    total = nc * hp * wp
    # a node enters the LIS at most twice per pass (as type A, then as type B), and
    # compaction never lets the write index pass the read index
    n_lis_cap = 3 * nc * hp2 * wp2 + 16
    alloc = list_buffer if mapped else np.empty
    lists = Lists(
        alloc(total, entry),  # LIP
        np.empty(5 * total + 8, dtype=np.uint8),  # the LSP's bytes (:func:`_append_lsp`): <= 5 an entry, 8 to spare
        np.zeros(total // 4 + 1, dtype=np.uint8),  # the size codes of the LSP's entries, 2 bits each
        np.zeros(2, dtype=np.int64),  # the LSP stream's length in bytes and its last entry
        np.empty(AHEAD_RING, dtype=np.int64),  # the refinement pass's entries read ahead
        alloc(n_lis_cap, entry),  # LIS
        alloc(n_lis_cap, np.uint8),  # LIS entry type: 0 = A (set D), 1 = B (set L)
    )
    return tree, maps, lists


def spiht_code(decoding, arith, tree, maps, lists, coder, n_max, n_min, on_pass=None):
    """Run SPIHT from bit-plane ``n_max`` down to ``n_min`` (or until the coder is done).

    Encoder (``decoding`` False): reads ``maps.coef`` (and the set top planes
    ``d_top``/``l_top``) and writes bits to ``coder.buf``.  Decoder: reads bits
    from ``coder.buf``; the decoded state is left in ``maps.out_val`` (magnitude bits
    known so far, as an integer) and ``maps.sig`` (significance and signs, with a border).  ``coder.stats`` (contexts
    x 2, or empty) counts the encoder's symbols per context.  Arrays come from
    :func:`workspace`.

    Returns ``(n, lsp_count, refined, lsp_old)``: the bit-plane being coded when
    coding stopped, the number of LSP entries (``lists.lsp``, a byte stream that
    :func:`_next_lsp` reads), and how many of the ``lsp_old``
    entries that were significant before that plane had been refined.  Together
    with ``out_val`` this tells the decoder the uncertainty interval of every
    coefficient.

    A Python function: the loop over bit-planes calls the compiled passes (three
    calls per plane), which saves compiling a driver that would link, optimise and
    emit every pass once more (measured: about 1 s of a cold start).

    ``on_pass`` (optional): called after each pass with the fraction of the planes
    ``n_max..n_min`` done (thirds of a plane), with the coder's registers saved in
    ``coder.state`` first so that its position can be read (progress reports).
    """
    hl, wl, levels = tree.hl, tree.wl, tree.levels
    nc = maps.sig.shape[0]
    # step 1: the LL coefficients in the LIP (raster order, plane by plane), those
    # with offspring in the LIS as type A: in each 2x2 group of the LL slot all but
    # the top-left member (and none when there are no levels)
    c, i, j = (a.ravel() for a in np.meshgrid(np.arange(nc), np.arange(hl), np.arange(wl), indexing="ij"))
    ll = (c.astype(np.int64) << tree.shift_c) | (i.astype(np.int64) << tree.shift_i) | j.astype(np.int64)
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
        release_beyond(lists.lip, n_lip)  # the pixels now significant left the LIP
        _passes_done(on_pass, decoding, arith, coder.state, regs, (n_max - n + 1 / 3) / (n_max - n_min + 1), coder.buf)
        regs, n_lis, n_lip, n_lsp, done = sort_lis(decoding, arith, regs, coder, tree, maps, lists,
                                                   n_lis, n_lip, n_lsp, n)
        if done:
            break
        release_beyond(lists.lis, n_lis)  # the sets split in this pass left the LIS
        release_beyond(lists.lis_b, n_lis)
        _passes_done(on_pass, decoding, arith, coder.state, regs, (n_max - n + 2 / 3) / (n_max - n_min + 1), coder.buf)
        regs, refined, done = refinement_pass(decoding, arith, regs, coder, tree, maps, lists, lsp_old, n)
        if done:
            break
        n -= 1  # step 4: quantisation-step update
        _passes_done(on_pass, decoding, arith, coder.state, regs, (n_max - n) / (n_max - n_min + 1), coder.buf)
    if arith is not None:  # hand the registers back (the encoder's flush needs them)
        save_registers(decoding, coder.state, regs)
    if not done:  # all planes coded: everything is known down to n_min
        return n_min - 1, n_lsp, 0, n_lsp
    return n, n_lsp, refined, lsp_old


@helper
def _known_plane(k, n_stop, refined, lsp_old):
    """Lowest bit-plane known for LSP entry ``k`` when coding stopped at plane ``n_stop``."""
    if k < lsp_old:
        low = n_stop if k < refined else n_stop + 1
    else:
        low = n_stop
    return low if low > 0 else 0


@njit(cache=True)
def optimal_offsets(coef, lsp, lsp_sizes, n_lsp, n_stop, refined, lsp_old, shc=SHIFT_C, shi=SHIFT_I):
    """Encoder side: mean position of the true magnitudes inside their final uncertainty intervals.

    Returned separately for "fresh" entries (only the significance bit known:
    interval ``[2**n, 2**(n+1))``) and for refined ones.  Reconstructing at these
    fractions instead of the interval centre (0.5) minimises the MSE of the
    decoded coefficients (conditional mean), since magnitudes are not uniform in
    their intervals (wavelet coefficients are roughly Laplacian).
    """
    sums = np.zeros(2)
    cnt = np.zeros(2)
    pos = ahead_pos = p = ahead = np.int64(0)
    for t in range(min(LOOKAHEAD, n_lsp)):
        ahead_pos, ahead = _next_lsp(lsp, lsp_sizes, t, ahead_pos, ahead)
    for k in range(n_lsp):
        if k + LOOKAHEAD < n_lsp:
            ahead_pos, ahead = _next_lsp(lsp, lsp_sizes, k + LOOKAHEAD, ahead_pos, ahead)
            pc, pi, pj = _unpack(ahead, shc, shi)
            prefetch(coef, pc, pi, pj)
        pos, p = _next_lsp(lsp, lsp_sizes, k, pos, p)
        c, i, j = _unpack(p, shc, shi)
        low = _known_plane(k, n_stop, refined, lsp_old)
        if low == 0:
            continue
        width = np.int64(1) << low
        m = _magnitude(coef, c, i, j)
        frac = ((m & (width - 1)) + 0.5) / width  # +0.5: magnitudes are truncated to integers
        g = 0 if (m >> low) == 1 else 1  # fresh: significant at plane ``low``, no bit below known
        sums[g] += frac
        cnt[g] += 1
    return interval_means(sums, cnt)


@njit(cache=True)
def distortion_reduction(coef, lsp, lsp_sizes, n_lsp, n_stop, refined, lsp_old, offset_fresh, offset_refined,
                         shc=SHIFT_C, shi=SHIFT_I):
    """Encoder side: how much the decoded significant coefficients reduce the squared error.

    Sum over the LSP of ``m**2 - (m - r)**2``, with ``m`` the magnitude (taken at the
    centre ``|coef| + 0.5`` of its truncation interval) and ``r`` the decoder's
    reconstruction from the final state; the squared error of the whole decoded
    coefficient set is the total energy minus this.  Lets the encoder compare
    quantiser steps without decoding.
    """
    acc = 0.0
    pos = ahead_pos = p = ahead = np.int64(0)
    for t in range(min(LOOKAHEAD, n_lsp)):
        ahead_pos, ahead = _next_lsp(lsp, lsp_sizes, t, ahead_pos, ahead)
    for k in range(n_lsp):
        if k + LOOKAHEAD < n_lsp:
            ahead_pos, ahead = _next_lsp(lsp, lsp_sizes, k + LOOKAHEAD, ahead_pos, ahead)
            pc, pi, pj = _unpack(ahead, shc, shi)
            prefetch(coef, pc, pi, pj)
        pos, p = _next_lsp(lsp, lsp_sizes, k, pos, p)
        c, i, j = _unpack(p, shc, shi)
        low = _known_plane(k, n_stop, refined, lsp_old)
        mi = _magnitude(coef, c, i, j)
        m = np.float64(mi) + 0.5
        width = np.int64(1) << low
        known = np.float64((mi >> low) << low)
        if low == 0:
            r = known + 0.5
        else:
            off = offset_fresh if (mi >> low) == 1 else offset_refined
            r = known + width * off
        acc += m * m - (m - r) * (m - r)
    return acc


@njit(cache=True, _nrt=False)
def final_codes(out_val, sig, lsp, lsp_sizes, n_lsp, n_stop, refined, lsp_old, shc=SHIFT_C, shi=SHIFT_I):
    """Decoder: turn ``out_val`` in place into the coefficient codes of
    :func:`.coefficients.expand_codes`, from the LSP and the sign map.

    Each significant coefficient is known to lie in ``[v, v + 2**low)`` (``v`` its
    decoded bits, ``low`` the lowest plane decoded for it: :func:`_known_plane`);
    its code is ``+-((v << 1) | (1 << low))``, with the sign of the coefficient.
    After this the LSP and the maps are no longer needed.
    """
    pos = ahead_pos = p = ahead = np.int64(0)
    for t in range(min(LOOKAHEAD, n_lsp)):
        ahead_pos, ahead = _next_lsp(lsp, lsp_sizes, t, ahead_pos, ahead)
    for k in range(n_lsp):
        if k + LOOKAHEAD < n_lsp:
            ahead_pos, ahead = _next_lsp(lsp, lsp_sizes, k + LOOKAHEAD, ahead_pos, ahead)
            pc, pi, pj = _unpack(ahead, shc, shi)
            prefetch(out_val, pc, pi, pj)
            prefetch(sig, pc, pi + 1, pj + 1)
        pos, p = _next_lsp(lsp, lsp_sizes, k, pos, p)
        c, i, j = _unpack(p, shc, shi)
        low = _known_plane(k, n_stop, refined, lsp_old)
        code = (np.int64(out_val[c, i, j]) << 1) | (np.int64(1) << low)
        out_val[c, i, j] = -code if sig[c, i + 1, j + 1] & NEGATIVE else code
