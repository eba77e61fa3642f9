"""Helpers shared by the tree coders' kernels (SPIHT, EZW, IMP1EZW), in Numba.

Coefficients are in the zero-padded dyadic tree layout of :mod:`wavecodec.transform`;
``rowlev[i]`` / ``collev[j]`` give the decomposition level of row ``i`` / column ``j``
(``levels + 1`` inside the LL band), a coefficient's level is the minimum.
Significance and sign maps carry a one-sample zero border: ``sig[c, i + 1, j + 1]``
is coefficient ``(c, i, j)``.  Lists hold packed coordinates
``(c << SHIFT_C) | (i << SHIFT_I) | j``.

Scalar helpers are ordinary jitted functions (LLVM inlines them); helpers that
read the maps are inlined in Numba's IR: called per coded bit with arrays, as
functions they would update the arrays' reference counts on every call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .jit import array_helper, helper

SHIFT_C = 42
SHIFT_I = 21
MASK = (1 << 21) - 1
N_BAND = 4  # band classes of the contexts: LL, levels >= 3, level 2, level 1
# The coders' significance map (uint8, a 1-sample zero border) holds the sign too:
# 0 not (yet) significant, SIGNIFICANT, or SIGNIFICANT | NEGATIVE.
SIGNIFICANT = 1
NEGATIVE = 2


@njit(cache=True, inline="always")
def pack(c, i, j):
    """List entry of coefficient (c, i, j); ``p >> SHIFT_C``, ``(p >> SHIFT_I) & MASK``, ``p & MASK`` unpack it."""
    return (np.int64(c) << SHIFT_C) | (np.int64(i) << SHIFT_I) | np.int64(j)


@njit(cache=True, inline="always")
def unpack(p):
    """``(c, i, j)`` of list entry ``p`` (see :func:`pack`)."""
    return p >> SHIFT_C, (p >> SHIFT_I) & MASK, p & MASK


@njit(cache=True, inline="always")
def pack_at(c, i, j, shift_c, shift_i):
    """List entry ``(c << shift_c) | (i << shift_i) | j`` of coefficient (c, i, j), with the shifts
    chosen for the image (:func:`list_shifts`), so that entries fit int32 for images up to 2**31 samples."""
    return (np.int64(c) << shift_c) | (np.int64(i) << shift_i) | np.int64(j)


@njit(cache=True, inline="always")
def unpack_at(p, shift_c, shift_i):
    """``(c, i, j)`` of list entry ``p`` (see :func:`pack_at`)."""
    q = np.int64(p)
    return q >> shift_c, (q >> shift_i) & ((np.int64(1) << (shift_c - shift_i)) - 1), q & ((np.int64(1) << shift_i) - 1)


def list_shifts(nc: int, hp: int, wp: int) -> tuple[int, int, type]:
    """``(shift_c, shift_i, dtype)`` of :func:`pack_at` for a (nc, hp, wp) layout: int32 entries when
    they fit (4 bytes per list entry), else int64."""
    shift_i = max(1, (wp - 1).bit_length())
    shift_c = shift_i + max(1, (hp - 1).bit_length())
    return shift_c, shift_i, (np.int32 if nc << shift_c <= 1 << 31 else np.int64)


@njit(cache=True, inline="always")
def band_class(lev, levels):
    """Context band class of a coefficient at level ``lev``: 0 LL, 1 levels >= 3, 2 level 2, 3 level 1."""
    if lev > levels:
        return 0
    if lev >= 3:
        return 1
    if lev == 2:
        return 2
    return 3


@njit(cache=True, inline="always")
def orientation(rl, cl, levels):
    """0 LL, 1 HL (top-right), 2 LH (bottom-left), 3 HH."""
    if rl > levels and cl > levels:
        return 0
    if cl < rl:
        return 1
    if rl < cl:
        return 2
    return 3


@njit(cache=True, inline="always")
def four_neighbours(sig, c, i, j):
    """How many of the left, right, upper and lower neighbours of (c, i, j) are significant (0..4)."""
    y = i + 1
    x = j + 1
    return (np.int64(sig[c, y, x - 1] & SIGNIFICANT) + np.int64(sig[c, y, x + 1] & SIGNIFICANT)
            + np.int64(sig[c, y - 1, x] & SIGNIFICANT) + np.int64(sig[c, y + 1, x] & SIGNIFICANT))


@njit(cache=True, inline="always")
def diagonal_neighbours(sig, c, i, j):
    """How many of the four diagonal neighbours of (c, i, j) are significant (0..4)."""
    y = i + 1
    x = j + 1
    return (np.int64(sig[c, y - 1, x - 1] & SIGNIFICANT) + np.int64(sig[c, y - 1, x + 1] & SIGNIFICANT)
            + np.int64(sig[c, y + 1, x - 1] & SIGNIFICANT) + np.int64(sig[c, y + 1, x + 1] & SIGNIFICANT))


@njit(cache=True, inline="always")
def signed(sig, c, y, x):
    """+1 / -1 for a significant positive / negative map entry, 0 if insignificant (other bits
    of the entry, IMP1EZW's pass flags, are ignored)."""
    v = sig[c, y, x]
    if (v & SIGNIFICANT) == 0:
        return 0
    return -1 if v & NEGATIVE else 1


@njit(cache=True, inline="always")
def sign_context(sig, c, i, j, orient):
    """Sign context (0..71) from the signs of the significant horizontal and vertical neighbours.

    As in EBCOT (JPEG 2000 Part 1, D.3.2): each direction contributes the sum of
    its two neighbours' signs (+1 positive, -1 negative, 0 insignificant),
    clamped to -1..1, giving 9 configurations per band orientation; chroma planes
    (``c > 0``) have their own 36.
    """
    y = i + 1
    x = j + 1
    h = signed(sig, c, y, x - 1) + signed(sig, c, y, x + 1)
    v = signed(sig, c, y - 1, x) + signed(sig, c, y + 1, x)
    h = 1 if h > 0 else (-1 if h < 0 else 0)
    v = 1 if v > 0 else (-1 if v < 0 else 0)
    chroma = 1 if c > 0 else 0
    return (chroma * 4 + orient) * 9 + (h + 1) * 3 + (v + 1)


@array_helper
def coefficient_sign_context(sig, rowlev, collev, levels, c, i, j):
    """:func:`sign_context` of coefficient (c, i, j), its band orientation from the level maps."""
    return sign_context(sig, c, i, j, orientation(rowlev[i], collev[j], levels))


@njit(cache=True)
def interval_means(sums, counts):
    """Mean position of the magnitudes inside their uncertainty intervals, per group
    (0 fresh, 1 refined), from their sums and counts; 0.5 (the centre) for an empty group."""
    out = np.full(2, 0.5)
    for g in range(2):
        if counts[g] > 0:
            out[g] = sums[g] / counts[g]
    return out


@helper
def top_plane(x):
    """Index of the highest set bit of ``x >= 0`` (-1 for 0): ``x >= 2**n`` iff ``top_plane(x) >= n``."""
    t = -1
    step = 16  # binary search over the bit positions: 16, 8, 4, 2, 1
    while step > 0:
        if x >= np.int64(1) << step:
            x >>= step
            t += step
        step >>= 1
    if x >= 1:
        t += 1
    return t


@njit(cache=True, inline="always")
def top_bit(x):
    """The highest power of two ``<= x`` for ``0 <= x < 2**32`` (0 for 0): ``2**top_plane(x)``.

    Without branches (the bits below the highest are smeared to ones, then all but
    the highest dropped): in a loop over every coefficient the binary search of
    :func:`top_plane` mispredicts its branches (measured: EZW's
    :func:`~wavecodec._kernels.ezw.descendant_planes` 1.6x faster this way at 8192x8192).
    """
    x = np.int64(x)
    x |= x >> 1
    x |= x >> 2
    x |= x >> 4
    x |= x >> 8
    x |= x >> 16
    return x - (x >> 1)


@njit(cache=True, inline="always")
def top_bit_of_magnitude(v):
    """``top_bit(|v|)`` as uint32 for an int32 ``v`` with ``|v| < 2**31``: the same smearing in
    32-bit lanes, which LLVM vectorises twice as wide as :func:`top_bit`'s 64-bit ones."""
    x = np.uint32(v if v >= 0 else -v)
    x |= x >> np.uint32(1)
    x |= x >> np.uint32(2)
    x |= x >> np.uint32(4)
    x |= x >> np.uint32(8)
    x |= x >> np.uint32(16)
    return x - (x >> np.uint32(1))


@njit(cache=True, inline="always")
def magnitude(coef, c, i, j):
    """``|coef[c, i, j]|`` (the encoder's coefficients are signed int32, magnitudes below 2**30)."""
    m = np.int64(coef[c, i, j])
    return -m if m < 0 else m
