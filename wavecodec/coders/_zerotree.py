"""Policy shared by the zerotree codecs (EZW and IMP1EZW).

Both codecs scan the same trees in the same order and differ only in the
dominant-pass symbol map: one Numba kernel, :func:`wavecodec._kernels.ezw.ezw_code`,
runs both (IMP1EZW with its ``subtree_symbols`` flag, see
:mod:`wavecodec._kernels.imp1ezw`).  This module holds what the two share beyond
the bit-plane framework of :mod:`wavecodec.coders._bitplane` (parameter block,
transforms, quantiser-step search, reconstruction points, encode/decode/describe):
their two mode bytes (scan, pass order), the drivers around the kernel and the
:class:`ZerotreeCodec` base class.

Options shared by both codecs (see each codec's docs page):

``pass_order``
    ``"significance-first"`` (default): the subordinate pass after the dominant
    pass at ``T = 2**n`` refines, with bit ``n``, the entries found in *earlier*
    passes; the ones just found are refined after the next dominant pass (the
    order of SPIHT's sorting and refinement passes).  ``"shapiro"``: Shapiro's
    order, the subordinate pass refines every entry, the ones just found
    included, with bit ``n - 1``.  Both code the same bits at the end of every
    threshold, but within a pass the new significance at ``T/2`` reduces more
    distortion per bit than the refinement of fresh coefficients, so a stream cut
    inside a pass is better with significance first (measured: +0.1 dB at
    0.25 bpp, +0.4 dB at 1 bpp on Kodak, see ``docs/ezw.md``).
``reconstruction``
    ``"optimized"``: the decoder reconstructs at encoder-measured conditional
    means inside the uncertainty intervals (two header bytes); ``"midpoint"``:
    the interval centre (``1.5 T`` for a fresh coefficient, the paper).
``step_search``
    The encoder codes with quantiser steps ``2**(-k/4)``, ``k = 0..3``, and keeps
    the least distortion at the budget (one header byte), by default only at low
    rates (as for SPIHT, :mod:`wavecodec.coders.spiht`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._kernels import arith as _ac
from .._kernels import ezw as _ezw_kernel
from .._kernels.trees import list_shifts
from .._progress import report_progress
from .._registry import Option
from . import _bitplane as B
from ._bitplane import EncodeResult  # noqa: F401  (re-exported)

VARIANTS = B.VARIANTS
SCANS = ("strict", "rescan")
ORDERS = ("significance-first", "shapiro")
_SCAN_CODE = {"strict": 0, "rescan": 1}
_ORDER_CODE = {"shapiro": 0, "significance-first": 1}


@dataclass(frozen=True)
class ZerotreeKernel:
    """A zerotree kernel and what its driver needs to know about it."""

    name: str
    code: Callable  # (decoding, arith, rescan, subtree_symbols, coef, levels, hl, wl, rowlev, collev, n_max,
    #                  state, buf, probs, counts, stats, significance_first) -> (n_list, lst, sgn, planes, unlisted)
    context_count: int
    scans: tuple[str, ...]  # scan conventions the kernel implements
    priors: tuple | None = None  # initial P(bit = 0) per context (2**-15 units), see _zerotree_priors
    confidence: int = 16  # how many symbols a prior counts as
    subtree_symbols: bool = False  # IMP1EZW's symbol map (PT / NT) and contexts

    def initial_models(self, priors: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Context models at the start of a stream: the trained priors, or flat 1/2."""
        if priors and self.priors is not None:
            return _ac.models_from_priors(np.asarray(self.priors), self.confidence)
        return _ac.new_models(self.context_count)


def mode_fields(scans: tuple[str, ...]) -> tuple[B.ModeField, ...]:
    """The zerotree codecs' header bytes after the variant: the scan (``scans``: those the
    codec implements) and the pass order."""
    return (
        B.ModeField("scan", "scan", _SCAN_CODE, scans, "scan", "strict"),
        B.ModeField("pass_order", "pass order", _ORDER_CODE, ORDERS, "pass_order", "significance-first"),
    )


def _run_kernel(kernel: ZerotreeKernel, decoding: bool, arith: bool, scan: str, order: str, coef, levels,
                n_max, state, buf, stats=None, priors=True):
    nc, hp, wp = coef.shape
    rowlev, collev = B.level_maps(hp, wp, levels)
    probs, counts = kernel.initial_models(priors)
    # ``decoding`` a run-time bool (one compiled kernel for both directions); the
    # variant flags as None (off) / True (on): one compiled specialisation per variant
    return kernel.code(
        decoding, True if arith else None, True if scan == "rescan" else None,
        True if kernel.subtree_symbols else None, coef, levels, hp >> levels, wp >> levels, rowlev, collev,
        n_max, state, buf, probs, counts, np.zeros((0, 2), dtype=np.int64) if stats is None else stats,
        _ORDER_CODE[order], on_pass=report_progress,
    )


def encode_coefficients(kernel: ZerotreeKernel, q: np.ndarray, *, variant: str = "ac", scan: str = "strict",
                        order: str = "shapiro", levels: int, n_max: int, budget: int | None,
                        stats: np.ndarray | None = None, priors: bool = True,
                        estimate_error: bool = True) -> EncodeResult:
    """Run a zerotree encoder on signed integer coefficients (C, hp, wp) in tree layout.

    ``levels`` fixes the LL band (``hp >> levels`` x ``wp >> levels``); the first
    threshold is ``2**n_max``.  The payload is at most ``budget`` bytes; ``stats``
    (contexts x 2) counts the coded decisions per context; ``priors=False`` starts
    every context at 1/2 (for training the priors; such a stream does not decode).
    (To follow the coder symbol by symbol, use :func:`wavecodec.trace`: its
    reference coder gives the same bits as the ``plain`` variant.)  The kernel
    reads ``q`` as it is when it is C-contiguous int32.
    """
    coef = np.ascontiguousarray(q, dtype=np.int32)
    arith = B.VARIANT_ALIASES.get(variant, variant) == "ac"
    if n_max < 0 or budget == 0:
        return EncodeResult(b"")

    def run(state, buf):
        return _run_kernel(kernel, False, arith, scan, order, coef, levels, n_max, state, buf, stats, priors)

    payload, (n_list, lst, _, planes, _) = B.run_encoder(arith, budget, max(1024, coef.size * (n_max + 2) // 2), run)
    shifts = list_shifts(*coef.shape)[:2]
    offsets = _ezw_kernel.optimal_offsets(coef, lst, n_list, *planes, *shifts)
    recon = tuple(int(np.clip(np.rint(o * 256), 1, 255)) for o in offsets)
    reduction = 0.0
    if estimate_error:  # the step search's error estimate
        reduction = _ezw_kernel.distortion_reduction(coef, lst, n_list, *planes, recon[0] / 256.0,
                                                     recon[1] / 256.0, *shifts)
    return EncodeResult(payload, recon, reduction)


def decode_coefficients(kernel: ZerotreeKernel, payload: bytes, *, variant: str = "ac", scan: str = "strict",
                        order: str = "shapiro", shape: tuple[int, int, int], levels: int, n_max: int,
                        frac_bits: int, integer: bool, recon: tuple = (128, 128),
                        weights: B.CoefficientWeights | None = None,
                        plane_weight: np.ndarray | None = None) -> np.ndarray:
    """Run a zerotree decoder on a (possibly truncated) payload; float64 coefficients (C, hp, wp).

    The kernel decodes the magnitudes into the int32 ``codes`` of
    :func:`wavecodec.coders._bitplane.coefficient_buffer` (the first half of the float64
    result, or the int32 result of lossless streams), turns them into codes there and
    then expands them in place.
    """
    if n_max < 0:
        return np.zeros(shape, dtype=np.float64)
    arith = B.VARIANT_ALIASES.get(variant, variant) == "ac"
    values, codes = B.coefficient_buffer(shape, integer=integer)
    data, state = B.start_decoder(payload, arith, into=B.payload_area(values))
    n_list, lst, sgn, planes, unlisted = _run_kernel(kernel, True, arith, scan, order, codes, levels, n_max, state,
                                                     data)
    _ezw_kernel.list_codes(codes, lst, sgn, n_list, *planes, unlisted, *list_shifts(*shape)[:2])
    del lst, sgn, data
    return B.expand(values, codes, integer=integer, frac_bits=frac_bits, recon=recon, weights=weights,
                    plane_weight=plane_weight)


def common_options(plain_doc: str) -> tuple[Option, ...]:
    """The options every zerotree codec has (``plain_doc``: what its raw bits are)."""
    return (
        B.variant_option(plain_doc),
        Option("pass_order", "significance-first",
               "'significance-first': the subordinate pass refines only the coefficients found in earlier"
               " dominant passes (SPIHT's order; better when the stream is cut inside a pass); 'shapiro': it"
               " also refines the ones just found (the paper)", ORDERS),
    ) + B.common_options(midpoint_doc="centre of the uncertainty interval, 1.5T for a new coefficient (the paper)")


class ZerotreeCodec(B.BitplaneCodec):
    """A zerotree codec: the bit-plane framework with a zerotree kernel (``kernel``) and its mode bytes."""

    kernel: ZerotreeKernel

    def encode_coefficients(self, q: np.ndarray, plan: B.BitplanePlan, budget: int | None, *,
                            estimate_error: bool = True) -> EncodeResult:
        return encode_coefficients(self.kernel, q, variant=plan.variant, scan=plan.scan, order=plan.pass_order,
                                   levels=plan.levels, n_max=plan.n_max, budget=budget, estimate_error=estimate_error)

    def decode_coefficients(self, payload: bytes, plan: B.BitplanePlan, shape: tuple[int, int, int], *,
                            integer: bool, weights: B.CoefficientWeights | None,
                            plane_weight: np.ndarray) -> np.ndarray:
        return decode_coefficients(self.kernel, payload, variant=plan.variant, scan=plan.scan,
                                   order=plan.pass_order, shape=shape, levels=plan.levels, n_max=plan.n_max,
                                   frac_bits=plan.frac_bits, integer=integer, recon=plan.recon,
                                   weights=weights, plane_weight=plane_weight)
