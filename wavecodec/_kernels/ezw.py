"""EZW coding kernel (Shapiro, IEEE TSP 41(12):3445-3462, 1993), in Numba; IMP1EZW is the same kernel.

One kernel, :func:`ezw_code`, runs the encoder or the decoder (``decoding``, a
run-time bool: one compiled kernel serves both directions), so both sides take
exactly the same path; every place where the encoder *emits* a bit the decoder
*reads* it.  It runs Shapiro's successive thresholds ``T = 2**n``, each a
:func:`dominant_pass` (the significance map, coded with zerotree symbols) and
a :func:`subordinate_pass` (one more magnitude bit of every coefficient found
so far: successive-approximation quantisation), then :func:`shapiro_reorder`.  Every binary decision
goes through :func:`.arith.code_decision` (raw bits or the adaptive arithmetic
coder, the registers kept in local variables).  :func:`ezw_code` itself is
Python: it allocates the maps and lists and calls the compiled passes (compiled
without reference counting, ``_nrt=False``: they only read and write the
arrays they are given), which keeps a driver that would link, optimise and
emit every pass once more out of the first compilation.

The flags ``arith``, ``rescan`` and ``subtree_symbols`` are passed as ``None``
(off) or ``True`` (on): Numba compiles one specialisation per variant and prunes
the unused branches.  ``subtree_symbols`` selects IMP1EZW (Brahimi et al., AEU
73:183-192, 2017): the symbol map with PT / NT and its contexts, described in
:mod:`wavecodec._kernels.imp1ezw`; everything else is EZW's.

Coefficients are in the zero-padded tree layout of :mod:`wavecodec.transform`
(``coef[c, i, j]``: signed int32, magnitudes below ``2**30``).  Trees follow
EZW's LL convention: with ``levels`` levels the LL band is
``hl x wl``; LL coefficient ``(i, j)`` has the three children ``(i, j+wl)``,
``(i+hl, j)``, ``(i+hl, j+wl)``; a detail node ``(i, j)`` with ``i < hp/2`` and
``j < wp/2`` has the four children ``(2i..2i+1, 2j..2j+1)``; the finest level has
none (and with ``levels = 0`` nothing has children).

Scan order of a dominant pass (parents before children): plane by plane (Y, Cb, Cr), and inside a
plane subband by subband from coarse to fine (LL, HL_L, LH_L, HH_L, HL_{L-1},
...; HL = top-right, LH = bottom-left), raster order inside each band.

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
refine and is skipped.  (With ``significance_first``: bit ``n`` of the entries
found in earlier passes, SPIHT's order.)

The subordinate list holds only each entry's packed coordinates (an int32 where
the image allows, :func:`.trees.list_shifts`: at lossless rates the list holds
most coefficients).  The rest is derived.  The magnitude bits known are ``|coef|``
without its bits below the entry's lowest known plane: the encoder's coefficient
masked, or the decoder's ``coef`` array, which holds the bits decoded
(:func:`list_codes` turns them into codes in place).  That plane follows from the
entry's position and where coding stopped (:func:`known_plane`): the plane coded
by the subordinate pass of the last threshold, for the entries it refined and,
with significance first, for those found in that threshold's dominant pass; one
higher for the others.  An entry is on its first refinement iff its known
magnitude is its top bit alone; the list is in the order of the known
magnitudes, descending, before every subordinate pass (:func:`shapiro_reorder`);
with significance first, the entries a subordinate pass skips are the last ones.

Bits.  Every dominant symbol is two binary decisions: ``b1`` = newly significant;
then, if significant, ``b2`` = sign (1 = NEG); otherwise ``b2`` = 1 for IZ, 0 for
ZTR (IMP1EZW adds ``b3``, see its module).  ``arith`` None (variant "plain"):
both bits are written raw, always, so ZTR = 00, IZ = 01, POS = 10, NEG = 11, and
Z = 00 at the finest level (the decoder ignores the second bit of a Z, and the
first bit of an already significant coefficient under ``rescan``); refinement
bits are raw.  This is :data:`wavecodec.reference.ezw.EZW`.  ``arith`` True:
adaptive binary arithmetic coding; decisions that the decoder can infer are not
coded (the second bit of Z; ``b1`` of an already significant coefficient under
``rescan``).  Contexts: see :func:`ezw_context_count`.

Nothing here validates input: the wrapper (:mod:`wavecodec.coders.ezw`) does.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from . import imp1ezw as imp1
from .arith import STATE_DONE, BitCoder, code_decision, coder_registers, passes_done, save_registers
from .jit import array_helper, helper
from .prefetch import LOOKAHEAD, prefetch
from .trees import N_BAND, top_bit_of_magnitude
from .trees import SHIFT_C, SHIFT_I, list_shifts
from .trees import band_class as _band_class
from .trees import magnitude as _magnitude
from .trees import NEGATIVE, SIGNIFICANT, top_bit
from .trees import interval_means
from .trees import coefficient_sign_context, four_neighbours
from .trees import pack_at as _pack
from .trees import unpack_at as _unpack

CTX_SIG = 0  # newly significant: chroma(2) x band(4) x leaf(2) x parent sig(2) x neighbours(3) = 96
CTX_ZTR = CTX_SIG + 96  # IZ vs ZTR: chroma x band x parent sig(2) x neighbours(3) x node sig(2) = 96
CTX_SIGN = CTX_ZTR + 96  # sign: chroma x orientation(4) x horizontal(3) x vertical(3) = 72
CTX_SUB = CTX_SIGN + 72  # subordinate bit: chroma x band x first refinement(2) = 16
N_CONTEXTS = CTX_SUB + 16
# runs of equal known magnitudes that a subordinate pass records for shapiro_reorder (at most
# about 2**(n_max - n) at threshold 2**n; with more, the re-ordering reads the magnitudes)
RUNS_RECORDED = 4096


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


@njit(cache=True, _nrt=False)
def descendant_planes(coef, hl, wl, levels, planes, row):
    """Write into ``planes`` (uint32, one per node of the top-left quadrant) the set of top
    bit-planes (:func:`.trees.top_plane`) of the node's descendants: bit ``n`` is set iff
    some descendant has its highest magnitude bit at plane ``n``.

    This answers every zerotree test of the encoder at once.  At threshold ``2**n`` the
    test asks whether some descendant not yet significant has ``|x| >= 2**n``
    (significant coefficients count as 0).  After the complete passes at ``2**m``,
    ``m > n``, exactly the coefficients with ``|x| >= 2**(n+1)`` are significant (a
    zerotree only ever covers insignificant ones), so the test is: some descendant
    has ``2**n <= |x| < 2**(n+1)``, i.e. bit ``n`` of ``planes``.  One scan before the
    first pass instead of one per pass.

    Rows are visited bottom to top, which sees every child before its parent: a node of
    row ``i >= 1`` outside the LL band has its children in rows ``2i`` and ``2i + 1``, in
    columns ``2j`` and ``2j + 1``.  Such a row takes two loops without branches, which LLVM
    vectorises: the top bits of the two children rows, OR-ed column by column into
    ``row`` (uint32 scratch, at least ``W`` long), then each node's pair of columns and,
    where the children have descendants of their own (``2i``, ``2j`` inside the quadrant),
    their sets.  The rows of the LL band and row 0, whose children can lie in the same
    row, go node by node from right to left (:func:`_descendant_planes_row`).  (Measured
    at 8192^2: 0.05 s instead of 0.13 s a scan, node by node.)  An OR of the same bits in
    another order: the same sets.
    """
    nc, hp, wp = coef.shape
    hp2 = hp // 2
    wp2 = wp // 2
    if levels == 0:
        return
    for c in range(nc):
        for i in range(hp2 - 1, -1, -1):
            if i < hl or i == 0:
                _descendant_planes_row(coef, hl, wl, planes, c, i)
                continue
            r0 = 2 * i
            q0 = coef[c, r0]
            q1 = coef[c, r0 + 1]
            for x in range(wp):
                row[x] = top_bit_of_magnitude(q0[x]) | top_bit_of_magnitude(q1[x])
            out = planes[c, i]
            # nodes j < inner: children 2j, 2j + 1 (rows 2i, 2i + 1) inside the quadrant (hp2, wp2 are even)
            inner = (wp2 + 1) // 2 if r0 < hp2 else 0
            if inner > 0:
                p0 = planes[c, r0]
                p1 = planes[c, r0 + 1]
                for j in range(inner):
                    out[j] = row[2 * j] | row[2 * j + 1] | p0[2 * j] | p0[2 * j + 1] | p1[2 * j] | p1[2 * j + 1]
            for j in range(inner, wp2):
                out[j] = row[2 * j] | row[2 * j + 1]


@array_helper
def _descendant_planes_row(coef, hl, wl, planes, c, i):
    """Row ``i`` of :func:`descendant_planes` node by node, right to left (the LL band's nodes
    have their children in the three bands beside them; a node of row 0 outside it has
    children in row 0 itself, to its right)."""
    hp2 = coef.shape[1] // 2
    wp2 = coef.shape[2] // 2
    for j in range(wp2 - 1, -1, -1):
        found = np.uint32(0)
        if i < hl and j < wl:
            for k in range(3):
                ci = i + (hl if k >= 1 else 0)
                cj = j + (wl if k != 1 else 0)
                found |= np.uint32(top_bit(_magnitude(coef, c, ci, cj)))
                if ci < hp2 and cj < wp2:
                    found |= planes[c, ci, cj]
        else:
            inner = 2 * i < hp2 and 2 * j < wp2
            for a in range(2):
                for b in range(2):
                    ci = 2 * i + a
                    cj = 2 * j + b
                    found |= np.uint32(top_bit(_magnitude(coef, c, ci, cj)))
                    if inner:
                        found |= planes[c, ci, cj]
        planes[c, i, j] = found


@helper
def known_plane(k, low, refined, n_refine):
    """Lowest bit-plane known of subordinate-list entry ``k`` where coding stopped (the
    ``planes`` of :func:`ezw_code`): ``low`` for the entries ``k < refined`` (refined by the
    last subordinate pass) and ``k >= n_refine`` (found in the last dominant pass and not
    refined by the subordinate pass after it: significance first), ``low + 1`` for the others
    (their last refinement was one pass earlier).  Never below 0."""
    plane = low if k < refined or k >= n_refine else low + 1
    return plane if plane > 0 else 0


@njit(cache=True)
def shapiro_reorder(lst, n_sorted, half, coef, aside, runs, n_runs, shc=SHIFT_C, shi=SHIFT_I):
    """Shapiro's re-ordering of the subordinate list after a complete subordinate pass: by the
    magnitude the decoder knows, descending; equal magnitudes keep their order.

    ``half``: the magnitude bit the pass just coded.  The list was in that order before
    the pass (by induction: a dominant pass appends entries of magnitude ``2**n``
    below all earlier ones), its known magnitudes then multiples of ``2 * half`` (the
    lower bits unknown), except the entries the pass did not refine (significance
    first: the ones just found, known magnitude ``half``, at the end, all alike: they
    stay).  Adding the bit ``half`` cannot move an entry past one of another magnitude,
    so the stable sort is, inside each run of equal magnitudes before the pass, the
    entries with the bit set first: one pass over the first ``n_sorted`` entries (those
    the pass refined), moving the entries with the bit set forward in place and keeping
    the others of the current run aside.  (A merge sort did the same in ``n log n``
    random accesses: IMP1EZW at 8192^2 and 1 bpp spent 2.2 s of its 5.5 s there.)

    :func:`subordinate_pass` marks the entries with the bit set (``~p``: negative; this
    clears the marks) and records where the runs start (``runs[:n_runs]``).  With
    ``n_runs = -1`` (more runs than ``runs`` holds) the runs come from the magnitudes known
    before the pass, ``|coef|`` of the entry's coefficient (:func:`ezw_code`: the encoder's
    coefficients, or the decoder's known magnitudes) without the bits below ``2 * half``.

    ``aside`` (1-d, the dtype of ``lst``, any contents): memory for the entries kept aside,
    :func:`ezw_code` lends the dominant pass's scan lists; a run that needs more gets a new
    array.
    """
    run_mask = ~(2 * np.int64(half) - 1)  # the known bits above the one just coded
    r = 0  # the run
    k = 0
    while k < n_sorted:
        start = k  # the run: entries start .. k - 1
        if n_runs >= 0:
            r += 1
            k = runs[r] if r < n_runs else n_sorted
        else:
            run = -1
            while k < n_sorted:
                if k + LOOKAHEAD < n_sorted:
                    q = lst[k + LOOKAHEAD]
                    pc, pi, pj = _unpack(q if q >= 0 else ~q, shc, shi)
                    prefetch(coef, pc, pi, pj)
                p = lst[k]
                c, i, j = _unpack(p if p >= 0 else ~p, shc, shi)
                key = _magnitude(coef, c, i, j) & run_mask
                if run >= 0 and key != run:
                    break
                run = key
                k += 1
        # the stable partition of the run: the marked entries, unmarked, first
        w = start  # the next position written; never past the one read
        n_aside = 0
        for t in range(start, k):
            p = lst[t]
            if p < 0:
                lst[w] = ~p
                w += 1
            else:
                if n_aside == aside.shape[0]:  # a run longer than the memory lent: room for the whole list
                    more = np.empty(n_sorted, dtype=lst.dtype)  # (only the part used is ever touched)
                    for a in range(n_aside):  # (a slice copy would compile its error messages)
                        more[a] = aside[a]
                    aside = more
                aside[n_aside] = p
                n_aside += 1
        for a in range(n_aside):
            lst[w] = aside[a]
            w += 1


# --------------------------------------------------------------------------- the coder

# What the passes share, bundled so that each pass reads like the paper's step.
# The passes unpack them into locals first: reading an array out of a tuple in a
# hot loop would update its reference count on every access.
Tree = namedtuple("Tree", ["hl", "wl", "hp2", "wp2", "levels", "rowlev", "collev", "shift_c", "shift_i"])
# coef: the encoder's signed coefficients, or the decoder's decoded magnitudes; dplanes: the
# top planes present among each node's descendants (encoder, :func:`descendant_planes`);
# sig / sgn: significance and signs (1-sample border); flags: IMP1EZW's context flags, what
# happened to each coefficient in the current pass, in the bits of ``sig`` above SIGNIFICANT
# and NEGATIVE (the same array, cleared before every dominant pass; see its module)
Maps = namedtuple("Maps", ["coef", "dplanes", "sig", "flags"])
# the open nodes of a dominant pass (:func:`dominant_pass`): ``slot0[orientation]`` and
# ``slot1[orientation]``, packed coordinates, and their number ``counts[slot, orientation]``;
# between dominant passes, the memory of shapiro_reorder's entries kept aside
ScanLists = namedtuple("ScanLists", ["slot0", "slot1", "counts"])


def _open_capacities(hp: int, wp: int, levels: int) -> tuple[int, int]:
    """Entries per list of slot 0 and slot 1 of :data:`ScanLists`: the largest band among
    those whose nodes have children (the LL band and levels 2 and up) that write to the slot,
    level ``k`` to slot ``(levels + 1 - k) % 2``, the LL band to slot 0."""
    caps = [(hp >> levels) * (wp >> levels) if levels >= 1 else 1, 1]
    for k in range(2, levels + 1):
        slot = (levels + 1 - k) % 2
        caps[slot] = max(caps[slot], (hp >> k) * (wp >> k))
    return caps[0], caps[1]


@helper
def _scan_entry(band, parents, t, wl, shc, shi):
    """Row and column of the ``t``-th parent of a band's scan (:func:`dominant_pass`): the ``t``-th
    node of the LL band in raster order for the LL band itself, else entry ``t`` of ``parents``."""
    if band == 0:
        return t // wl, t % wl
    _, pi, pj = _unpack(parents[t], shc, shi)
    return pi, pj


@njit(cache=True, _nrt=False)
def dominant_pass(decoding, arith, rescan, subtree_symbols, regs, coder, tree, maps, lst, scan, n_list, n, list_found):
    """Shapiro's dominant pass at threshold ``T = 2**n``: the significance map.

    In scan order, every coefficient that no zerotree of this pass covers gets a
    symbol: POS / NEG if newly significant (``|x| >= T``), otherwise IZ if some
    descendant is significant, ZTR if none is (its descendants get no symbol in
    this pass), Z at the finest level.  With ``subtree_symbols`` (IMP1EZW) a newly
    significant coefficient whose descendants are all insignificant is PT / NT
    and roots a zerotree as well.  The newly significant coefficients join the
    subordinate list ``lst`` (unless ``list_found`` is False: the decoder's last pass, at
    ``T = 1``, see :func:`ezw_code`), and the decoder sets their known magnitude, ``2**n``, in
    ``maps.coef``.  Returns ``(regs, n_list, done)``; a symbol whose decisions
    are not all coded when coding stops is not applied.

    The pass visits only the nodes outside this pass's zerotrees, never the whole
    image: band by band, the nodes a band visits are the children of the nodes its
    parent band visited and did not make zerotree roots (the *open* nodes), and
    ``scan.lists`` keeps each band's open nodes (packed coordinates, raster order)
    for its child band.  The children of one parent row are two rows of the child
    band (one for the children of LL nodes), so going through the parents' list
    once per child row gives the band's raster order.  At low rates most of the
    image lies in zerotrees, and the pass costs what it codes.
    """
    state, buf, probs, counts, stats = coder
    hl, wl, hp2, wp2, levels, rowlev, collev, shc, shi = tree
    coef, dplanes, sig, flags = maps
    slot0, slot1, open_counts = scan
    nc, hp, wp = coef.shape
    bitn = np.int32(1) << n
    sign_base = CTX_SIGN if subtree_symbols is None else imp1.CTX_SIGN
    for c in range(nc):
        for band in range(3 * levels + 1):
            # where this band's parents are, and where its open nodes go: the LL band reads
            # its own nodes (no list); every band writes its open nodes to slot
            # (levels + 1 - level) % 2 of its orientation (the LL band: orientation 0), and
            # its child band reads them there
            o = 0 if band == 0 else (band - 1) % 3  # orientation: 0 HL, 1 LH, 2 HH
            k = levels + 1 if band == 0 else levels - (band - 1) // 3  # level (LL: levels + 1)
            out_slot = (levels + 1 - k) % 2
            out_lists = slot0 if out_slot == 0 else slot1
            in_lists = slot1 if out_slot == 0 else slot0
            fan = 2  # children per parent along each axis
            roff = 0
            coff = 0
            parents = in_lists[0]
            n_parents = hl * wl
            if band > 0:
                if k == levels:  # the children of LL node (i, j): (i, j + wl), (i + hl, j), (i + hl, j + wl)
                    fan = 1
                    roff = hl if o >= 1 else 0
                    coff = wl if o != 1 else 0
                    n_parents = open_counts[1 - out_slot, 0]
                else:
                    parents = in_lists[o]
                    n_parents = open_counts[1 - out_slot, o]
            else:
                fan = 1
            out = out_lists[o]
            n_open = 0
            t = 0
            while t < n_parents:
                prow, _ = _scan_entry(band, parents, t, wl, shc, shi)
                t_end = t + 1  # the parents in row ``prow``: entries t .. t_end - 1
                while t_end < n_parents and _scan_entry(band, parents, t_end, wl, shc, shi)[0] == prow:
                    t_end += 1
                for a in range(fan):
                    i = fan * prow + a + roff
                    for u in range(t, t_end):
                        pcol = _scan_entry(band, parents, u, wl, shc, shi)[1]
                        for b in range(fan):
                            j = fan * pcol + b + coff
                            pi = -1  # the parent, none in the LL band
                            pj = -1
                            if band > 0:
                                pi = prow
                                pj = pcol
                            leaf = levels == 0 or i >= hp2 or j >= wp2
                            was_sig = (sig[c, i + 1, j + 1] & SIGNIFICANT) != 0
                            if was_sig and rescan is None:
                                if not leaf:  # skipped, but its descendants are scanned
                                    out[n_open] = _pack(c, i, j, shc, shi)
                                    n_open += 1
                                continue

                            # the encoder's answers: b1 newly significant; b2 its sign, or IZ (1) vs ZTR (0);
                            # b3 (IMP1EZW) its subtree insignificant (PT / NT)
                            b1 = 0
                            b2 = 0
                            b3 = 0
                            if not decoding:
                                subtree_sig = not leaf and (dplanes[c, i, j] >> np.uint32(n)) & np.uint32(1) != 0
                                if not was_sig and _magnitude(coef, c, i, j) >= bitn:
                                    b1 = 1
                                    b2 = 1 if coef[c, i, j] < 0 else 0
                                    b3 = 0 if leaf or subtree_sig else 1
                                elif subtree_sig:
                                    b2 = 1
                            ctx_sig = 0
                            ctx_zero = 0
                            ctx_subtree = 0
                            zero_impossible = False  # IMP1EZW: the decoder knows this is not ZTR / Z
                            if arith is not None:
                                band_cls = _band_class(min(rowlev[i], collev[j]), levels)
                                if subtree_symbols is None:  # EZW's contexts (ezw_context_count)
                                    ps = np.int64(sig[c, pi + 1, pj + 1] & SIGNIFICANT) if pi >= 0 else np.int64(0)  # parent significant
                                    nb = min(four_neighbours(sig, c, i, j), 2)
                                    chroma = 1 if c > 0 else 0
                                    leaf_bit = 1 if leaf else 0
                                    ctx_sig = CTX_SIG + (((chroma * N_BAND + band_cls) * 2 + leaf_bit) * 2 + ps) * 3 + nb
                                    ctx_zero = CTX_ZTR + (((chroma * N_BAND + band_cls) * 2 + ps) * 3 + nb) * 2 + (
                                        1 if was_sig else 0)
                                else:
                                    ctx_sig, ctx_zero, ctx_subtree, zero_impossible = imp1.dominant_contexts(
                                        sig, flags, c, i, j, pi, pj, hl, wl, band_cls, leaf, n)

                            # b1, unless the decoder knows it: an already significant coefficient (rescan), or
                            # a leaf that cannot be Z (IMP1EZW)
                            if arith is not None and (was_sig or (zero_impossible and leaf)):
                                b1 = 0 if was_sig else 1
                            else:
                                b1, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx_sig, b1)
                                if b1 < 0 or (not decoding and state[STATE_DONE] != 0):  # out of input / budget spent
                                    return regs, n_list, True
                                if was_sig:
                                    b1 = 0  # plain + rescan: written, and ignored by the decoder
                            # b2, unless the decoder knows it: a Z has none, and a node that cannot be ZTR is IZ
                            if b1 == 1 or arith is None or not (leaf or zero_impossible):
                                ctx = ctx_zero
                                if arith is not None and b1 == 1:
                                    ctx = sign_base + coefficient_sign_context(sig, rowlev, collev, levels, c, i, j)
                                b2, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, b2)
                                if b2 < 0 or (not decoding and state[STATE_DONE] != 0):  # out of input / budget spent
                                    return regs, n_list, True
                            elif zero_impossible:
                                b2 = 1
                            # b3: IMP1EZW's PT / NT, for a newly significant coefficient with descendants
                            if subtree_symbols is not None and b1 == 1 and not leaf:
                                b3, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats,
                                                         ctx_subtree, b3)
                                if b3 < 0 or (not decoding and state[STATE_DONE] != 0):  # out of input / budget spent
                                    return regs, n_list, True

                            # the symbol's effect; a node that roots no zerotree is open: its
                            # children are visited in their band
                            root = False
                            if b1 == 1:  # POS / NEG (PT / NT): to the subordinate list
                                sig[c, i + 1, j + 1] = SIGNIFICANT | (NEGATIVE if b2 != 0 else 0)
                                if list_found:
                                    lst[n_list] = _pack(c, i, j, shc, shi)
                                    n_list += 1
                                if decoding:
                                    coef[c, i, j] = bitn  # the magnitude known: [2**n, 2**(n+1))
                                if subtree_symbols is not None:
                                    flags[c, i + 1, j + 1] |= imp1.NEW_SIG
                                    if b3 == 1:
                                        root = True  # PT / NT: the root of a zerotree
                                    elif not leaf:
                                        flags[c, i + 1, j + 1] |= imp1.SUBTREE_SIG
                            elif leaf:  # Z
                                if subtree_symbols is not None:
                                    flags[c, i + 1, j + 1] |= imp1.CODED_ZERO
                            elif b2 == 1:  # IZ
                                if subtree_symbols is not None:
                                    flags[c, i + 1, j + 1] |= imp1.SUBTREE_SIG
                            else:  # ZTR
                                root = True
                                if subtree_symbols is not None:
                                    flags[c, i + 1, j + 1] |= imp1.CODED_ZERO
                            if not (leaf or root):
                                out[n_open] = _pack(c, i, j, shc, shi)
                                n_open += 1
                t = t_end
            open_counts[out_slot, o] = n_open
    return regs, n_list, False


@njit(cache=True, _nrt=False)
def subordinate_pass(decoding, arith, subtree_symbols, regs, coder, tree, coef, sig, lst, n_refine, n,
                     significance_first, runs):
    """Shapiro's subordinate pass after the dominant pass at ``T = 2**n``.

    Shapiro's order: bit ``n - 1`` of every entry of the subordinate list (the
    upper or the lower half of its uncertainty interval), the ones just found
    included; ``significance_first``: bit ``n`` of the entries found in earlier
    passes (those just found, at the end of the list, are refined after the next
    dominant pass).  ``n_refine``: the entries refined, the first ones of the list.
    An entry's magnitude known before its bit is ``|coef|`` without the bits below
    the bit (:func:`ezw_code`; the decoder adds the bit to its ``coef``); it is on
    its first refinement iff that is its top bit alone.

    For :func:`shapiro_reorder`, a complete pass marks the entries whose bit is 1
    (``~p``, negative) and writes where the runs of equal known magnitudes start into
    ``runs``.  Returns ``(regs, done, refined, n_runs)``: ``refined`` entries got their
    bit (when the pass stops early, the list is left unmarked); ``n_runs`` the runs,
    -1 if there were more than ``runs`` holds.
    """
    state, buf, probs, counts, stats = coder
    hl, wl, hp2, wp2, levels, rowlev, collev, shc, shi = tree
    bitn = np.int32(1) << n
    half = bitn if significance_first != 0 else bitn >> 1
    above = n + 1 if significance_first != 0 else n  # the lowest plane known before the bit
    n_runs = 0
    run = np.int64(-1)  # the known magnitude (>> above) of the current run
    refined = n_refine
    done = False
    for k in range(n_refine):
        if k + LOOKAHEAD < n_refine:  # the entry's magnitude and, for IMP1EZW's context, neighbours
            pc, pi, pj = _unpack(lst[k + LOOKAHEAD], shc, shi)
            prefetch(coef, pc, pi, pj)
            if subtree_symbols is not None:
                prefetch(sig, pc, pi, pj + 1)
                prefetch(sig, pc, pi + 1, pj + 1)
                prefetch(sig, pc, pi + 2, pj + 1)
        c, i, j = _unpack(lst[k], shc, shi)
        m = _magnitude(coef, c, i, j)
        ctx = 0
        if arith is not None:
            band = _band_class(min(rowlev[i], collev[j]), levels)
            first = np.int64(1) if (m >> above) == 1 else np.int64(0)  # known: 2**above alone
            if subtree_symbols is None:
                ctx = CTX_SUB + ((1 if c > 0 else 0) * N_BAND + band) * 2 + first
            else:
                ctx = imp1.subordinate_context(sig, c, i, j, band, first)
        bit = 0
        if not decoding:
            bit = 1 if (m & half) != 0 else 0
        bit, regs = code_decision(decoding, arith, regs, state, buf, probs, counts, stats, ctx, bit)
        if bit < 0:
            refined = k
            done = True
            break
        if decoding and bit == 1:
            coef[c, i, j] = m | half
        if bit == 1:
            lst[k] = ~lst[k]
        if (m >> above) != run and n_runs >= 0:
            run = m >> above
            if n_runs < runs.shape[0]:
                runs[n_runs] = k
                n_runs += 1
            else:
                n_runs = -1  # too many: shapiro_reorder finds them itself
        if not decoding and state[STATE_DONE] != 0:
            refined = k + 1
            done = True
            break
    if done:  # no re-ordering follows: no marks
        for k in range(refined):
            if lst[k] < 0:
                lst[k] = ~lst[k]
    return regs, done, refined, n_runs


def ezw_code(decoding, arith, rescan, subtree_symbols, coef, levels, hl, wl, rowlev, collev, n_max, state,
             buf, probs, counts, stats, significance_first, on_pass=None):
    """Run EZW (IMP1EZW with ``subtree_symbols``) from threshold ``2**n_max`` down to 1, or until the coder is done.

    Encoder (``decoding`` False): reads ``coef`` (signed int32, ``|coef| < 2**(n_max+1)``),
    writes to ``buf``.  Decoder: reads ``buf`` and decodes into ``coef`` (int32,
    zero-filled): the magnitude bits known of each coefficient on the subordinate list
    (:func:`list_codes` turns them into codes).  ``stats`` (contexts x 2, or empty)
    counts the encoder's decisions per context.

    Returns ``(n_list, lst, sig, planes, unlisted)``: the subordinate list (packed coordinates
    ``(c << shift_c) | (i << shift_i) | j``, :func:`.trees.pack_at` with
    :func:`.trees.list_shifts`), the significance map with the signs (1-sample border)
    and ``planes = (low, refined, n_refine)``, from which :func:`known_plane` gives the
    lowest plane ``low_k`` known of entry ``k``.  The magnitude bits known of an entry are
    ``v = |coef|`` without its bits below ``low_k`` (the encoder's coefficient masked, the
    decoder's as decoded): ``|x|`` lies in ``[v, v + 2**low_k)``.  Nothing else is
    kept per entry: where the list holds most coefficients (lossless streams), 4 bytes
    each besides the decoder's int32 ``coef``.  ``unlisted``: the decoder reached the pass
    at ``T = 1``, whose newly significant coefficients it did not list (at lossless rates
    about a quarter of the coefficients: a 2048^2 Kodak mosaic's list holds 0.63 instead
    of 0.86 entries per sample); they are the decoded magnitudes equal to 1.

    A Python function: the loop over thresholds calls the compiled passes (a
    few dozen calls per image), which saves compiling a driver that would link,
    optimise and emit every pass once more.  ``on_pass`` (optional): called after
    each pass with the fraction of the thresholds done (progress reports; the
    coder's registers are saved in ``state`` first).
    """
    nc, hp, wp = coef.shape
    total = nc * hp * wp
    shc, shi, entry = list_shifts(nc, hp, wp)
    tree = Tree(hl, wl, hp // 2, wp // 2, levels, rowlev, collev, shc, shi)
    coder = BitCoder(state, buf, probs, counts, stats)
    lst = np.empty(total, dtype=entry)  # the subordinate list
    sig = np.zeros((nc, hp + 2, wp + 2), dtype=np.uint8)
    # IMP1EZW's pass flags, in the upper bits of ``sig`` (EZW has none)
    flags = sig if subtree_symbols is not None else np.zeros((1, 1, 1), dtype=np.uint8)
    cap0, cap1 = _open_capacities(hp, wp, levels)
    scan = ScanLists(np.empty((3, cap0), dtype=entry), np.empty((3, cap1), dtype=entry), np.zeros((2, 3), dtype=np.int64))
    aside = (scan.slot0 if cap0 >= cap1 else scan.slot1).reshape(-1)  # shapiro_reorder's, between dominant passes
    runs = np.empty(RUNS_RECORDED, dtype=np.int64)  # where the runs of equal known magnitudes start
    dplanes = np.zeros((1, 1, 1), dtype=np.uint32)  # the decoder has none
    if not decoding:
        dplanes = np.zeros((nc, max(hp // 2, 1), max(wp // 2, 1)), dtype=np.uint32)
        descendant_planes(coef, hl, wl, levels, dplanes, np.empty(wp, dtype=np.uint32))
    maps = Maps(coef, dplanes, sig, flags)

    regs = coder_registers(decoding, state)
    n_list = 0
    n = n_max
    unlisted = False
    low, refined, n_refine = 0, 0, 0  # where coding stopped (known_plane), set at every threshold
    while n >= 0:
        if subtree_symbols is not None:
            np.bitwise_and(sig, SIGNIFICANT | NEGATIVE, out=sig)  # the flags speak of the current pass only
        low = n if significance_first != 0 else n - 1  # the plane the subordinate pass codes
        refined = 0
        n_refine = n_list  # significance first: the entries found in earlier passes
        # the decoder does not list what the pass at T = 1 finds: no pass refines or re-orders
        # it, and its known magnitude, 1, is all of it (:func:`list_codes` finds it in ``coef``)
        unlisted = decoding and n == 0
        regs, n_list, done = dominant_pass(decoding, arith, rescan, subtree_symbols, regs, coder, tree, maps, lst,
                                           scan, n_list, n, not unlisted)
        if significance_first == 0:
            n_refine = n_list  # Shapiro's order: the ones just found too
        if done or (n == 0 and significance_first == 0):
            break
        passes_done(on_pass, decoding, arith, state, regs, (n_max - n + 0.5) / (n_max + 1), buf)
        regs, done, refined, n_runs = subordinate_pass(decoding, arith, subtree_symbols, regs, coder, tree, coef,
                                                       sig, lst, n_refine, n, significance_first, runs)
        if done:
            break
        shapiro_reorder(lst, n_refine, np.int32(1) << low, coef, aside, runs, n_runs, shc, shi)
        n -= 1
        passes_done(on_pass, decoding, arith, state, regs, (n_max - n) / (n_max + 1), buf)
    if arith is not None:  # hand the registers back (the encoder's flush needs them)
        save_registers(decoding, state, regs)
    return n_list, lst, sig, (low, refined, n_refine), unlisted


@njit(cache=True)
def optimal_offsets(coef, lst, n_list, low, refined, n_refine, shc=SHIFT_C, shi=SHIFT_I):
    """Encoder side: mean position of the true magnitudes inside their final uncertainty intervals.

    Returned for entries known only to be significant (``|x|`` in ``[T, 2T)``) and
    for refined ones separately.  Reconstructing at these fractions instead of the
    interval centre minimises the decoded coefficients' squared error (the
    conditional mean: magnitudes are roughly Laplacian, not uniform in the interval).
    ``low, refined, n_refine``: where coding stopped (:func:`ezw_code`'s ``planes``).
    """
    sums = np.zeros(2)
    cnt = np.zeros(2)
    for k in range(n_list):
        if k + LOOKAHEAD < n_list:
            pc, pi, pj = _unpack(lst[k + LOOKAHEAD], shc, shi)
            prefetch(coef, pc, pi, pj)
        plane = known_plane(k, low, refined, n_refine)
        if plane <= 0:
            continue
        p = lst[k]
        width = np.int64(1) << plane
        c, i, j = _unpack(p, shc, shi)
        m = _magnitude(coef, c, i, j)
        g = 0 if (m >> plane) == 1 else 1  # only the top bit known: fresh
        sums[g] += ((m & (width - 1)) + 0.5) / width  # +0.5: magnitudes are truncated to integers
        cnt[g] += 1
    return interval_means(sums, cnt)


@njit(cache=True)
def distortion_reduction(coef, lst, n_list, low, refined, n_refine, offset_fresh, offset_refined, shc=SHIFT_C,
                         shi=SHIFT_I):
    """Encoder side: squared error removed by the decoded coefficients (``sum m**2 - (m - r)**2``).

    ``m`` is the magnitude (centre ``|coef| + 0.5`` of its truncation interval), ``r`` the
    decoder's reconstruction; the error of the whole coefficient set is its energy
    minus this, which lets the encoder compare quantiser steps without decoding.
    ``low, refined, n_refine``: where coding stopped (:func:`ezw_code`'s ``planes``).
    """
    acc = 0.0
    for k in range(n_list):
        if k + LOOKAHEAD < n_list:
            pc, pi, pj = _unpack(lst[k + LOOKAHEAD], shc, shi)
            prefetch(coef, pc, pi, pj)
        p = lst[k]
        c, i, j = _unpack(p, shc, shi)
        mi = _magnitude(coef, c, i, j)
        m = np.float64(mi) + 0.5
        plane = known_plane(k, low, refined, n_refine)
        width = np.int64(1) << plane
        known = (mi >> plane) << plane  # the bits the decoder has
        if plane <= 0:
            r = np.float64(known) + 0.5
        else:
            off = offset_fresh if known == width else offset_refined
            r = np.float64(known) + width * off
        acc += m * m - (m - r) * (m - r)
    return acc


@njit(cache=True, _nrt=False)
def list_codes(codes, lst, sig, n_list, low, refined, n_refine, unlisted, shc=SHIFT_C, shi=SHIFT_I):
    """Decoder: turn ``codes`` (:func:`ezw_code`'s decoded magnitudes, int32) in place into the
    codes of :func:`.coefficients.expand_codes`.  Each subordinate-list entry's ``|x|`` lies in
    ``[v, v + 2**plane)`` (``v`` its decoded bits, ``plane`` the lowest plane decoded:
    :func:`known_plane` of ``low, refined, n_refine``, :func:`ezw_code`'s ``planes``), so its
    code is ``+-((v << 1) | (1 << plane))`` with the sign of the sign map (1-sample border).
    With ``unlisted`` (:func:`ezw_code`), the coefficients found at ``T = 1``, off the list, are
    those decoded as 1 (every entry's magnitude is at least 2) and get the code ``+-3``.
    Coefficients not significant stay 0."""
    for k in range(n_list):
        if k + LOOKAHEAD < n_list:
            pc, pi, pj = _unpack(lst[k + LOOKAHEAD], shc, shi)
            prefetch(codes, pc, pi, pj)
            prefetch(sig, pc, pi + 1, pj + 1)
        p = lst[k]
        c, i, j = _unpack(p, shc, shi)
        plane = known_plane(k, low, refined, n_refine)
        code = (np.int64(codes[c, i, j]) << 1) | (np.int64(1) << plane)
        codes[c, i, j] = -code if sig[c, i + 1, j + 1] & NEGATIVE else code
    if unlisted:
        nc, hp, wp = codes.shape
        for c in range(nc):
            for i in range(hp):
                for j in range(wp):
                    if codes[c, i, j] == 1:
                        codes[c, i, j] = -3 if sig[c, i + 1, j + 1] & NEGATIVE else 3
