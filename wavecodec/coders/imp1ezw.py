"""IMP1EZW: an improved EZW (Brahimi, Laouir, Boubchir, Ali-Cherif, AEU 73:183-192, 2017).

EZW's dominant symbols plus PT / NT ("significant, positive / negative, and the
whole subtree insignificant at this threshold"): such a coefficient and its
zerotree cost one symbol, which removes many of EZW's POS/NEG + ZTR ZTR ZTR
sequences.  Scan (the strict, decoder-consistent reading of Shapiro), subordinate
passes, Shapiro's ordering of the subordinate list and the reconstruction are
EZW's (:mod:`wavecodec.coders.ezw`); the kernel
:func:`wavecodec._kernels.imp1ezw.imp1ezw_code` documents the symbol map, its
binary decomposition and the contexts.

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

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .. import transform as T
from .._container import Header, ParamReader, ParamWriter
from .._kernels import arith as _ac
from .._kernels import imp1ezw as _k
from ._options import check_levels_option, check_wavelet_option
from .._registry import Capabilities, Codec, EncodeTarget, ImageSpec, Option, register
from ..errors import CorruptStreamError, InvalidArgumentError
from .spiht import (
    _COLOUR_ICT,
    _COLOUR_NONE,
    _COLOUR_RCT,
    _MAX_PLANE,
    _check_padding,
    _chroma_weights,
    _level_maps,
    forward_coefficients,
    inverse_coefficients,
)

VARIANTS = ("ac", "plain")
_VARIANT_CODE = {"plain": 0, "ac": 1}


@dataclass
class _Plan:
    """Everything the decoder needs, as stored in the parameter block."""

    variant: str
    wavelet: str
    levels: int
    colour: int
    frac_bits: int
    n_max: int  # initial threshold 2**n_max; -1 if all coefficients are 0
    offsets: list  # per-plane mean removed before the transform (float lossy, int lossless)

    def pack(self, lossless: bool) -> bytes:
        w = ParamWriter()
        w.u8(_VARIANT_CODE[self.variant]).text(self.wavelet).u8(self.levels)
        w.u8(self.colour).u8(self.frac_bits).i8(self.n_max)
        for m in self.offsets:
            if lossless:
                w.i32(int(m))
            else:
                w.f32(float(m))
        return w.bytes()

    @classmethod
    def unpack(cls, header: Header) -> "_Plan":
        r = ParamReader(header.params, "imp1ezw")
        variant = {v: k for k, v in _VARIANT_CODE.items()}[r.u8("variant", 0, 1)]
        wavelet = r.text("wavelet")
        try:
            wavelet = T.check_wavelet(wavelet)
        except InvalidArgumentError:
            raise CorruptStreamError(f"imp1ezw stream names an unknown wavelet {wavelet!r}") from None
        levels = r.u8("levels", 0, T.MAX_LEVELS)
        try:
            _check_padding(levels, header.height, header.width)
        except InvalidArgumentError as exc:
            raise CorruptStreamError(f"imp1ezw stream: {exc}") from None
        colour = r.u8("colour transform", 0, 2)
        if (colour != _COLOUR_NONE) != (header.channels == 3):
            raise CorruptStreamError("imp1ezw stream: colour transform does not match the channel count")
        if header.lossless and (wavelet != "legall53" or colour == _COLOUR_ICT):
            raise CorruptStreamError("imp1ezw stream: lossless flag with an irreversible transform")
        if not header.lossless and (colour == _COLOUR_RCT or wavelet == "legall53"):
            raise CorruptStreamError("imp1ezw stream: reversible transform in a lossy stream")
        frac_bits = r.u8("fractional bits", 0, 8)
        n_max = r.i8("top bit-plane")
        if not -1 <= n_max <= _MAX_PLANE:
            raise CorruptStreamError(f"imp1ezw stream: top bit-plane {n_max} outside -1..{_MAX_PLANE}")
        offsets = [r.i32("plane offset") if header.lossless else r.f32("plane mean") for _ in range(header.channels)]
        if not header.lossless and any(not abs(m) <= 2.0**20 for m in offsets):
            raise CorruptStreamError("imp1ezw stream: plane mean out of range")
        r.end()
        return cls(variant, wavelet, levels, colour, frac_bits, n_max, offsets)


def _run_kernel(decoding, arith, mag, sgn, levels, n_max, state, buf, trace):
    nc, hp, wp = mag.shape
    rowlev, collev = _level_maps(hp, wp, levels)
    probs, counts = _ac.new_models(_k.imp1ezw_context_count())
    # flags as None (off) / True (on): one compiled specialisation per combination
    return _k.imp1ezw_code(
        True if decoding else None, True if arith else None, mag, sgn, levels,
        hp >> levels, wp >> levels, rowlev, collev, n_max, state, buf, probs, counts, trace,
    )


@dataclass
class EncodeResult:
    """Output of :func:`encode_coefficients`."""

    payload: bytes
    trace: np.ndarray  # (n_trace, 6): threshold plane n, kind (S_*, S_PT, S_NT or T_SUB), plane c, row, column, bit


def encode_coefficients(q: np.ndarray, *, variant: str = "ac", levels: int, n_max: int,
                        budget: int | None, trace_capacity: int = 0) -> EncodeResult:
    """Run the IMP1EZW encoder on signed integer coefficients (C, hp, wp) in tree layout.

    ``levels`` fixes the LL band (``hp >> levels`` x ``wp >> levels``); the first
    threshold is ``2**n_max``.  The payload is at most ``budget`` bytes; ``trace``
    holds the first ``trace_capacity`` symbols (see :mod:`wavecodec._kernels.imp1ezw`).
    """
    mag = np.ascontiguousarray(np.abs(q), dtype=np.int32)
    sgn = np.ascontiguousarray(q < 0, dtype=np.uint8)
    arith = variant == "ac"
    trace = np.zeros((trace_capacity, 6), dtype=np.int64)
    if n_max < 0 or budget == 0:
        return EncodeResult(b"", trace[:0])
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    full_estimate = max(1024, mag.size * (n_max + 2) // 2)
    capacity = full_estimate if budget is None else min(budget, full_estimate)
    while True:
        buf = np.zeros(capacity + 8, dtype=np.uint8)
        if arith:
            _ac.ac_encoder_init(state, budget if budget is not None else 1 << 60)
        else:
            _ac.raw_init(state, 8 * budget if budget is not None else 1 << 60)
        n_trace = _run_kernel(False, arith, mag, sgn, levels, n_max, state, buf, trace)[5]
        if arith:
            n_bytes = int(_ac.ac_encoder_flush(state, buf))
        else:
            n_bytes = (int(_ac.position(state)) + 7) // 8
        if budget is not None:
            n_bytes = min(n_bytes, budget)
        if n_bytes <= buf.shape[0]:
            break
        capacity = 2 * n_bytes
    return EncodeResult(buf[:n_bytes].tobytes(), trace[: min(int(n_trace), trace_capacity)])


def decode_coefficients(payload: bytes, *, variant: str = "ac", shape: tuple[int, int, int],
                        levels: int, n_max: int, frac_bits: int, integer: bool,
                        weight_map: np.ndarray | None = None, plane_weight: np.ndarray | None = None) -> np.ndarray:
    """Run the IMP1EZW decoder on a (possibly truncated) payload; float64 coefficients (C, hp, wp)."""
    nc, hp, wp = shape
    if n_max < 0:
        return np.zeros(shape, dtype=np.float64)
    dummy = np.zeros(shape, dtype=np.int32)
    dummy_sign = np.zeros(shape, dtype=np.uint8)
    data = np.frombuffer(payload, dtype=np.uint8).copy()
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    arith = variant == "ac"
    if arith:
        _ac.ac_decoder_init(state, data, data.shape[0])
    else:
        _ac.raw_init(state, 8 * data.shape[0])
    trace = np.zeros((0, 6), dtype=np.int64)
    n_list, lst, lval, llow, sgn, _ = _run_kernel(True, arith, dummy, dummy_sign, levels, n_max,
                                                  state, data, trace)
    if weight_map is None:
        weight_map = np.ones((hp, wp))
    if plane_weight is None:
        plane_weight = np.ones(nc)
    return _k.reconstruct(lst, lval, llow, sgn, n_list, nc, hp, wp, frac_bits, integer,
                          np.ascontiguousarray(weight_map, dtype=np.float64),
                          np.ascontiguousarray(plane_weight, dtype=np.float64))


class Imp1EzwCodec(Codec):
    name = "imp1ezw"
    description = "Improved EZW: zerotree coder with PT/NT symbols (significant coefficient + zerotree)"
    reference = "M. Brahimi, L. Laouir, L. Boubchir, A. Ali-Cherif, AEU 73:183-192, 2017"
    capabilities = Capabilities(embedded=True, lossless=True, colour=True)
    options = (
        Option("variant", "ac",
               "'ac': context-modelled arithmetic coding; 'plain': fixed 1-3 bit dominant symbols and raw"
               " refinement bits", VARIANTS),
        Option("wavelet", "auto",
               "'auto' (cdf97 lossy, legall53 lossless), 'cdf97', 'legall53' or any PyWavelets name (periodization)",
               check=check_wavelet_option),
        Option("levels", None, "decomposition levels; None picks from the image size (6 for 768x512)",
               check=check_levels_option),
    )

    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                     options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        h, w = image.height, image.width
        wavelet = options["wavelet"]
        if wavelet == "auto":
            wavelet = "legall53" if lossless else "cdf97"
        if lossless and not T.is_reversible(wavelet):
            raise InvalidArgumentError(f"imp1ezw: lossless=True needs wavelet='legall53' (or 'auto'), not {wavelet!r}")
        if not lossless and T.is_reversible(wavelet):
            raise InvalidArgumentError("imp1ezw: wavelet='legall53' is the reversible transform; use it with lossless=True")
        levels = options["levels"]
        levels = T.default_levels(h, w) if levels is None else _check_padding(levels, h, w)
        q, sp = forward_coefficients(image.pixels, lossless=lossless, wavelet=wavelet, levels=levels,
                                     bit_depth=image.bit_depth)[0]
        plan = _Plan(options["variant"], wavelet, levels, sp.colour, sp.frac_bits, sp.n_max,
                     sp.offsets)
        params = plan.pack(lossless)
        budget = target.payload_budget(params)
        result = encode_coefficients(q, variant=plan.variant, levels=levels, n_max=plan.n_max,
                                     budget=budget)
        return params, result.payload

    def decode_image(self, header: Header, payload: bytes) -> np.ndarray:
        plan = _Plan.unpack(header)
        hp, wp = T.padded_shape(header.height, header.width, plan.levels)
        coeffs = decode_coefficients(
            payload, variant=plan.variant, shape=(header.channels, hp, wp), levels=plan.levels,
            n_max=plan.n_max, frac_bits=plan.frac_bits, integer=header.lossless,
            weight_map=None if header.lossless else T.synthesis_weights(header.height, header.width, plan.levels,
                                                                        plan.wavelet),
            plane_weight=_chroma_weights(plan.colour)[: header.channels],
        )
        return inverse_coefficients(coeffs, plan, header)

    def describe(self, header: Header) -> dict[str, Any]:
        plan = _Plan.unpack(header)
        return {
            "variant": plan.variant,
            "transform": plan.wavelet,
            "levels": plan.levels,
            "colour_transform": {0: None, 1: "ICT", 2: "RCT"}[plan.colour],
            "top_bitplane": plan.n_max,
            "fractional_bits": plan.frac_bits,
        }


register(Imp1EzwCodec())
