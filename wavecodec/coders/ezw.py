"""EZW: Embedded Zerotree Wavelet coding (J. M. Shapiro, IEEE TSP 41(12):3445-3462, 1993).

Policy layer on the SPIHT spine: options, colour and wavelet transforms, integer
quantisation (shared with :mod:`wavecodec.coders.spiht`), the parameter block,
and the Numba kernel :func:`wavecodec._kernels.ezw.ezw_code` (which documents the
trees, the scan order, the symbols and their bits).

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
all three.  Reconstruction is at the centre of each coefficient's uncertainty
interval (``1.5 T`` for a newly significant coefficient).  Lossless coding uses the
integer 5/3 and the RCT, coded down to ``T = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .. import transform as T
from .._container import Header, ParamReader, ParamWriter
from .._kernels import arith as _ac
from .._kernels import ezw as _k
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
SCANS = ("strict", "rescan")
_VARIANT_CODE = {"plain": 0, "ac": 1}
_SCAN_CODE = {"strict": 0, "rescan": 1}


@dataclass
class _Plan:
    """Everything the decoder needs, as stored in the parameter block."""

    variant: str
    scan: str
    wavelet: str
    levels: int
    colour: int
    frac_bits: int
    n_max: int  # initial threshold 2**n_max; -1 if all coefficients are 0
    offsets: list  # per-plane mean removed before the transform (float lossy, int lossless)

    def pack(self, lossless: bool) -> bytes:
        w = ParamWriter()
        w.u8(_VARIANT_CODE[self.variant]).u8(_SCAN_CODE[self.scan]).text(self.wavelet).u8(self.levels)
        w.u8(self.colour).u8(self.frac_bits).i8(self.n_max)
        for m in self.offsets:
            if lossless:
                w.i32(int(m))
            else:
                w.f32(float(m))
        return w.bytes()

    @classmethod
    def unpack(cls, header: Header) -> "_Plan":
        r = ParamReader(header.params, "ezw")
        variant = {v: k for k, v in _VARIANT_CODE.items()}[r.u8("variant", 0, 1)]
        scan = {v: k for k, v in _SCAN_CODE.items()}[r.u8("scan", 0, 1)]
        wavelet = r.text("wavelet")
        try:
            wavelet = T.check_wavelet(wavelet)
        except InvalidArgumentError:
            raise CorruptStreamError(f"ezw stream names an unknown wavelet {wavelet!r}") from None
        levels = r.u8("levels", 0, T.MAX_LEVELS)
        try:
            _check_padding(levels, header.height, header.width)
        except InvalidArgumentError as exc:
            raise CorruptStreamError(f"ezw stream: {exc}") from None
        colour = r.u8("colour transform", 0, 2)
        if (colour != _COLOUR_NONE) != (header.channels == 3):
            raise CorruptStreamError("ezw stream: colour transform does not match the channel count")
        if header.lossless and (wavelet != "legall53" or colour == _COLOUR_ICT):
            raise CorruptStreamError("ezw stream: lossless flag with an irreversible transform")
        if not header.lossless and (colour == _COLOUR_RCT or wavelet == "legall53"):
            raise CorruptStreamError("ezw stream: reversible transform in a lossy stream")
        frac_bits = r.u8("fractional bits", 0, 8)
        n_max = r.i8("top bit-plane")
        if not -1 <= n_max <= _MAX_PLANE:
            raise CorruptStreamError(f"ezw stream: top bit-plane {n_max} outside -1..{_MAX_PLANE}")
        offsets = [r.i32("plane offset") if header.lossless else r.f32("plane mean") for _ in range(header.channels)]
        if not header.lossless and any(not abs(m) <= 2.0**20 for m in offsets):
            raise CorruptStreamError("ezw stream: plane mean out of range")
        r.end()
        return cls(variant, scan, wavelet, levels, colour, frac_bits, n_max, offsets)


def _run_kernel(decoding, arith, rescan, mag, sgn, levels, n_max, state, buf, trace):
    nc, hp, wp = mag.shape
    rowlev, collev = _level_maps(hp, wp, levels)
    probs, counts = _ac.new_models(_k.ezw_context_count())
    # flags as None (off) / True (on): one compiled specialisation per combination
    return _k.ezw_code(
        True if decoding else None, True if arith else None, True if rescan else None, mag, sgn, levels,
        hp >> levels, wp >> levels, rowlev, collev, n_max, state, buf, probs, counts, trace,
    )


@dataclass
class EncodeResult:
    """Output of :func:`encode_coefficients`."""

    payload: bytes
    trace: np.ndarray  # (n_trace, 6): threshold plane n, kind (S_* or T_SUB), plane c, row, column, bit


def encode_coefficients(q: np.ndarray, *, variant: str = "ac", scan: str = "strict", levels: int, n_max: int,
                        budget: int | None, trace_capacity: int = 0) -> EncodeResult:
    """Run the EZW encoder on signed integer coefficients (C, hp, wp) in tree layout.

    ``levels`` fixes the LL band (``hp >> levels`` x ``wp >> levels``); the first
    threshold is ``2**n_max``.  The payload is at most ``budget`` bytes; ``trace``
    holds the first ``trace_capacity`` symbols (see :mod:`wavecodec._kernels.ezw`).
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
        n_trace = _run_kernel(False, arith, scan == "rescan", mag, sgn, levels, n_max, state, buf, trace)[5]
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


def decode_coefficients(payload: bytes, *, variant: str = "ac", scan: str = "strict", shape: tuple[int, int, int],
                        levels: int, n_max: int, frac_bits: int, integer: bool,
                        weight_map: np.ndarray | None = None, plane_weight: np.ndarray | None = None) -> np.ndarray:
    """Run the EZW decoder on a (possibly truncated) payload; float64 coefficients (C, hp, wp)."""
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
    n_list, lst, lval, llow, sgn, _ = _run_kernel(True, arith, scan == "rescan", dummy, dummy_sign, levels, n_max,
                                                  state, data, trace)
    if weight_map is None:
        weight_map = np.ones((hp, wp))
    if plane_weight is None:
        plane_weight = np.ones(nc)
    return _k.reconstruct(lst, lval, llow, sgn, n_list, nc, hp, wp, frac_bits, integer,
                          np.ascontiguousarray(weight_map, dtype=np.float64),
                          np.ascontiguousarray(plane_weight, dtype=np.float64))


class EzwCodec(Codec):
    name = "ezw"
    description = "EZW embedded zerotree wavelet coder, arithmetic-coded or plain fixed codes"
    reference = "J. M. Shapiro, IEEE TSP 41(12):3445-3462, 1993"
    capabilities = Capabilities(embedded=True, lossless=True, colour=True)
    options = (
        Option("variant", "ac",
               "'ac': context-modelled arithmetic coding; 'plain': fixed 2-bit dominant symbols and raw"
               " refinement bits", VARIANTS),
        Option("scan", "strict",
               "'strict': significant coefficients leave the dominant scan (Shapiro, decoder-consistent);"
               " 'rescan': they stay in it as zeros (Valens / Sprljan)", SCANS),
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
            raise InvalidArgumentError(f"ezw: lossless=True needs wavelet='legall53' (or 'auto'), not {wavelet!r}")
        if not lossless and T.is_reversible(wavelet):
            raise InvalidArgumentError("ezw: wavelet='legall53' is the reversible transform; use it with lossless=True")
        levels = options["levels"]
        levels = T.default_levels(h, w) if levels is None else _check_padding(levels, h, w)
        q, sp = forward_coefficients(image.pixels, lossless=lossless, wavelet=wavelet, levels=levels,
                                     bit_depth=image.bit_depth)[0]
        plan = _Plan(options["variant"], options["scan"], wavelet, levels, sp.colour, sp.frac_bits, sp.n_max,
                     sp.offsets)
        params = plan.pack(lossless)
        budget = target.payload_budget(params)
        result = encode_coefficients(q, variant=plan.variant, scan=plan.scan, levels=levels, n_max=plan.n_max,
                                     budget=budget)
        return params, result.payload

    def decode_image(self, header: Header, payload: bytes) -> np.ndarray:
        plan = _Plan.unpack(header)
        hp, wp = T.padded_shape(header.height, header.width, plan.levels)
        coeffs = decode_coefficients(
            payload, variant=plan.variant, scan=plan.scan, shape=(header.channels, hp, wp), levels=plan.levels,
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
            "scan": plan.scan,
            "transform": plan.wavelet,
            "levels": plan.levels,
            "colour_transform": {0: None, 1: "ICT", 2: "RCT"}[plan.colour],
            "top_bitplane": plan.n_max,
            "fractional_bits": plan.frac_bits,
        }


register(EzwCodec())
