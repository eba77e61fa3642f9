"""SPIHT: Set Partitioning In Hierarchical Trees (Said & Pearlman, IEEE TCSVT 6(3):243-250, 1996).

This module declares the codec on the bit-plane framework of
:mod:`wavecodec.coders._bitplane` (transforms, quantisation, parameter block,
step search, reconstruction) and runs the Numba kernel
:func:`wavecodec._kernels.spiht.spiht_code`.

Variants (option ``variant``):

``"ac"`` (default)
    Arithmetic-coded SPIHT: every significance, sign and refinement bit goes
    through the adaptive binary arithmetic coder with the contexts described in
    :func:`wavecodec._kernels.spiht.spiht_context_count`.  Said & Pearlman also
    arithmetic-code their output (Sec. IV); their coder groups the significance
    bits of a 2x2 offspring set into one symbol, ours models each bit with
    neighbourhood contexts instead (a documented difference, see docs/spiht.md).
``"plain"`` (also spelt ``"binary"``, the name this variant had before)
    The paper's binary-uncoded output: the raw bits of the sorting and refinement
    passes, exactly as listed in the algorithm of Sec. III.

Colour images are coded as one SPIHT forest: the spatial-orientation trees of
the three planes (Y, Cb, Cr) share the lists and the threshold, so every pass
visits all planes and a cut at any byte spends the bits where the magnitudes are,
across planes.  Lossy colour uses the irreversible ICT with each chroma plane
scaled by the square root of its synthesis gain to RGB (so equal coefficient
errors cost equal RGB squared error); lossless uses the RCT and the integer 5/3.
"""

from __future__ import annotations

import numpy as np

from .._kernels import arith as _ac
from .._kernels import spiht as _k
from .._progress import report_progress
from .._registry import Capabilities, register
from . import _bitplane as B
from . import _spiht_priors as _priors
from ._bitplane import EncodeResult  # noqa: F401  (re-exported)

VARIANTS = B.VARIANTS
SpihtPlan = B.BitplanePlan  # SPIHT's parameter block has no mode bytes


def initial_models(priors: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Context models at the start of a stream: the trained priors of ``_spiht_priors`` or flat 1/2."""
    if priors and _priors.PRIORS is not None:
        return _ac.models_from_priors(np.asarray(_priors.PRIORS), _priors.CONFIDENCE)
    return _ac.new_models(_k.spiht_context_count())


def _run_kernel(decoding, arith, coef, levels, n_max, state, buf, out_val, stats=None, priors=True):
    """Run :func:`spiht_code`; returns ``(n_stop, n_lsp, refined, lsp_old, lists, maps)``."""
    nc, hp, wp = coef.shape
    rowlev, collev = B.level_maps(hp, wp, levels)
    tree, maps, lists = _k.workspace(decoding, coef, out_val, levels, rowlev, collev,
                                     mapped=coef.size >= B.BIG_IMAGE_SAMPLES)
    probs, counts = initial_models(priors)
    if stats is None:
        stats = np.zeros((0, 2), dtype=np.int64)
    coder = _ac.BitCoder(state, buf, probs, counts, stats)
    # ``decoding`` is a run-time bool (one compiled kernel for both directions);
    # ``arith`` is None (raw bits) or True: Numba compiles each variant separately
    # (and prunes the arithmetic coder from the raw-bits one).
    n_stop, n_lsp, refined, lsp_old = _k.spiht_code(decoding, True if arith else None, tree, maps, lists, coder,
                                                    n_max, 0, on_pass=report_progress)
    return n_stop, n_lsp, refined, lsp_old, lists, maps


def encode_coefficients(q: np.ndarray, *, variant: str, levels: int, n_max: int, budget: int | None,
                        stats: np.ndarray | None = None, priors: bool = True,
                        estimate_error: bool = True) -> EncodeResult:
    """Run the SPIHT encoder on signed integer coefficients in tree layout (C, hp, wp).

    The payload is at most ``budget`` bytes.  ``stats`` (contexts x 2) counts the
    coded symbols per context.  (To follow the coder decision by decision, use
    :func:`wavecodec.trace`: its reference coder gives the same bits as the
    ``plain`` variant.)  The kernel reads ``q`` as it is when it is C-contiguous
    int32 (what :func:`wavecodec.coders._bitplane.forward_coefficients` yields).
    ``estimate_error=False`` skips ``reduction`` (the step search's error estimate).
    """
    if n_max < 0:
        return EncodeResult(b"")
    coef = np.ascontiguousarray(q, dtype=np.int32)
    arith = B.VARIANT_ALIASES.get(variant, variant) == "ac"
    dummy_val = np.zeros((1, 1, 1), dtype=np.int32)

    def run(state, buf):
        return _run_kernel(False, arith, coef, levels, n_max, state, buf, dummy_val, stats, priors)

    payload, (n_stop, n_lsp, refined, lsp_old, lists, _) = B.run_encoder(
        arith, budget, max(1024, coef.size * (n_max + 2) // 4), run)
    lsp, sizes = lists.lsp, lists.lsp_sizes
    shifts = _k.list_shifts(*coef.shape)[:2]
    offsets = _k.optimal_offsets(coef, lsp, sizes, n_lsp, n_stop, refined, lsp_old, *shifts)
    recon = tuple(int(np.clip(np.rint(o * 256), 1, 255)) for o in offsets)
    reduction = 0.0
    if estimate_error:
        reduction = _k.distortion_reduction(coef, lsp, sizes, n_lsp, n_stop, refined, lsp_old,
                                            recon[0] / 256.0, recon[1] / 256.0, *shifts)
    return EncodeResult(payload, recon, reduction)


def decode_coefficients(payload: bytes, *, variant: str, shape: tuple[int, int, int], levels: int,
                        n_max: int, frac_bits: int, integer: bool, recon: tuple = (128, 128),
                        weights: B.CoefficientWeights | None = None, plane_weight: np.ndarray | None = None,
                        window: tuple[int, int] | None = None) -> np.ndarray:
    """Run the SPIHT decoder on a (possibly truncated) payload; float64 coefficients (C, hp, wp).

    ``weights`` and ``plane_weight`` (C,) undo the encoder's coefficient weighting
    (default: none).  ``window=(rows, cols)``: every bit is still decoded, but only
    the coefficients of the top-left ``rows x cols`` corner of the tree layout are
    reconstructed (reduced-resolution decoding); the result then has that size.

    Memory: the decoder's state (int32 magnitude bits) lives in the first half of
    the float64 result, and :func:`final_codes` turns it into the codes that
    :func:`wavecodec._kernels.coefficients.expand_codes` expands in place, after the
    lists and maps are freed (:func:`wavecodec.coders._bitplane.coefficient_buffer`).
    """
    nc, hp, wp = shape
    if n_max < 0:
        return np.zeros(shape if window is None else (nc,) + tuple(window), dtype=np.float64)
    values, codes = B.coefficient_buffer(shape, integer=integer)
    arith = B.VARIANT_ALIASES.get(variant, variant) == "ac"
    data, state = B.start_decoder(payload, arith, into=B.payload_area(values))
    n_stop, n_lsp, refined, lsp_old, lists, maps = _run_kernel(True, arith, codes, levels, n_max, state, data, codes)
    _k.final_codes(codes, maps.sig, lists.lsp, lists.lsp_sizes, n_lsp, n_stop, refined, lsp_old,
                   *_k.list_shifts(*shape)[:2])
    del lists, maps, data
    return B.expand(values, codes, integer=integer, frac_bits=frac_bits, recon=recon, weights=weights,
                    plane_weight=plane_weight, window=window)


class SpihtCodec(B.BitplaneCodec):
    windowed_decode = True  # decode_coefficients(window=...): reduced-resolution decoding reconstructs a corner
    name = "spiht"
    description = "SPIHT wavelet coder, binary-uncoded or arithmetic-coded"
    reference = "A. Said, W. A. Pearlman, IEEE TCSVT 6(3):243-250, 1996"
    capabilities = Capabilities(embedded=True, lossless=True, colour=True)
    options = (B.variant_option("the paper's binary-uncoded bits"),) + B.common_options()

    def encode_coefficients(self, q: np.ndarray, plan: B.BitplanePlan, budget: int | None, *,
                            estimate_error: bool = True) -> EncodeResult:
        return encode_coefficients(q, variant=plan.variant, levels=plan.levels, n_max=plan.n_max, budget=budget,
                                   estimate_error=estimate_error)

    def decode_coefficients(self, payload: bytes, plan: B.BitplanePlan, shape: tuple[int, int, int], *,
                            integer: bool, weights: B.CoefficientWeights | None, plane_weight: np.ndarray,
                            window: tuple[int, int] | None = None) -> np.ndarray:
        return decode_coefficients(payload, variant=plan.variant, shape=shape, levels=plan.levels, n_max=plan.n_max,
                                   frac_bits=plan.frac_bits, integer=integer, recon=plan.recon,
                                   weights=weights, plane_weight=plane_weight, window=window)


register(SpihtCodec())
