"""EZW: Embedded Zerotree Wavelet coding (J. M. Shapiro, IEEE TSP 41(12):3445-3462, 1993).

The codec is the Numba kernel :func:`wavecodec._kernels.ezw.ezw_code` (which
documents the trees, the scan order, the symbols and their bits) behind the
policy shared with IMP1EZW (:mod:`wavecodec.coders._zerotree`: parameter block,
pass order, quantiser-step search, reconstruction points), on the SPIHT spine's
transforms and integer quantisation (:mod:`wavecodec.coders.spiht`).

Variants (option ``variant``):

``"ac"`` (default)
    The dominant symbols, as two binary decisions (newly significant? then sign,
    or IZ vs ZTR), and the subordinate bits go through the adaptive binary
    arithmetic coder with the contexts of
    :func:`wavecodec._kernels.ezw.ezw_context_count`.  Shapiro uses a
    multi-symbol adaptive arithmetic coder (4 dominant symbols, 3 at the finest
    level, 2 subordinate); the binary decomposition with contexts is our choice.
``"plain"``
    Fixed codes through raw bits: ZTR = 00, IZ = 01, POS = 10, NEG = 11, Z = 00
    (finest level), one raw bit per subordinate-list entry.

Option ``scan``: ``"strict"`` (default) skips coefficients that are already
significant but still scans their descendants unless a zerotree covers them (the
decoder-consistent reading of Shapiro's rule); ``"rescan"`` keeps them in the scan
as zeros (Valens' tutorial, Sprljan's ``ezw.m``).

Colour images are coded as three planes (Y, Cb, Cr) in one stream: each dominant
pass visits the planes in turn, and one subordinate list holds the coefficients of
all three.  Reconstruction is at encoder-measured points inside each
coefficient's uncertainty interval (option ``reconstruction="midpoint"``: the
centre, ``1.5 T`` for a newly significant coefficient, as in the paper).  Lossless
coding uses the integer 5/3 and the RCT, coded down to ``T = 1``.  Options
``pass_order`` (``"shapiro"`` is the paper's), ``step_search`` and
``reconstruction``: :mod:`wavecodec.coders._zerotree`.
"""

from __future__ import annotations

import numpy as np

from .._kernels import ezw as _k
from .._registry import Capabilities, Option, register
from . import _zerotree as Z
from . import _zerotree_priors as _priors
from ._zerotree import SCANS, VARIANTS, EncodeResult  # noqa: F401  (re-exported)

KERNEL = Z.ZerotreeKernel("ezw", _k.ezw_code, _k.ezw_context_count(), SCANS, _priors.EZW, _priors.CONFIDENCE)


def encode_coefficients(q: np.ndarray, **options) -> EncodeResult:
    """:func:`wavecodec.coders._zerotree.encode_coefficients` with the EZW kernel."""
    return Z.encode_coefficients(KERNEL, q, **options)


def decode_coefficients(payload: bytes, **options) -> np.ndarray:
    """:func:`wavecodec.coders._zerotree.decode_coefficients` with the EZW kernel."""
    return Z.decode_coefficients(KERNEL, payload, **options)


class EzwCodec(Z.ZerotreeCodec):
    name = "ezw"
    description = "EZW embedded zerotree wavelet coder, arithmetic-coded or plain fixed codes"
    reference = "J. M. Shapiro, IEEE TSP 41(12):3445-3462, 1993"
    capabilities = Capabilities(embedded=True, lossless=True, colour=True)
    kernel = KERNEL
    mode_fields = Z.mode_fields(KERNEL.scans)
    options = Z.common_options("fixed 2-bit dominant symbols and raw refinement bits") + (
        Option("scan", "strict",
               "'strict': significant coefficients leave the dominant scan (Shapiro, decoder-consistent);"
               " 'rescan': they stay in it as zeros (Valens / Sprljan)", SCANS),
    )


register(EzwCodec())
