"""IMP1EZW: an improved EZW (Brahimi, Laouir, Boubchir, Ali-Cherif, AEU 73:183-192, 2017).

EZW's dominant symbols plus PT / NT ("significant, positive / negative, and the
whole subtree insignificant at this threshold"): such a coefficient and its
zerotree cost one symbol, which removes many of EZW's POS/NEG + ZTR ZTR ZTR
sequences.  Scan (the strict, decoder-consistent reading of Shapiro), subordinate
passes, Shapiro's ordering of the subordinate list, the reconstruction and the
options ``pass_order``, ``step_search`` and ``reconstruction`` are EZW's
(:mod:`wavecodec.coders._zerotree`), and so is the kernel
(:func:`wavecodec._kernels.ezw.ezw_code` with ``subtree_symbols``);
:mod:`wavecodec._kernels.imp1ezw` documents the symbol map, its binary
decomposition and the contexts.

Variants (option ``variant``):

``"ac"`` (default)
    The enlarged alphabet as binary decisions (newly significant?; sign or IZ vs
    ZTR; subtree insignificant?) through the adaptive binary arithmetic coder,
    with contexts from parent and neighbour significance.
``"plain"``
    The same decisions as raw bits (P = 100, N = 110, PT = 101, NT = 111,
    IZ = 01, ZTR = 00; finest level POS = 10, NEG = 11, Z = 00).

Colour images are coded as three planes (Y, Cb, Cr; ICT lossy, RCT lossless) in
one embedded stream: each dominant pass visits the planes in turn, and one
subordinate list holds the coefficients of all three.  Inter-plane dependency:
in the chroma planes, the significance of the co-located luminance coefficient
(the same position in the Y plane, already scanned in the current pass) is an
extra context bit of the significance decisions.  Lossless coding uses the
integer 5/3 and the RCT, coded down to ``T = 1`` (bit-exact).
"""

from __future__ import annotations

import numpy as np

from .._kernels import ezw as _ezw
from .._kernels import imp1ezw as _k
from .._registry import Capabilities, register
from . import _zerotree as Z
from . import _zerotree_priors as _priors
from ._zerotree import VARIANTS, EncodeResult  # noqa: F401  (re-exported)

# EZW's kernel with IMP1EZW's symbol map and contexts
KERNEL = Z.ZerotreeKernel("imp1ezw", _ezw.ezw_code, _k.imp1ezw_context_count(), ("strict",), _priors.IMP1EZW,
                          _priors.CONFIDENCE, subtree_symbols=True)


def encode_coefficients(q: np.ndarray, **options) -> EncodeResult:
    """:func:`wavecodec.coders._zerotree.encode_coefficients` with the IMP1EZW kernel."""
    return Z.encode_coefficients(KERNEL, q, **options)


def decode_coefficients(payload: bytes, **options) -> np.ndarray:
    """:func:`wavecodec.coders._zerotree.decode_coefficients` with the IMP1EZW kernel."""
    return Z.decode_coefficients(KERNEL, payload, **options)


class Imp1EzwCodec(Z.ZerotreeCodec):
    name = "imp1ezw"
    description = "Improved EZW: zerotree coder with PT/NT symbols (significant coefficient + zerotree)"
    reference = "M. Brahimi, L. Laouir, L. Boubchir, A. Ali-Cherif, AEU 73:183-192, 2017"
    capabilities = Capabilities(embedded=True, lossless=True, colour=True)
    kernel = KERNEL
    mode_fields = Z.mode_fields(KERNEL.scans)
    options = Z.common_options("fixed 1-3 bit dominant symbols and raw refinement bits")


register(Imp1EzwCodec())
