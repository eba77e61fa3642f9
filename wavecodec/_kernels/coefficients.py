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


@njit(cache=True, _nrt=False)
def quantise_block(x, a, b, factor, out, scratch, with_energy, limit):
    """``out[a:b] = trunc(x[a:b] * factor)`` as int32 (1-D arrays), through ``scratch`` (float64,
    at least ``b - a`` long); returns ``max |out[a:b]|``.  With ``with_energy``, ``scratch[:b - a]``
    holds ``(|out[k]| + 0.5)**2`` for the non-zero ``out[k]`` (0 for the others) afterwards, for
    the caller to sum.

    The NumPy code it replaces made seven passes over the block (the product, the
    truncation, the maximum, the minimum, the store; then the energy's absolute value,
    indicator and square); here the block is read once into ``scratch``, with the same
    arithmetic, in loops that LLVM vectorises.  The products are checked against ``limit``
    (the coders' magnitude range, at most ``2**31``) before any is converted: if the block
    reaches it, nothing is written and its largest ``|product|`` is returned at once.
    Otherwise the conversion to int32 truncates toward zero, as ``trunc`` does, and the
    largest magnitude is ``floor`` of the largest ``|product|``.  ``out`` may be the int32
    view of ``x``'s own memory (its first half): the block is read whole before it is
    written, and writing it touches only samples of ``x`` below ``b``.
    """
    n = b - a
    block = x[a:b]  # (slices: indices from 0 up, which LLVM vectorises without wrap-around checks)
    for k in range(n):
        scratch[k] = block[k] * factor
    m = _max_magnitude(scratch, n)
    if m >= limit:
        return m
    written = out[a:b]
    for k in range(n):
        written[k] = np.int32(scratch[k])
    if with_energy:
        for k in range(n):
            v = np.float64(abs(written[k]))
            e = v + (0.5 if v != 0.0 else 0.0)
            scratch[k] = e * e
    return np.floor(m)
