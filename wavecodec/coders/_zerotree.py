"""Policy shared by the zerotree codecs (EZW and IMP1EZW).

Both codecs scan the same trees in the same order and differ only in the
dominant-pass symbol map: one Numba kernel, :func:`wavecodec._kernels.ezw.ezw_code`,
runs both (IMP1EZW with its ``subtree_symbols`` flag, see
:mod:`wavecodec._kernels.imp1ezw`).  This module holds what is common: the parameter block, the
encoder and decoder drivers around a kernel, the quantiser-step search and the
reconstruction points, and the :class:`ZerotreeCodec` base class.

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
from typing import Any, Callable, Mapping

import numpy as np

from .. import transform as T
from .._container import Header, ParamReader, ParamWriter
from .._kernels import arith as _ac
from .._kernels import ezw as _ezw_kernel
from .._registry import Codec, EncodeTarget, ImageSpec, Option
from ..errors import CorruptStreamError
from ._options import check_levels_option, check_wavelet_option
from . import _bitplane as B

VARIANTS = ("ac", "plain")
SCANS = ("strict", "rescan")
ORDERS = ("significance-first", "shapiro")
_VARIANT_CODE = {"plain": 0, "ac": 1}
_SCAN_CODE = {"strict": 0, "rescan": 1}
_ORDER_CODE = {"shapiro": 0, "significance-first": 1}


@dataclass(frozen=True)
class ZerotreeKernel:
    """A zerotree kernel and what its driver needs to know about it."""

    name: str
    code: Callable  # (decoding, arith, rescan, subtree_symbols, mag, sgn, levels, hl, wl, rowlev, collev, n_max,
    #                  state, buf, probs, counts, stats, significance_first) -> (n_list, lst, lval, llow, sgn)
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


@dataclass
class ZerotreePlan:
    """Everything the decoder needs, as stored in the parameter block."""

    variant: str
    scan: str
    order: str
    wavelet: str
    levels: int
    colour: int
    frac_bits: int
    n_max: int  # initial threshold 2**n_max; -1 if all coefficients are 0
    offsets: list  # per-plane mean removed before the transform (float lossy, int lossless)
    recon: tuple = (128, 128)  # reconstruction points (fresh, refined) in 1/256 of the interval; 128 = centre
    step: int = 0  # quantiser step 2**(-step/4)

    def pack(self, lossless: bool) -> bytes:
        w = ParamWriter()
        w.u8(_VARIANT_CODE[self.variant]).u8(_SCAN_CODE[self.scan]).u8(_ORDER_CODE[self.order])
        w.text(self.wavelet).u8(self.levels).u8(self.colour).u8(self.frac_bits).i8(self.n_max)
        w.u8(self.recon[0]).u8(self.recon[1]).u8(self.step)
        for m in self.offsets:
            if lossless:
                w.i32(int(m))
            else:
                w.f32(float(m))
        return w.bytes()

    @classmethod
    def unpack(cls, header: Header, kernel: ZerotreeKernel) -> "ZerotreePlan":
        name = kernel.name
        r = ParamReader(header.params, name)
        variant = {v: k for k, v in _VARIANT_CODE.items()}[r.u8("variant", 0, 1)]
        scan = {v: k for k, v in _SCAN_CODE.items()}[r.u8("scan", 0, 1)]
        if scan not in kernel.scans:
            raise CorruptStreamError(f"{name} stream: scan {scan!r} is not one of this codec's")
        order = {v: k for k, v in _ORDER_CODE.items()}[r.u8("pass order", 0, 1)]
        wavelet, levels, colour = B.read_transform_fields(r, header, name)
        frac_bits = r.u8("fractional bits", 0, 8)
        n_max = r.i8("top bit-plane")
        if not -1 <= n_max <= B.MAX_PLANE:
            raise CorruptStreamError(f"{name} stream: top bit-plane {n_max} outside -1..{B.MAX_PLANE}")
        recon = (r.u8("fresh reconstruction point"), r.u8("refined reconstruction point"))
        step = r.u8("quantiser step", 0, B.N_STEPS - 1)
        if header.lossless and step != 0:
            raise CorruptStreamError(f"{name} stream: quantiser step in a lossless stream")
        offsets = [r.i32("plane offset") if header.lossless else r.f32("plane mean") for _ in range(header.channels)]
        if not header.lossless and any(not abs(m) <= 2.0**20 for m in offsets):
            raise CorruptStreamError(f"{name} stream: plane mean out of range")
        r.end()
        return cls(variant, scan, order, wavelet, levels, colour, frac_bits, n_max, offsets, recon, step)


def _run_kernel(kernel: ZerotreeKernel, decoding: bool, arith: bool, scan: str, order: str, mag, sgn, levels,
                n_max, state, buf, stats=None, priors=True):
    nc, hp, wp = mag.shape
    rowlev, collev = B.level_maps(hp, wp, levels)
    probs, counts = kernel.initial_models(priors)
    # ``decoding`` a run-time bool (one compiled kernel for both directions); the
    # variant flags as None (off) / True (on): one compiled specialisation per variant
    return kernel.code(
        decoding, True if arith else None, True if scan == "rescan" else None,
        True if kernel.subtree_symbols else None, mag, sgn, levels, hp >> levels, wp >> levels, rowlev, collev,
        n_max, state, buf, probs, counts, np.zeros((0, 2), dtype=np.int64) if stats is None else stats,
        _ORDER_CODE[order],
    )


@dataclass
class EncodeResult:
    """Output of :func:`encode_coefficients`."""

    payload: bytes
    recon: tuple = (128, 128)  # MSE-optimal reconstruction points (1/256 of the interval), fresh and refined
    reduction: float = 0.0  # squared error removed by the decoded coefficients, at those points


def encode_coefficients(kernel: ZerotreeKernel, q: np.ndarray, *, variant: str = "ac", scan: str = "strict",
                        order: str = "shapiro", levels: int, n_max: int, budget: int | None,
                        stats: np.ndarray | None = None, priors: bool = True) -> EncodeResult:
    """Run a zerotree encoder on signed integer coefficients (C, hp, wp) in tree layout.

    ``levels`` fixes the LL band (``hp >> levels`` x ``wp >> levels``); the first
    threshold is ``2**n_max``.  The payload is at most ``budget`` bytes; ``stats``
    (contexts x 2) counts the coded decisions per context; ``priors=False`` starts
    every context at 1/2 (for training the priors; such a stream does not decode).
    (To follow the coder symbol by symbol, use :func:`wavecodec.trace`: its
    reference coder gives the same bits as the ``plain`` variant.)
    """
    mag = np.ascontiguousarray(np.abs(q), dtype=np.int32)
    sgn = np.ascontiguousarray(q < 0, dtype=np.uint8)
    arith = variant == "ac"
    if n_max < 0 or budget == 0:
        return EncodeResult(b"")
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    # size the buffer generously and grow it if the coder reports that it ran past the end
    full_estimate = max(1024, mag.size * (n_max + 2) // 2)
    capacity = full_estimate if budget is None else min(budget, full_estimate)
    while True:
        buf = np.zeros(capacity + 8, dtype=np.uint8)
        if arith:
            _ac.ac_encoder_init(state, budget if budget is not None else 1 << 60)
        else:
            _ac.raw_init(state, 8 * budget if budget is not None else 1 << 60)
        n_list, lst, lval, llow, _ = _run_kernel(kernel, False, arith, scan, order, mag, sgn, levels, n_max, state,
                                                 buf, stats, priors)
        if arith:
            n_bytes = int(_ac.ac_encoder_flush(state, buf))
        else:
            n_bytes = (int(_ac.position(state)) + 7) // 8
        if budget is not None:
            n_bytes = min(n_bytes, budget)
        if n_bytes <= buf.shape[0]:
            break
        capacity = 2 * n_bytes
    offsets = _ezw_kernel.optimal_offsets(mag, lst, lval, llow, n_list)
    recon = tuple(int(np.clip(np.rint(o * 256), 1, 255)) for o in offsets)
    reduction = _ezw_kernel.distortion_reduction(mag, lst, lval, llow, n_list, recon[0] / 256.0, recon[1] / 256.0)
    return EncodeResult(buf[:n_bytes].tobytes(), recon, reduction)


def decode_coefficients(kernel: ZerotreeKernel, payload: bytes, *, variant: str = "ac", scan: str = "strict",
                        order: str = "shapiro", shape: tuple[int, int, int], levels: int, n_max: int,
                        frac_bits: int, integer: bool, recon: tuple = (128, 128),
                        weight_map: np.ndarray | None = None, plane_weight: np.ndarray | None = None) -> np.ndarray:
    """Run a zerotree decoder on a (possibly truncated) payload; float64 coefficients (C, hp, wp)."""
    nc, hp, wp = shape
    if n_max < 0:
        return np.zeros(shape, dtype=np.float64)
    dummy = np.zeros(shape, dtype=np.int32)
    dummy_sign = np.zeros(shape, dtype=np.uint8)
    data = np.frombuffer(payload, dtype=np.uint8).copy()  # writable: one kernel signature for both directions
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    arith = variant == "ac"
    if arith:
        _ac.ac_decoder_init(state, data, data.shape[0])
    else:
        _ac.raw_init(state, 8 * data.shape[0])
    n_list, lst, lval, llow, sgn = _run_kernel(kernel, True, arith, scan, order, dummy, dummy_sign, levels, n_max,
                                               state, data)
    if weight_map is None:
        weight_map = np.ones((hp, wp))
    if plane_weight is None:
        plane_weight = np.ones(nc)
    return _ezw_kernel.reconstruct(lst, lval, llow, sgn, n_list, nc, hp, wp, frac_bits, integer,
                                   np.ascontiguousarray(weight_map, dtype=np.float64),
                                   np.ascontiguousarray(plane_weight, dtype=np.float64),
                                   recon[0] / 256.0, recon[1] / 256.0)


def common_options(plain_doc: str) -> tuple[Option, ...]:
    """The options every zerotree codec has (``variant`` documented per codec)."""
    return (
        Option("variant", "ac", "'ac': context-modelled arithmetic coding; 'plain': " + plain_doc, VARIANTS),
        Option("pass_order", "significance-first",
               "'significance-first': the subordinate pass refines only the coefficients found in earlier"
               " dominant passes (SPIHT's order; better when the stream is cut inside a pass); 'shapiro': it"
               " also refines the ones just found (the paper)", ORDERS),
        Option("wavelet", "auto",
               "'auto' (cdf97 lossy, legall53 lossless), 'cdf97', 'legall53' or any PyWavelets name (periodization)",
               check=check_wavelet_option),
        Option("levels", None, "decomposition levels; None picks from the image size (6 for 768x512)",
               check=check_levels_option),
        Option("step_search", "auto",
               "'always': the encoder codes with 4 quantiser steps 2**(-k/4) and keeps the one with the least"
               " distortion at the budget (1 header byte); 'never': plain bit-planes (the paper);"
               f" 'auto': search when a budget of at most {B.SEARCH_MAX_BPP} bpp is given",
               ("auto", "always", "never")),
        Option("reconstruction", "optimized",
               "'midpoint': centre of the uncertainty interval, 1.5T for a new coefficient (the paper);"
               " 'optimized': encoder-measured conditional means, sent in two header bytes",
               ("optimized", "midpoint")),
    )


class ZerotreeCodec(Codec):
    """Base class of the zerotree codecs: everything but the kernel (``kernel``) and the docs."""

    kernel: ZerotreeKernel

    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                     options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        wavelet, levels, steps = B.resolve_transform(self.name, image, target, lossless=lossless, options=options)
        candidates = B.forward_coefficients(image.pixels, lossless=lossless, wavelet=wavelet, levels=levels,
                                          bit_depth=image.bit_depth, steps=steps)
        scan = options.get("scan", "strict")
        def code(q, sp):
            plan = ZerotreePlan(options["variant"], scan, options["pass_order"], wavelet, levels, sp.colour,
                                sp.frac_bits, sp.n_max, sp.offsets, step=sp.step)
            budget = target.payload_budget(plan.pack(lossless))  # the same length for every step
            result = encode_coefficients(self.kernel, q, variant=plan.variant, scan=scan, order=plan.order,
                                         levels=levels, n_max=plan.n_max, budget=budget)
            if options["reconstruction"] == "optimized" and not lossless:
                plan.recon = result.recon
            return plan, result

        plan, result, _ = B.least_distortion(candidates, code)
        return plan.pack(lossless), result.payload

    def decode_image(self, header: Header, payload: bytes) -> np.ndarray:
        plan = ZerotreePlan.unpack(header, self.kernel)
        hp, wp = T.padded_shape(header.height, header.width, plan.levels)
        coeffs = decode_coefficients(
            self.kernel, payload, variant=plan.variant, scan=plan.scan, order=plan.order,
            shape=(header.channels, hp, wp), levels=plan.levels, n_max=plan.n_max, frac_bits=plan.frac_bits,
            integer=header.lossless, recon=plan.recon,
            weight_map=None if header.lossless else T.synthesis_weights(header.height, header.width, plan.levels,
                                                                        plan.wavelet),
            plane_weight=B.chroma_weights(plan.colour)[: header.channels] * B.step_scale(plan.step),
        )
        return B.inverse_coefficients(coeffs, plan, header)

    def describe(self, header: Header) -> dict[str, Any]:
        plan = ZerotreePlan.unpack(header, self.kernel)
        out = {"variant": plan.variant}
        if len(self.kernel.scans) > 1:
            out["scan"] = plan.scan
        out.update({
            "pass_order": plan.order,
            "transform": plan.wavelet,
            "levels": plan.levels,
            "colour_transform": {0: None, 1: "ICT", 2: "RCT"}[plan.colour],
            "top_bitplane": plan.n_max,
            "fractional_bits": plan.frac_bits,
            "reconstruction_points": (plan.recon[0] / 256, plan.recon[1] / 256),
            "quantiser_step": 1.0 / B.step_scale(plan.step),
        })
        return out
