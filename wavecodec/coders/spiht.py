"""SPIHT: Set Partitioning In Hierarchical Trees (Said & Pearlman, IEEE TCSVT 6(3):243-250, 1996).

This module is the policy layer: it validates options, runs the colour and
wavelet transforms, turns coefficients into integer bit-planes, builds the
parameter block and calls the Numba kernel :func:`wavecodec._kernels.spiht.spiht_code`.

Variants (option ``variant``):

``"ac"`` (default)
    Arithmetic-coded SPIHT: every significance, sign and refinement bit goes
    through the adaptive binary arithmetic coder with the contexts described in
    :func:`wavecodec._kernels.spiht.spiht_context_count`.  Said & Pearlman also
    arithmetic-code their output (Sec. IV); their coder groups the significance
    bits of a 2x2 offspring set into one symbol, ours models each bit with
    neighbourhood contexts instead (a documented difference, see docs/spiht.md).
``"binary"``
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

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .. import transform as T
from .._container import Header, ParamReader, ParamWriter
from .._kernels import arith as _ac
from .._kernels import spiht as _k
from . import _bitplane as B
from . import _spiht_priors as _priors
from ._options import check_levels_option, check_wavelet_option
from .._registry import Capabilities, Codec, EncodeTarget, ImageSpec, Option, register
from ..errors import CorruptStreamError

VARIANTS = ("ac", "binary")
_VARIANT_CODE = {"binary": 0, "ac": 1}


@dataclass
class SpihtPlan:
    """Everything the decoder needs, as stored in the parameter block."""

    variant: str
    wavelet: str
    levels: int
    colour: int
    frac_bits: int
    n_max: int  # top bit-plane, -1 if all coefficients are 0
    offsets: list  # per-plane mean removed before the transform (float lossy, int lossless)
    # reconstruction points inside the uncertainty interval, in 1/256 of its width
    # (fresh significant coefficients, refined ones); 128 = the paper's midpoint
    recon: tuple = (128, 128)
    # quantiser step 2**(-step/4) applied to every plane (0 = the plain bit-planes)
    step: int = 0

    def pack(self, lossless: bool) -> bytes:
        w = ParamWriter()
        w.u8(_VARIANT_CODE[self.variant]).text(self.wavelet).u8(self.levels).u8(self.colour)
        w.u8(self.frac_bits).i8(self.n_max).u8(self.recon[0]).u8(self.recon[1]).u8(self.step)
        for m in self.offsets:
            if lossless:
                w.i32(int(m))
            else:
                w.f32(float(m))
        return w.bytes()

    @classmethod
    def unpack(cls, header: Header) -> "SpihtPlan":
        r = ParamReader(header.params, "spiht")
        vcode = r.u8("variant", 0, 1)
        variant = {v: k for k, v in _VARIANT_CODE.items()}[vcode]
        wavelet, levels, colour = B.read_transform_fields(r, header, "spiht")
        frac_bits = r.u8("fractional bits", 0, 8)
        n_max = r.i8("top bit-plane")
        if not -1 <= n_max <= B.MAX_PLANE:
            raise CorruptStreamError(f"spiht stream: top bit-plane {n_max} outside -1..{B.MAX_PLANE}")
        recon = (r.u8("fresh reconstruction point"), r.u8("refined reconstruction point"))
        step = r.u8("quantiser step", 0, B.N_STEPS - 1)
        if header.lossless and step != 0:
            raise CorruptStreamError("spiht stream: quantiser step in a lossless stream")
        offsets = [r.i32("plane offset") if header.lossless else r.f32("plane mean") for _ in range(header.channels)]
        if not header.lossless and any(abs(m) > 2.0**20 for m in offsets):
            raise CorruptStreamError("spiht stream: plane mean out of range")
        r.end()
        return cls(variant, wavelet, levels, colour, frac_bits, n_max, offsets, recon, step)


def initial_models(priors: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Context models at the start of a stream: the trained priors of ``_spiht_priors`` or flat 1/2."""
    if priors and _priors.PRIORS is not None:
        return _ac.models_from_priors(np.asarray(_priors.PRIORS), _priors.CONFIDENCE)
    return _ac.new_models(_k.spiht_context_count())


def _run_kernel(decoding, arith, mag, sgn, levels, n_max, state, buf, out_val, out_sign, stats=None, priors=True):
    nc, hp, wp = mag.shape
    rowlev, collev = B.level_maps(hp, wp, levels)
    probs, counts = initial_models(priors)
    if stats is None:
        stats = np.zeros((0, 2), dtype=np.int64)
    # ``decoding`` is a run-time bool (one compiled kernel for both directions);
    # ``arith`` is None (raw bits) or True: Numba compiles each variant separately
    # and prunes the branches that test it (``arith is None``).
    return _k.spiht_code(
        decoding, True if arith else None, mag, sgn, levels, hp >> levels, wp >> levels, rowlev, collev,
        n_max, 0, state, buf, probs, counts, out_val, out_sign, stats,
    )


@dataclass
class EncodeResult:
    """Output of :func:`encode_coefficients`."""

    payload: bytes
    recon: tuple  # MSE-optimal reconstruction points (1/256 of the interval), fresh and refined
    reduction: float = 0.0  # squared error removed by the decoded coefficients (see distortion_reduction)


def encode_coefficients(q: np.ndarray, *, variant: str, levels: int, n_max: int, budget: int | None,
                        stats: np.ndarray | None = None, priors: bool = True) -> EncodeResult:
    """Run the SPIHT encoder on signed integer coefficients in tree layout (C, hp, wp).

    The payload is at most ``budget`` bytes.  ``stats`` (contexts x 2) counts the
    coded symbols per context.  (To follow the coder decision by decision, use
    :func:`wavecodec.trace`: its reference coder gives the same bits as the
    ``binary`` variant.)
    """
    mag = np.ascontiguousarray(np.abs(q), dtype=np.int32)
    sgn = np.ascontiguousarray(q < 0, dtype=np.uint8)
    arith = variant == "ac"
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    dummy_val = np.zeros((1, 1, 1), dtype=np.int32)
    dummy_sign = np.zeros((1, 1, 1), dtype=np.uint8)
    if n_max < 0:
        return EncodeResult(b"", (128, 128))
    # Without a budget the stream is as long as the coefficients need; size the
    # buffer generously and grow it if the coder reports that it ran past the end.
    # (A budget larger than any stream these coefficients can produce is not allocated.)
    full_estimate = max(1024, mag.size * (n_max + 2) // 4)
    capacity = full_estimate if budget is None else min(budget, full_estimate)
    while True:
        buf = np.zeros(capacity + 8, dtype=np.uint8)
        if arith:
            _ac.ac_encoder_init(state, budget if budget is not None else 1 << 60)
        else:
            _ac.raw_init(state, 8 * budget if budget is not None else 1 << 60)
        n_stop, n_lsp, refined, lsp_old, lsp, lsp_plane = _run_kernel(
            False, arith, mag, sgn, levels, n_max, state, buf, dummy_val, dummy_sign, stats, priors
        )
        if arith:
            n_bytes = int(_ac.ac_encoder_flush(state, buf))
        else:
            n_bytes = (int(_ac.position(state)) + 7) // 8
        if budget is not None:
            n_bytes = min(n_bytes, budget)
        if n_bytes <= buf.shape[0]:
            break
        capacity = 2 * n_bytes
    offsets = _k.optimal_offsets(mag, lsp, lsp_plane, n_lsp, n_stop, refined, lsp_old)
    recon = tuple(int(np.clip(np.rint(o * 256), 1, 255)) for o in offsets)
    reduction = _k.distortion_reduction(mag, lsp, lsp_plane, n_lsp, n_stop, refined, lsp_old,
                                        recon[0] / 256.0, recon[1] / 256.0)
    return EncodeResult(buf[:n_bytes].tobytes(), recon, reduction)


def decode_coefficients(payload: bytes, *, variant: str, shape: tuple[int, int, int], levels: int,
                        n_max: int, frac_bits: int, integer: bool, recon: tuple = (128, 128),
                        weight_map: np.ndarray | None = None, plane_weight: np.ndarray | None = None) -> np.ndarray:
    """Run the SPIHT decoder on a (possibly truncated) payload; float64 coefficients (C, hp, wp).

    ``weight_map`` (hp, wp) and ``plane_weight`` (C,) undo the encoder's coefficient
    weighting (default: none).
    """
    nc, hp, wp = shape
    out_val = np.zeros(shape, dtype=np.int32)
    out_sign = np.zeros(shape, dtype=np.uint8)
    if n_max < 0:
        return np.zeros(shape, dtype=np.float64)
    data = np.frombuffer(payload, dtype=np.uint8).copy()  # writable: one kernel signature for both directions
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    arith = variant == "ac"
    if arith:
        _ac.ac_decoder_init(state, data, data.shape[0])
    else:
        _ac.raw_init(state, 8 * data.shape[0])
    n_stop, n_lsp, refined, lsp_old, lsp, lsp_plane = _run_kernel(
        True, arith, out_val, out_sign, levels, n_max, state, data, out_val, out_sign
    )
    if weight_map is None:
        weight_map = np.ones((hp, wp))
    if plane_weight is None:
        plane_weight = np.ones(nc)
    return _k.reconstruct(out_val, out_sign, lsp, lsp_plane, n_lsp, n_stop, refined, lsp_old, frac_bits, integer,
                          recon[0] / 256.0, recon[1] / 256.0, weight_map, np.ascontiguousarray(plane_weight, dtype=np.float64))


class SpihtCodec(Codec):
    name = "spiht"
    description = "SPIHT wavelet coder, binary-uncoded or arithmetic-coded"
    reference = "A. Said, W. A. Pearlman, IEEE TCSVT 6(3):243-250, 1996"
    capabilities = Capabilities(embedded=True, lossless=True, colour=True)
    options = (
        Option("variant", "ac", "'ac': context-modelled arithmetic coding; 'binary': the paper's raw bits", VARIANTS),
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
               "'midpoint': centre of the uncertainty interval (the paper); 'optimized': encoder-measured"
               " conditional means, sent in two header bytes", ("optimized", "midpoint")),
    )

    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                     options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        wavelet, levels, steps = B.resolve_transform(self.name, image, target, lossless=lossless, options=options)
        candidates = B.forward_coefficients(image.pixels, lossless=lossless, wavelet=wavelet, levels=levels,
                                            bit_depth=image.bit_depth, steps=steps)

        def code(q, qt: B.Quantised):
            plan = SpihtPlan(options["variant"], wavelet, levels, qt.colour, qt.frac_bits, qt.n_max, qt.offsets,
                         step=qt.step)
            budget = target.payload_budget(plan.pack(lossless))  # same length for every step
            result = encode_coefficients(q, variant=plan.variant, levels=levels, n_max=plan.n_max, budget=budget)
            if options["reconstruction"] == "optimized" and not lossless:
                plan.recon = result.recon
            return plan, result

        plan, result, _ = B.least_distortion(candidates, code)
        return plan.pack(lossless), result.payload

    def decode_image(self, header: Header, payload: bytes) -> np.ndarray:
        plan = SpihtPlan.unpack(header)
        hp, wp = T.padded_shape(header.height, header.width, plan.levels)
        coeffs = decode_coefficients(
            payload, variant=plan.variant, shape=(header.channels, hp, wp), levels=plan.levels,
            n_max=plan.n_max, frac_bits=plan.frac_bits, integer=header.lossless, recon=plan.recon,
            weight_map=None if header.lossless else T.synthesis_weights(header.height, header.width, plan.levels, plan.wavelet),
            plane_weight=B.chroma_weights(plan.colour)[: header.channels] * B.step_scale(plan.step),
        )
        return B.inverse_coefficients(coeffs, plan, header)

    def describe(self, header: Header) -> dict[str, Any]:
        plan = SpihtPlan.unpack(header)
        return {
            "variant": plan.variant,
            "transform": plan.wavelet,
            "levels": plan.levels,
            "colour_transform": {0: None, 1: "ICT", 2: "RCT"}[plan.colour],
            "top_bitplane": plan.n_max,
            "fractional_bits": plan.frac_bits,
            "reconstruction_points": (plan.recon[0] / 256, plan.recon[1] / 256),
            "quantiser_step": 1.0 / B.step_scale(plan.step),  # 2**(k/4) in units of the plain bit-planes
        }


register(SpihtCodec())
