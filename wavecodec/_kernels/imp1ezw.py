"""IMP1EZW's symbol map and contexts: what the EZW kernel does differently for IMP1EZW.

Brahimi, Laouir, Boubchir, Ali-Cherif, "An improved embedded zerotree wavelet
image coding method based on coefficient partitioning using morphological
operation" / improved EZW, AEU Int. J. Electron. Commun. 73:183-192, 2017: two
new dominant symbols reduce the number of zerotrees and the symbol redundancy.

IMP1EZW is not a second coder: it is :func:`wavecodec._kernels.ezw.ezw_code`
with ``subtree_symbols`` set (and ``scan="strict"``).  Trees, scan order,
dominant and subordinate passes, Shapiro's re-ordering and the reconstruction
are EZW's; the symbol map is larger:

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
are written raw (Z = 00: the decoder ignores the second bit, as in EZW).  This
is :data:`wavecodec.reference.ezw.IMP1EZW`.

Contexts of the arithmetic-coded variant (:func:`imp1ezw_context_count`; the
functions below compute them), all on what the decoder knows.  Ingredients:

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

What these contexts read of the current pass is in the kernel's pass flags, bits
of its significance map above the significance and the sign (no map of their
own; cleared before every dominant pass; the flags below): ``NEW_SIG``
the node became significant, ``CODED_ZERO`` it was coded ZTR / Z, ``SUBTREE_SIG``
its subtree was known to hold a significant coefficient.
"""

from __future__ import annotations

import numpy as np

from numba import njit

from .jit import array_helper
from .trees import N_BAND, SIGNIFICANT, diagonal_neighbours, four_neighbours

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


# The pass flags: bits of the kernel's significance map above SIGNIFICANT and NEGATIVE
NEW_SIG = 4  # became significant in this pass
CODED_ZERO = 8  # coded ZTR / Z in this pass
SUBTREE_SIG = 16  # its subtree is known to hold a significant coefficient in this pass


@njit(cache=True, inline="always")
def _flag(flags, c, i, j, bit):
    """Whether (c, i, j) has ``bit`` set in this pass (the map has a 1-sample border)."""
    return (flags[c, i + 1, j + 1] & bit) != 0


# inlined in the dominant pass's IR: as a call (LLVM does not inline it) IMP1EZW coded kodim01
# at 1 bpp 1.2-1.4x slower; inlined, its first compilation takes about 0.5 s longer (measured)
@njit(cache=True, inline="always")
def dominant_contexts(sig, flags, c, i, j, pi, pj, hl, wl, band, leaf, n):
    """Contexts of ``b1`` (newly significant), ``b2`` (IZ vs ZTR) and ``b3`` (PT / NT) for (c, i, j), and the inference.

    ``(pi, pj)`` is the parent (-1 in the LL band); ``n`` the pass (threshold
    ``2**n``).  Returns ``(ctx_b1, ctx_b2, ctx_b3, zero_impossible)``: the last is
    the inference of the module docstring (the parent's subtree holds a
    significant coefficient in this pass, (i, j) is the last of its siblings in
    scan order and all the others were coded ZTR / Z).
    """
    # parent state
    ps = np.int64(0)
    zero_impossible = False
    if pi >= 0:
        if sig[c, pi + 1, pj + 1] & SIGNIFICANT:
            ps = np.int64(1) if _flag(flags, c, pi, pj, NEW_SIG) else np.int64(2)
        if _flag(flags, c, pi, pj, SUBTREE_SIG):
            if i < 2 * hl and j < 2 * wl:  # children of an LL node: HL (i, j + wl), LH, HH in scan order
                if i >= hl and j >= wl:
                    zero_impossible = _flag(flags, c, i - hl, j, CODED_ZERO) and _flag(flags, c, i, j - wl, CODED_ZERO)
                elif i >= hl and _flag(flags, c, i - hl, j + wl, CODED_ZERO):
                    ps = np.int64(4)  # LH child after its HL sibling coded ZTR
            elif (i & 1) == 1 and (j & 1) == 1:
                zero_impossible = (_flag(flags, c, i - 1, j - 1, CODED_ZERO) and _flag(flags, c, i - 1, j, CODED_ZERO)
                                   and _flag(flags, c, i, j - 1, CODED_ZERO))
            elif (i & 1) == 1 and _flag(flags, c, i - 1, j, CODED_ZERO) and _flag(flags, c, i - 1, j + 1, CODED_ZERO):
                ps = np.int64(3)  # the third sibling after two ZTR / Z
            elif (i & 1) == 0 and (j & 1) == 1 and _flag(flags, c, i, j - 1, CODED_ZERO):
                ps = np.int64(4)  # the second sibling after a ZTR / Z
    # neighbourhood
    hv = four_neighbours(sig, c, i, j)
    if hv >= 2:
        nb = np.int64(4)
    elif hv == 1:
        nb = np.int64(3)
    else:
        dg = diagonal_neighbours(sig, c, i, j)
        nb = np.int64(2) if dg >= 2 else dg
    kid = np.int64(0)
    if not leaf:  # some child significant from an earlier pass
        if i < hl and j < wl:
            kid = (np.int64(sig[c, i + 1, j + wl + 1] & 1) + np.int64(sig[c, i + hl + 1, j + 1] & 1)
                   + np.int64(sig[c, i + hl + 1, j + wl + 1] & 1))
        else:
            kid = (np.int64(sig[c, 2 * i + 1, 2 * j + 1] & 1) + np.int64(sig[c, 2 * i + 1, 2 * j + 2] & 1)
                   + np.int64(sig[c, 2 * i + 2, 2 * j + 1] & 1) + np.int64(sig[c, 2 * i + 2, 2 * j + 2] & 1))
        if kid > 1:
            kid = np.int64(1)
    # left, up, up-left, up-right (border offset: map index = coordinate + 1)
    sn = ((1 if flags[c, i + 1, j] & SUBTREE_SIG else 0) + (1 if flags[c, i, j + 1] & SUBTREE_SIG else 0)
          + (1 if flags[c, i, j] & SUBTREE_SIG else 0) + (1 if flags[c, i, j + 2] & SUBTREE_SIG else 0))
    if sn > 2:
        sn = 2
    pc = np.int64(0) if c == 0 else 1 + np.int64(sig[0, i + 1, j + 1] & 1)  # co-located luminance significance
    ctx_sig = CTX_SIG + ((((pc * N_BAND + band) * 2 + (1 if leaf else 0)) * N_PS + ps) * N_NB + nb) * 3 + kid
    ctx_zero = CTX_ZTR + ((((pc * N_BAND + band) * N_PS + ps) * N_NB + nb) * 3 + kid) * 3 + sn
    nb3 = 0 if nb == 0 else (1 if nb <= 2 else 2)
    ctx_subtree = CTX_PT + ((((pc * N_BAND + band) * N_PS + ps) * N_NB + nb3) * 3 + kid) * 3 + sn
    return ctx_sig, ctx_zero, ctx_subtree, zero_impossible


@array_helper
def subordinate_context(sig, c, i, j, band, first):
    """Context of a subordinate bit: chroma, band, first refinement, significant 4-neighbours (0, 1, 2+)."""
    hv = four_neighbours(sig, c, i, j)
    return CTX_SUB + (((1 if c > 0 else 0) * N_BAND + band) * 2 + first) * 3 + min(hv, 2)
