"""ECBP coding kernels: context-modelled, fractional bit-plane coding of wavelet coefficients, in Numba.

The coder of :mod:`wavecodec.coders.ecbp`.  Coefficients are the signed int32
integers of the bit-plane framework (:mod:`wavecodec.coders._bitplane`) in the
dyadic tree layout of :mod:`wavecodec.transform`, bands in the Mallat layout:
for level ``k`` the band with high-pass columns (``orient`` 1) is rows
``[0, hp >> k)``, columns ``[wp >> k, wp >> (k - 1))``; high-pass rows (2) and
both (3) beside and below it; the LL band (0) is the top-left
``(hp >> levels) x (wp >> levels)`` corner.

Per bit-plane ``p`` (from the top plane down), every plane ``c`` in turn within
each pass (colour passes interleaved, so a cut anywhere spends the bits where
the magnitudes are, across planes):

1. significance sub-passes (:func:`propagation_pass`): the insignificant
   coefficients with a non-empty context (some neighbour, the parent or a child
   significant) whose modelled probability of becoming significant is at least
   0.3, then 0.1, then 0.02: the order of expected distortion decrease per bit
   (J. Li, S. Lei, "An embedded still image coder with rate-distortion
   optimization", IEEE TIP 8(7):913-924, 1999; EBCOT's significance propagation,
   D. Taubman, IEEE TIP 9(7):1158-1170, 2000, Sec. III-B, is the one-threshold case);
2. refinement (:func:`refinement_pass`) of the coefficients significant at a higher plane;
3. the rest of the non-empty-context coefficients (:func:`propagation_pass`, threshold 0);
4. cleanup (:func:`cleanup_pass`): the remaining insignificant coefficients, by
   4x4 blocks of the band, with one "some coefficient becomes significant"
   decision for a block whose coefficients all have empty contexts (EBCOT's run
   mode on blocks); when that decision says yes and the first 15 stayed
   insignificant, the last is significant without a decision.

Contexts (:data:`N_CONTEXTS` binary contexts of the adaptive arithmetic coder
of :mod:`.arith`):

* significance: the magnitude energy ``D = sum w_k |x_k|`` of the known
  magnitudes of the 8 neighbours in the band, the parent and the 4 children
  (X. Wu, "High-order context modeling and embedded conditional entropy coding
  of wavelet coefficients for image compression", Asilomar 1997), weighted by
  :data:`WEIGHTS` (more along the band's edges), in 12 half-octave classes
  relative to ``2**p``; x the count of significant 8-neighbours (0, 1, 2+);
  x 7 band classes (LL; HL/LH and HH at levels 1, 2, >= 3); x 3 plane classes
  (luma or gray; chroma with the co-located luma coefficient insignificant, significant);
* block runs: plane class x band class;
* refinement: luma/chroma x first refinement or later x ``D`` against the
  coefficient's own magnitude (5 classes);
* sign: the signs of the horizontal and vertical neighours (EBCOT's h and v
  contributions, 9 pairs) x the parent's sign x (chroma) the co-located luma
  sign x orientation x luma/chroma.

One kernel serves the encoder and the decoder (``decoding``): every decision
goes through :func:`.arith.code_decision`.  State, per coefficient (5 bytes):
``mag`` (int32, the magnitude bits known) and ``flags`` (uint8, see :data:`SIGN`:
for a significant coefficient its sign and lowest known plane; for an
insignificant one its cached significance context class and the parity stamp of
the plane that computed it; which of the two: ``mag != 0``).  Per 4x4 block of a
band (``blocks``, 4 x uint16, 0.5 byte per coefficient): the masks of the open
coefficients (insignificant, non-empty context), of the significant ones, of the
open ones still to code at this plane, and (encoder) the bit length of the
block's largest magnitude.  They keep the passes away from what has nothing to
code: the sub-passes visit only the to-do coefficients, refinement only the
significant ones, the cleanup finds empty blocks (run decision) and what is left
from the masks; an insignificant coefficient's context is computed once per
plane unless a member of it changes, and whether its context is empty is its
bit in the open mask.  (Before 9813500 the state was 8 bytes: ``low``, ``neg``,
``seen`` and a count of significant context members ``nz`` besides ``mag``.  The
one byte codes the same streams; kodim01 at 1 bpp, CPU medians of 35 interleaved
runs: encode 0.96x; the encoder's peak at 2048^2 gray, 1 bpp: 12.5 -> 10.1 bytes
per sample, `bench_memory.py`, docs/ecbp.md.)  The passes allocate nothing
(``_nrt=False``).  In the hot paths, row, column and block indices are cast to
``np.uint64`` where the arrays are read and written: with a signed index, Numba
adds the dimension to a negative one at every access (a shift, a mask, an add
and often a reload of the dimension); these indices are never negative (about
10% of the coding time, measured).  Measured speed: benchmarks/results_ecbp_speed.md.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from .arith import STATE_DONE, code_decision
from .jit import array_helper, kernel
from .jit import python_array_kernel as _pass
from .pages import zeroed_buffer

N_BAND_CLS = 7
N_PLANE_CLS = 3
N_DCLS = 12
N_NBR = 3
SIG0 = 0
N_SIG = N_NBR * N_PLANE_CLS * N_BAND_CLS * N_DCLS
RUN0 = SIG0 + N_SIG
N_RUN = N_PLANE_CLS * N_BAND_CLS
REF0 = RUN0 + N_RUN
N_REF = 2 * 2 * 5
SGN0 = REF0 + N_REF
N_SGN = 2 * 4 * 9 * 9
N_CONTEXTS = SGN0 + N_SGN

#: Thresholds (P(significant) in 2**-15 units) of the significance sub-passes before the
#: refinement pass (0.3, 0.1, 0.02); after it, one more with threshold 0.
SUB_PASSES = (9830, 3277, 655)

#: Weights of the magnitude energy, per orientation (LL, HL, LH, HH): vertical pair,
#: horizontal pair, the 4 diagonals, the parent, the sum of the 4 children.
WEIGHTS = np.array([[2, 2, 1, 0, 0], [4, 2, 1, 2, 1], [2, 4, 1, 2, 1], [2, 2, 2, 2, 1]], dtype=np.int64)

R0, R1, C0, C1, LEVEL, ORIENT, BCLS, BLK0, NBW = range(9)

#: Rows of the per-block state (``blocks[c, :, k]``, uint16, 8 bytes per 4x4 block): bit masks
#: (bit ``4 * row + column`` within the block) of the insignificant coefficients with a non-empty
#: context ("open"), of the significant ones, of the open ones not yet coded by a significance
#: sub-pass of the current plane ("to do"); and (encoder only) the bit length of the block's
#: largest magnitude.
OPEN, SIG, TODO, TOP = range(4)

#: The ``flags`` byte of a coefficient (uint8).  Significant: bit 0 the sign (:data:`SIGN`, 1 for
#: negative), bits 1-5 the lowest plane known (``flags >> LOW_SHIFT``, at most 30).  Insignificant:
#: bits 0-5 (:data:`CLASS_BITS`) its cached significance class (:func:`_sig_class`, below 36), bits
#: 6-7 the stamp of the plane that computed it (:func:`plane_stamp`; 0: none).  Which reading
#: applies: ``mag != 0``.  Clearing the stamp (``flags &= CLASS_BITS``) invalidates a cached class
#: and leaves a significant coefficient's sign and plane as they are.
SIGN = 1
LOW_SHIFT = 1
CLASS_BITS = 0x3F
STAMP_SHIFT = 6


@njit(cache=True, inline="always")
def plane_stamp(p):
    """The stamp (1 or 2) of a class cached at plane ``p``: the parity of ``p``.  Enough: every open
    coefficient is visited by the first sub-pass of each plane, which stamps it with that plane's
    stamp, so a class cached two planes before has been restamped or cleared before it could match."""
    return 1 + (p & 1)


def band_table(hp: int, wp: int, levels: int) -> np.ndarray:
    """One row per band, coarse to fine: ``r0, r1, c0, c1, level, orientation, band class``,
    then the index of the band's first 4x4 block and its number of blocks per row (the blocks
    of all bands numbered in coding order: band by band, each in raster order)."""
    rows = [(0, hp >> levels, 0, wp >> levels, levels, 0, 0)]
    for k in range(levels, 0, -1):
        cls = 1 if k == 1 else (3 if k == 2 else 5)
        h0, h1, w0, w1 = hp >> k, hp >> (k - 1), wp >> k, wp >> (k - 1)
        rows += [(0, h0, w0, w1, k, 1, cls), (h0, h1, 0, w0, k, 2, cls), (h0, h1, w0, w1, k, 3, cls + 1)]
    table = []
    first = 0
    for r0, r1, c0, c1, level, orient, cls in rows:
        per_row = (c1 - c0 + 3) // 4
        table.append((r0, r1, c0, c1, level, orient, cls, first, per_row))
        first += per_row * ((r1 - r0 + 3) // 4)
    return np.array(table, dtype=np.int64)


def n_blocks(bands: np.ndarray) -> int:
    """How many 4x4 blocks the bands of :func:`band_table` hold."""
    last = bands[-1]
    return int(last[BLK0] + last[NBW] * ((last[R1] - last[R0] + 3) // 4))


@njit(cache=True, inline="always")
def _magnitude(coef, c, i, j):
    x = np.int64(coef[c, np.uint64(i), np.uint64(j)])
    return -x if x < 0 else x


@njit(cache=True, inline="always")
def _band_weights(wts, orient):
    """The :data:`WEIGHTS` row of orientation ``orient`` as a tuple (locals of a band's loop: read
    from the array at every coefficient, they were reloaded after every store)."""
    return (wts[orient, 0], wts[orient, 1], wts[orient, 2], wts[orient, 3], wts[orient, 4])


@njit(cache=True, inline="always")
def _energy(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, w):
    """Weighted sum of the known magnitudes around ``(c, i, j)`` (Wu's Delta; ``w`` from
    :func:`_band_weights`) and the count of significant 8-neighbours: ``(energy, count)``."""
    up = i > r0
    dn = i + 1 < r1
    lf = j > c0
    rt = j + 1 < c1
    v = np.int64(0)
    h = np.int64(0)
    d = np.int64(0)
    n = 0
    if up:
        x = np.int64(mag[c, np.uint64(i - 1), np.uint64(j)])
        v += x
        n += x != 0
        if lf:
            x = np.int64(mag[c, np.uint64(i - 1), np.uint64(j - 1)])
            d += x
            n += x != 0
        if rt:
            x = np.int64(mag[c, np.uint64(i - 1), np.uint64(j + 1)])
            d += x
            n += x != 0
    if dn:
        x = np.int64(mag[c, np.uint64(i + 1), np.uint64(j)])
        v += x
        n += x != 0
        if lf:
            x = np.int64(mag[c, np.uint64(i + 1), np.uint64(j - 1)])
            d += x
            n += x != 0
        if rt:
            x = np.int64(mag[c, np.uint64(i + 1), np.uint64(j + 1)])
            d += x
            n += x != 0
    if lf:
        x = np.int64(mag[c, np.uint64(i), np.uint64(j - 1)])
        h += x
        n += x != 0
    if rt:
        x = np.int64(mag[c, np.uint64(i), np.uint64(j + 1)])
        h += x
        n += x != 0
    e = w[0] * v + w[1] * h + w[2] * d
    if orient != 0:
        if level < levels:
            e += w[3] * mag[c, np.uint64(i >> 1), np.uint64(j >> 1)]
        else:
            e += w[3] * mag[c, np.uint64(i - r0), np.uint64(j - c0)]  # the LL coefficient at the same place
        if level > 1:
            i2 = 2 * i
            j2 = 2 * j
            e += w[4] * (np.int64(mag[c, np.uint64(i2), np.uint64(j2)]) + mag[c, np.uint64(i2), np.uint64(j2 + 1)]
                         + mag[c, np.uint64(i2 + 1), np.uint64(j2)] + mag[c, np.uint64(i2 + 1), np.uint64(j2 + 1)])
    return e, n


@njit(cache=True, inline="always")
def _dclass(e, p):
    """Half-octave class of ``e`` relative to ``2**p``: 0 if ``e == 0``, else 1..N_DCLS-1
    (1 below ``2**p``; then ``2 * (b - p) + h + 1`` for ``b = floor(log2 e)`` and ``h`` the bit
    below the leading one, at most ``N_DCLS - 1``: only ``e >> p`` below 64 needs its bit length)."""
    if e == 0:
        return 0
    t = e >> p
    if t == 0:
        return 1
    if t >= 64:
        return N_DCLS - 1
    bt = np.int64(0)  # floor(log2 t), at most 5
    while t > 1:
        t >>= 1
        bt += 1
    b = bt + p
    half = (e >> (b - 1)) & 1 if b >= 1 else 0
    rel = 2 * bt + half + 1
    return rel if rel < N_DCLS - 1 else N_DCLS - 1


@njit(cache=True, inline="always")
def _plane_cls(mag, c, i, j):
    if c == 0:
        return 0
    return 2 if mag[0, np.uint64(i), np.uint64(j)] != 0 else 1


@njit(cache=True, inline="always")
def _sig_class(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, w, p):
    """The neighbourhood part of the significance context of insignificant ``(c, i, j)`` at plane
    ``p``: ``n * N_DCLS + d`` (below 36), ``n`` the count of significant 8-neighbours (0, 1, 2+),
    ``d`` the class of the magnitude energy (:func:`_energy`)."""
    e, n = _energy(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, w)
    if n > 2:
        n = 2
    return n * N_DCLS + _dclass(e, p)


@njit(cache=True, inline="always")
def _sig_ctx(mag, c, i, j, cls, bcls):
    """The significance context of ``(c, i, j)`` from its :func:`_sig_class` ``cls``, its plane class
    and its band class."""
    n = cls // N_DCLS
    return SIG0 + ((n * N_PLANE_CLS + _plane_cls(mag, c, i, j)) * N_BAND_CLS + bcls) * N_DCLS + cls - n * N_DCLS


@njit(cache=True, inline="always")
def _sgn(mag, flags, c, i, j):
    if mag[c, np.uint64(i), np.uint64(j)] == 0:
        return 0
    return -1 if flags[c, np.uint64(i), np.uint64(j)] & SIGN else 1


@njit(cache=True, inline="always")
def _sign_context(mag, flags, c, i, j, r0, r1, c0, c1, level, orient, levels):
    h = 0
    v = 0
    if j > c0:
        h += _sgn(mag, flags, c, i, j - 1)
    if j + 1 < c1:
        h += _sgn(mag, flags, c, i, j + 1)
    if i > r0:
        v += _sgn(mag, flags, c, i - 1, j)
    if i + 1 < r1:
        v += _sgn(mag, flags, c, i + 1, j)
    h = max(-1, min(1, h))
    v = max(-1, min(1, v))
    ps = 0
    if orient != 0:
        if level < levels:
            ps = _sgn(mag, flags, c, i >> 1, j >> 1)
        else:
            ps = _sgn(mag, flags, c, i - r0, j - c0)
    ls = _sgn(mag, flags, 0, i, j) if c > 0 else 0
    chroma = 1 if c > 0 else 0
    return SGN0 + (((chroma * 4 + orient) * 9 + (h + 1) * 3 + (v + 1)) * 9 + (ps + 1) * 3 + (ls + 1))


@njit(cache=True, inline="always")
def _p_one(probs, ctx):
    """The model's probability (2**-15 units) that the next bit in ``ctx`` is 1."""
    return 32768 - ((np.int64(probs[ctx, 0]) + probs[ctx, 1]) >> 1)


@njit(cache=True, inline="always")
def _block_of(bands, b, i, j):
    """Index of the 4x4 block of band ``b`` that holds ``(i, j)``."""
    return bands[b, BLK0] + ((i - bands[b, R0]) >> 2) * bands[b, NBW] + ((j - bands[b, C0]) >> 2)


@njit(cache=True, inline="always")
def _bit_of(bands, b, i, j):
    """The bit of ``(i, j)`` of band ``b`` in its block's masks."""
    return np.int64(1) << ((((i - bands[b, R0]) & 3) << 2) + ((j - bands[b, C0]) & 3))


@njit(cache=True, inline="always")
def _member_changed(mag, flags, blocks, bands, c, b, i, j, newly_significant):
    """A member of the context of ``(c, i, j)`` (of band ``b``) changed its magnitude: the cached
    context of an insignificant ``(c, i, j)`` is stale (its stamp cleared; a significant one keeps
    its sign and lowest plane, in the same 6 bits).  When the member has just become significant,
    an insignificant ``(c, i, j)`` not yet open (its context was empty: no member significant
    before) joins its block's open and to-do masks."""
    flags[c, np.uint64(i), np.uint64(j)] &= np.uint8(CLASS_BITS)
    if newly_significant and mag[c, np.uint64(i), np.uint64(j)] == 0:
        k = _block_of(bands, b, i, j)
        bit = _bit_of(bands, b, i, j)
        if (blocks[c, OPEN, np.uint64(k)] & bit) == 0:
            blocks[c, OPEN, np.uint64(k)] |= bit
            blocks[c, TODO, np.uint64(k)] |= bit


@array_helper
def context_member_changed(mag, flags, blocks, bands, b, c, i, j, newly_significant):
    """The magnitude of ``(c, i, j)`` (of band ``b``) changed: :func:`_member_changed` for every
    coefficient whose magnitude energy includes it (its 8 neighbours in the band, its children, its
    parent; an LL coefficient is the parent of the three coarsest detail coefficients at its place).
    With ``newly_significant``, an insignificant coefficient is open exactly when its energy is
    not 0.  Bands are numbered as in :func:`band_table`: the children's band is ``b + 3``, the
    parent's ``b - 3`` (LL's children: bands 1-3).  Callers pass ``np.bool_(True)`` or ``np.bool_(False)``: a literal
    ``True`` / ``False`` would compile it twice (Numba specialises on literal arguments)."""
    r0, r1, c0, c1 = bands[b, R0], bands[b, R1], bands[b, C0], bands[b, C1]
    level, orient, levels = bands[b, LEVEL], bands[b, ORIENT], bands.shape[0] // 3
    for di in range(-1, 2):
        for dj in range(-1, 2):
            ii = i + di
            jj = j + dj
            if (di != 0 or dj != 0) and ii >= r0 and ii < r1 and jj >= c0 and jj < c1:
                _member_changed(mag, flags, blocks, bands, c, b, ii, jj, newly_significant)
    if orient == 0:
        if levels > 0:
            for o in range(1, 4):  # bands 1-3: (i, j + c1), (i + r1, j), (i + r1, j + c1)
                _member_changed(mag, flags, blocks, bands, c, o, i + (r1 if o >= 2 else 0),
                                j + (c1 if o != 2 else 0), newly_significant)
        return
    if level > 1:
        for di in range(2):
            for dj in range(2):
                _member_changed(mag, flags, blocks, bands, c, b + 3, 2 * i + di, 2 * j + dj,
                                newly_significant)
    if level < levels:
        _member_changed(mag, flags, blocks, bands, c, b - 3, i >> 1, j >> 1, newly_significant)


@array_helper
def record_significant(mag, flags, blocks, bands, b, k, c, i, j, p, s):
    """``(c, i, j)`` of block ``k`` of band ``b`` became significant at plane ``p`` with sign ``s``:
    its state, its block's masks and the contexts it belongs to (:func:`context_member_changed`).

    A call (compiled once, without reference counting), not inlined in Numba's IR at each of
    the three places that code a sign: inlined, the passes took twice as long to compile
    (it runs once per significant coefficient, where the call costs nothing measurable)."""
    mag[c, np.uint64(i), np.uint64(j)] = np.int32(1) << p
    flags[c, np.uint64(i), np.uint64(j)] = np.uint8(s | (p << LOW_SHIFT))
    bit = _bit_of(bands, b, i, j)
    blocks[c, SIG, np.uint64(k)] |= bit
    blocks[c, OPEN, np.uint64(k)] &= ~bit
    blocks[c, TODO, np.uint64(k)] &= ~bit
    context_member_changed(mag, flags, blocks, bands, b, c, i, j, np.bool_(True))


@njit(cache=True, inline="always")
def _code_sign(decoding, regs, state, buf, probs, counts, stats, coef, mag, flags, blocks, bands, b, k,
               c, i, j, p, r0, r1, c0, c1, level, orient, levels):
    """Code the sign of a coefficient (of block ``k`` of band ``b``) found significant at plane ``p``
    and record it; ``(regs, done)``."""
    sctx = _sign_context(mag, flags, c, i, j, r0, r1, c0, c1, level, orient, levels)
    s = 0
    if not decoding:
        s = 1 if coef[c, i, j] < 0 else 0
    s, regs = code_decision(decoding, True, regs, state, buf, probs, counts, stats, sctx, s)
    if s < 0:
        return regs, True
    record_significant(mag, flags, blocks, bands, b, k, c, i, j, p, s)
    return regs, (not decoding) and state[STATE_DONE] != 0


@njit(cache=True, inline="always")
def _code_significance(decoding, regs, state, buf, probs, counts, stats, coef, mag, flags, blocks,
                       bands, b, k, c, i, j, p, ctx, r0, r1, c0, c1, level, orient, levels):
    """Code the significance of ``(c, i, j)`` at plane ``p`` in ``ctx`` (and its sign); ``(regs, bit, done)``."""
    bit = 0
    if not decoding:
        bit = 1 if (_magnitude(coef, c, i, j) >> p) != 0 else 0
    bit, regs = code_decision(decoding, True, regs, state, buf, probs, counts, stats, ctx, bit)
    if bit < 0:
        return regs, 0, True
    if bit == 1:
        regs, done = _code_sign(decoding, regs, state, buf, probs, counts, stats, coef, mag, flags, blocks, bands,
                                b, k, c, i, j, p, r0, r1, c0, c1, level, orient, levels)
        return regs, 1, done
    return regs, 0, (not decoding) and state[STATE_DONE] != 0


@_pass
def propagation_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, flags, blocks, bands,
                     wts, levels, p, c, p_min):
    """Significance of plane ``c``'s insignificant coefficients with a non-empty context not yet coded
    at this plane (the blocks' to-do masks) whose modelled probability of significance is at least
    ``p_min`` (2**-15 units); ``(regs, done)``.

    Within a block, the to-do mask is read again after each coefficient: a coefficient further on
    whose context a decision has just opened is coded in the same pass, as in a scan of the block.
    ``flags[c, i, j] >> STAMP_SHIFT == plane_stamp(p)``: its low bits hold the :func:`_sig_class`
    computed by an earlier sub-pass of this plane, still valid (see :func:`_member_changed`)."""
    stamp = plane_stamp(p)
    for b in range(bands.shape[0]):
        r0, r1, c0, c1 = bands[b, R0], bands[b, R1], bands[b, C0], bands[b, C1]
        level, orient, bcls = bands[b, LEVEL], bands[b, ORIENT], bands[b, BCLS]
        w = _band_weights(wts, orient)
        k_end = bands[b, BLK0]
        for bi in range(r0, r1, 4):
            k_row = k_end
            k_end = k_row + bands[b, NBW]
            for k in range(k_row, k_end):
                if blocks[c, TODO, np.uint64(k)] == 0:
                    continue
                bj = c0 + 4 * (k - k_row)
                pos = 0
                while True:
                    after = np.int64(blocks[c, TODO, np.uint64(k)]) >> pos
                    if after == 0:
                        break
                    pos += trailing_zeros(after)
                    i = bi + (pos >> 2)
                    j = bj + (pos & 3)
                    bit = np.int64(1) << pos
                    pos += 1
                    f = np.int64(flags[c, np.uint64(i), np.uint64(j)])
                    if (f >> STAMP_SHIFT) == stamp:
                        cls = f & CLASS_BITS
                    else:
                        cls = _sig_class(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, w, p)
                        flags[c, np.uint64(i), np.uint64(j)] = np.uint8(cls | (stamp << STAMP_SHIFT))
                    ctx = _sig_ctx(mag, c, i, j, cls, bcls)
                    if p_min > 0 and _p_one(probs, ctx) < p_min:
                        continue
                    blocks[c, TODO, np.uint64(k)] &= ~bit
                    regs, _, done = _code_significance(decoding, regs, state, buf, probs, counts, stats, coef, mag,
                                                       flags, blocks, bands, b, k, c, i, j, p, ctx,
                                                       r0, r1, c0, c1, level, orient, levels)
                    if done:
                        return regs, True
    return regs, False


@_pass
def refinement_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, flags, blocks, bands, wts,
                    levels, p, c):
    """Bit ``p`` of every coefficient of plane ``c`` significant at a higher plane (the blocks'
    significance masks); ``(regs, done)``."""
    chroma = 1 if c > 0 else 0
    for b in range(bands.shape[0]):
        r0, r1, c0, c1 = bands[b, R0], bands[b, R1], bands[b, C0], bands[b, C1]
        level, orient = bands[b, LEVEL], bands[b, ORIENT]
        w = _band_weights(wts, orient)
        k_end = bands[b, BLK0]
        for bi in range(r0, r1, 4):
            k_row = k_end
            k_end = k_row + bands[b, NBW]
            for k in range(k_row, k_end):
                sig = np.int64(blocks[c, SIG, np.uint64(k)])
                if sig == 0:
                    continue
                bj = c0 + 4 * (k - k_row)
                while sig != 0:
                    pos = trailing_zeros(sig)
                    sig &= sig - 1
                    i = bi + (pos >> 2)
                    j = bj + (pos & 3)
                    m = np.int64(mag[c, np.uint64(i), np.uint64(j)])
                    if (m >> (p + 1)) == 0:
                        continue
                    first = 1 if (m >> (p + 2)) == 0 else 0
                    e, _ = _energy(mag, c, i, j, r0, r1, c0, c1, level, orient, levels, w)
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
                    mag[c, np.uint64(i), np.uint64(j)] = np.int32(m | (bit << p))
                    flags[c, np.uint64(i), np.uint64(j)] = np.uint8(
                        (flags[c, np.uint64(i), np.uint64(j)] & SIGN) | (p << LOW_SHIFT))
                    if bit == 1:
                        context_member_changed(mag, flags, blocks, bands, b, c, i, j, np.bool_(False))
                    if not decoding and state[STATE_DONE] != 0:
                        return regs, True
    return regs, False


@_pass
def cleanup_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, flags, blocks, bands, wts,
                 levels, p, c):
    """The remaining insignificant coefficients of plane ``c``, by 4x4 blocks, with a run decision for
    blocks whose coefficients all have empty contexts; ``(regs, done)``.

    From the block masks: a block is empty (all contexts empty, nothing significant) when it holds
    no open and no significant coefficient; what is left to code is what is neither significant nor
    open and already coded at this plane (open, not to do)."""
    for b in range(bands.shape[0]):
        r0, r1, c0, c1 = bands[b, R0], bands[b, R1], bands[b, C0], bands[b, C1]
        level, orient, bcls = bands[b, LEVEL], bands[b, ORIENT], bands[b, BCLS]
        w = _band_weights(wts, orient)
        k = bands[b, BLK0] - 1
        for bi in range(r0, r1, 4):
            rows = min(4, r1 - bi)
            for bj in range(c0, c1, 4):
                k += 1
                cols = min(4, c1 - bj)
                in_block = ((np.int64(1) << (4 * rows)) - 1) & (((np.int64(1) << cols) - 1) * 0x1111)
                opened = np.int64(blocks[c, OPEN, np.uint64(k)])
                sig = np.int64(blocks[c, SIG, np.uint64(k)])
                left = in_block & ~sig & ~(opened & ~np.int64(blocks[c, TODO, np.uint64(k)]))
                if left == 0:
                    continue
                empty = opened == 0 and sig == 0
                if empty:
                    any_sig = 0
                    if not decoding and blocks[c, TOP, np.uint64(k)] > p:
                        any_sig = 1
                    ctx = RUN0 + _plane_cls(mag, c, bi, bj) * N_BAND_CLS + bcls
                    any_sig, regs = code_decision(decoding, True, regs, state, buf, probs, counts, stats, ctx, any_sig)
                    if any_sig < 0:
                        return regs, True
                    if any_sig == 0:
                        if not decoding and state[STATE_DONE] != 0:
                            return regs, True
                        continue
                last = 4 * (rows - 1) + cols - 1
                found = False
                while left != 0:
                    pos = trailing_zeros(left)
                    left &= left - 1
                    i = bi + (pos >> 2)
                    j = bj + (pos & 3)
                    if empty and not found and pos == last:  # the run decision said one is: this one
                        regs, done = _code_sign(decoding, regs, state, buf, probs, counts, stats, coef, mag, flags,
                                                blocks, bands, b, k, c, i, j, p, r0, r1, c0, c1,
                                                level, orient, levels)
                        if done:
                            return regs, True
                        continue
                    if ((np.int64(blocks[c, OPEN, np.uint64(k)]) >> pos) & 1) == 0:  # not open: empty context
                        ctx = SIG0 + (_plane_cls(mag, c, i, j) * N_BAND_CLS + bcls) * N_DCLS
                    else:
                        ctx = _sig_ctx(mag, c, i, j, _sig_class(mag, c, i, j, r0, r1, c0, c1, level, orient, levels,
                                                                w, p), bcls)
                    regs, bit, done = _code_significance(decoding, regs, state, buf, probs, counts, stats, coef,
                                                         mag, flags, blocks, bands, b, k, c, i, j, p,
                                                         ctx, r0, r1, c0, c1, level, orient, levels)
                    if done:
                        return regs, True
                    if bit == 1:
                        found = True
    return regs, False


@kernel
def block_magnitude_bits(coef, bands, blocks):
    """Encoder side: the bit length of each 4x4 block's largest magnitude, into ``blocks[:, TOP]``
    (a block becomes significant at plane ``p`` when it is above ``p``)."""
    for c in range(coef.shape[0]):
        for b in range(bands.shape[0]):
            r0, r1, c0, c1 = bands[b, R0], bands[b, R1], bands[b, C0], bands[b, C1]
            k = bands[b, BLK0]
            for bi in range(r0, r1, 4):
                for bj in range(c0, c1, 4):
                    top = np.int64(0)
                    for i in range(bi, min(bi + 4, r1)):
                        for j in range(bj, min(bj + 4, c1)):
                            top |= _magnitude(coef, c, i, j)
                    n = 0
                    while top != 0:
                        top >>= 1
                        n += 1
                    blocks[c, TOP, k] = n
                    k += 1


@kernel
def final_codes(mag, flags, out):
    """The decoder's codes for :func:`.coefficients.expand_codes` (``out`` may be ``mag`` itself):
    ``+-(2 * known + 2**low)`` for a significant coefficient, 0 otherwise."""
    nc, hp, wp = mag.shape
    for c in range(nc):
        for i in range(hp):
            for j in range(wp):
                m = np.int64(mag[c, i, j])
                if m == 0:
                    out[c, i, j] = 0
                    continue
                f = np.int64(flags[c, i, j])
                a = 2 * m + (np.int64(1) << (f >> LOW_SHIFT))
                out[c, i, j] = -a if f & SIGN else a


@kernel
def optimal_offsets(coef, mag, flags):
    """Encoder side: mean position of the true magnitudes inside their final intervals, for the
    coefficients whose significance only is known ("fresh") and the refined ones (as SPIHT's)."""
    sums = np.zeros(2)
    cnt = np.zeros(2)
    nc, hp, wp = mag.shape
    for c in range(nc):
        for i in range(hp):
            for j in range(wp):
                m = np.int64(mag[c, i, j])
                if m == 0:
                    continue
                lo = np.int64(flags[c, i, j]) >> LOW_SHIFT
                if lo == 0:
                    continue
                width = np.int64(1) << lo
                g = 0 if m == width else 1
                sums[g] += ((_magnitude(coef, c, i, j) & (width - 1)) + 0.5) / width
                cnt[g] += 1
    out = np.full(2, 0.5)
    for g in range(2):
        if cnt[g] > 0:
            out[g] = sums[g] / cnt[g]
    return out


@kernel
def distortion_reduction(coef, mag, flags, offset_fresh, offset_refined):
    """Encoder side: ``sum (|q| + 0.5)**2 - (|q| + 0.5 - r)**2`` over the decoded (significant)
    coefficients, ``r`` their reconstruction (see :func:`wavecodec.coders._bitplane.least_distortion`)."""
    total = 0.0
    nc, hp, wp = mag.shape
    for c in range(nc):
        for i in range(hp):
            for j in range(wp):
                m = np.int64(mag[c, i, j])
                if m == 0:
                    continue
                width = np.int64(1) << (np.int64(flags[c, i, j]) >> LOW_SHIFT)
                if width == 1:
                    r = m + 0.5
                else:
                    r = m + width * (offset_fresh if m == width else offset_refined)
                x = _magnitude(coef, c, i, j) + 0.5
                total += x * x - (x - r) * (x - r)
    return total


def ecbp_code(decoding, coef, mag, flags, levels, n_max, state, buf, probs, counts, stats, regs,
              on_plane=None):
    """Run the coder from bit-plane ``n_max`` down to 0, or until the coder is done; the final registers.

    A Python function driving the compiled passes (per plane: the sub-passes, the
    refinement, the last sub-pass and the cleanup, each over the planes in turn).
    ``on_plane(fraction)``: called after each bit-plane with the fraction of planes done.
    """
    nc, hp, wp = mag.shape
    bands = band_table(hp, wp, levels)
    blocks = zeroed_buffer((nc, 4, n_blocks(bands)), np.uint16)
    if not decoding:
        block_magnitude_bits(coef, bands, blocks)
    for p in range(n_max, -1, -1):
        blocks[:, TODO] = blocks[:, OPEN]  # a new plane: every open coefficient is to do
        steps = [(0, t) for t in SUB_PASSES] + [(1, 0), (0, 0), (2, 0)]
        for kind, t in steps:
            for c in range(nc):
                if kind == 0:
                    regs, done = propagation_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag,
                                                  flags, blocks, bands, WEIGHTS, levels, p, c, t)
                elif kind == 1:
                    regs, done = refinement_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag,
                                                 flags, blocks, bands, WEIGHTS, levels, p, c)
                else:
                    regs, done = cleanup_pass(decoding, regs, state, buf, probs, counts, stats, coef, mag, flags,
                                              blocks, bands, WEIGHTS, levels, p, c)
                if done:
                    return regs
        if on_plane is not None:
            on_plane((n_max - p + 1) / (n_max + 1))
    return regs
