"""Decoded coefficient codes -> float64 coefficients, shared by the bit-plane decoders.

A bit-plane decoder knows each significant coefficient only to an interval: its
magnitude lies in ``[v, v + 2**low)``, where ``v`` holds the decoded bits and
``low`` is the lowest plane decoded for it.  The decoders write that knowledge as
one int32 *code* per coefficient, ``+-((v << 1) | (1 << low))`` (0: not
significant; the sign is the coefficient's): the lowest set bit of ``|code|`` is
``2**low``, and ``v == 2**low`` means only the significance bit is known ("fresh").
Magnitudes stay below ``2**30``, so codes fit int32.

:func:`expand_codes` turns codes into coefficient values.  It can work in place:
the codes may be the int32 view of the first half of the float64 output's own
memory (flat index ``k`` of the codes inside bytes ``[4k, 4k + 4)``, of the output
inside ``[8k, 8k + 8)``), because it visits the coefficients in reverse raster
order, so that writing value ``k`` overwrites only codes ``2k`` and ``2k + 1``,
already read.  A decoder thus needs one float64 array (8 bytes per coefficient)
for its state and its result, instead of an int32 state plus a float64 result.

Lossless streams (integer 5/3, no weights) need no float64 at all:
:func:`expand_integer_codes` turns the codes into the integer coefficients in
place in their own int32 array, which the inverse 5/3 then works in (4 bytes per
coefficient for state and result).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .jit import helper

#: the numbers of terms at which NumPy's pairwise summation stops halving and sums directly
#: (``PW_BLOCKSIZE`` in NumPy's ``loops_utils.h``), and its unrolling factor
_PAIRWISE_BLOCK = 128
_UNROLL = 8


@njit(cache=True, _nrt=False)
def expand_codes(codes, out, weight_table, rowlev, collev, plane_weight, frac_bits, integer,
                 offset_fresh, offset_refined):
    """``out[c, i, j]`` (float64, C x H x W) from ``codes[c, i, j]`` (int32) for the top-left H x W corner.

    A coefficient known to lie in ``[v, v + 2**low)`` is reconstructed at
    ``v + offset * 2**low``, with ``offset_fresh`` when only its significance is
    known and ``offset_refined`` otherwise (the papers' interval centre is 0.5 for
    both; the encoder may send better fractions); at ``v + 0.5`` when fully decoded
    (``low == 0``: magnitudes are truncated to integers); lossless (``integer``):
    ``v + (2**low - 1) // 2``, the middle integer.  Then divided by ``2**frac_bits``
    and by the coefficient's weight ``weight_table[rowlev[i], collev[j]] *
    plane_weight[c]`` (undoing the encoder's rate-distortion weighting).

    ``codes`` may share ``out``'s memory as described in the module docstring.
    """
    nc, ho, wo = out.shape
    scale = 1.0 / (1 << frac_bits)
    for c in range(nc - 1, -1, -1):
        pw = plane_weight[c]
        for i in range(ho - 1, -1, -1):
            rl = rowlev[i]
            for j in range(wo - 1, -1, -1):
                code = np.int64(codes[c, i, j])
                if code == 0:
                    out[c, i, j] = 0.0
                    continue
                a = -code if code < 0 else code
                lowbit = a & -a  # 2**low
                known = (a - lowbit) >> 1
                v = np.float64(known)
                if integer:
                    v += np.float64((lowbit - 1) // 2)
                elif lowbit > 1:
                    v += np.float64(lowbit) * (offset_fresh if known == lowbit else offset_refined)
                else:
                    v += 0.5
                v *= scale / (weight_table[rl, collev[j]] * pw)
                out[c, i, j] = -v if code < 0 else v


@njit(cache=True, _nrt=False)
def expand_integer_codes(codes, out, frac_bits):
    """``out[c, i, j]`` (int32, C x H x W) from ``codes[c, i, j]`` for the top-left H x W corner:
    the integer reconstruction of :func:`expand_codes` with ``integer`` set and unit
    weights, ``+-((v + (2**low - 1) // 2) >> frac_bits)``, exactly the truncation to
    int32 of the float64 value that :func:`expand_codes` computes (lossless streams
    carry ``frac_bits = 0``).  ``out`` may be ``codes`` itself (each element is read
    before it is written).
    """
    nc, ho, wo = out.shape
    for c in range(nc):
        for i in range(ho):
            for j in range(wo):
                code = np.int64(codes[c, i, j])
                if code == 0:
                    out[c, i, j] = 0
                    continue
                a = -code if code < 0 else code
                lowbit = a & -a
                v = (((a - lowbit) >> 1) + (lowbit - 1) // 2) >> frac_bits
                out[c, i, j] = -v if code < 0 else v


# ----------------------------------------------------------------------------- encoder side


@helper
def _direct_sum(a, lo, n):
    """NumPy's sum of at most ``_PAIRWISE_BLOCK`` terms: 8 interleaved partial sums, then the rest."""
    if n < _UNROLL:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    stop = n - n % _UNROLL
    for i in range(_UNROLL, stop, _UNROLL):
        k = lo + i
        r0 += a[k]
        r1 += a[k + 1]
        r2 += a[k + 2]
        r3 += a[k + 3]
        r4 += a[k + 4]
        r5 += a[k + 5]
        r6 += a[k + 6]
        r7 += a[k + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(stop, n):
        res += a[lo + i]
    return res


@helper
def _left_size(n):
    """Terms of the first half where NumPy's pairwise summation splits ``n`` of them."""
    half = n // 2
    return half - half % _UNROLL


@helper
def pairwise_sum(a, lo, n, nodes, lefts):
    """``a[lo:lo + n].sum()`` added in NumPy's order, bit for bit: its pairwise summation of a
    contiguous float64 array (``pairwise_sum`` in NumPy's ``loops_utils.h``), which halves the
    terms (the first half a multiple of 8) down to at most 128, sums those directly
    (:func:`_direct_sum`) and adds each pair of halves.  The recursion is unrolled over a
    stack (``nodes``: int64 (3, depth), ``lefts``: float64 (depth); 64 suffice for any
    ``n``), because Numba's cache does not reload recursive functions safely (a cached
    recursive kernel crashed the next process)."""
    depth = 0
    start, size = lo, n
    while True:
        while size > _PAIRWISE_BLOCK:  # down to the first leaf of this subtree, keeping the path
            nodes[0, depth] = start
            nodes[1, depth] = size
            nodes[2, depth] = 0  # the left half's sum not known yet
            depth += 1
            size = _left_size(size)
        value = _direct_sum(a, start, size)
        while depth > 0:  # up while the value completes right halves
            d = depth - 1
            if nodes[2, d] == 0:  # it was the left half: the right half next
                nodes[2, d] = 1
                lefts[d] = value
                half = _left_size(nodes[1, d])
                start, size = nodes[0, d] + half, nodes[1, d] - half
                break
            value = lefts[d] + value
            depth -= 1
        if depth == 0:
            return value


@njit(cache=True, no_cpython_wrapper=True, no_cfunc_wrapper=True, fastmath={"nnan", "ninf"})
def _max_magnitude(values, n):
    """``max |values[:n]|`` (0 when ``n`` is 0).  Compiled with the flags that let LLVM vectorise
    the reduction (no NaN, no infinity: the lossy front end refuses non-finite samples, so
    the coefficients are finite); a maximum is exact in any order, so the value is the one
    a plain loop gives."""
    m = 0.0
    for k in range(n):
        m = max(m, abs(values[k]))
    return m


@njit(cache=True)
def quantise(x, factor, out, chunk, scratch, with_energy, limit):
    """``out[k] = trunc(x[k] * factor)`` as int32 (1-D arrays), in blocks of ``chunk`` samples
    through ``scratch`` (float64, at least ``chunk`` long); returns ``(top, energy)``: the
    largest ``|out[k]|`` and, with ``with_energy``, the sum of ``(|out[k]| + 0.5)**2`` over the
    non-zero ones (their truncation intervals' centres), else 0.

    The NumPy code it replaces made seven passes over each block (the product, the
    truncation, the maximum, the minimum, the store; then the energy's absolute value,
    indicator, square and sum over the int32 values); here each block is read once into
    ``scratch``, and the loops are simple enough for LLVM to vectorise.  The arithmetic is the
    same: each block's energy is summed in NumPy's pairwise order (:func:`pairwise_sum`)
    and the blocks' sums added in order, so the values are the former code's bit for bit.
    When a block reaches ``limit`` (the coders' magnitude range) it is not written and its
    maximum is returned at once (the caller raises).  ``out`` may be the int32 view of
    ``x``'s own memory (its first half): a block is read whole before it is written, and
    writing it touches only samples of ``x`` below its end.
    """
    n = x.shape[0]
    top = 0.0
    energy = 0.0
    nodes = np.empty((3, 64), dtype=np.int64)
    lefts = np.empty(64)
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        size = b - a
        block = x[a:b]
        for k in range(size):
            scratch[k] = np.trunc(block[k] * factor)
        m = _max_magnitude(scratch, size)
        if m > top:
            top = m
        if m >= limit:
            return top, energy
        written = out[a:b]
        for k in range(size):
            written[k] = np.int32(scratch[k])
        if with_energy:
            for k in range(size):
                v = abs(scratch[k])
                e = v + (0.5 if v != 0.0 else 0.0)
                scratch[k] = e * e
            energy += pairwise_sum(scratch, 0, size, nodes, lefts)
    return top, energy
