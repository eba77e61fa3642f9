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
from typing import Any, Callable, Mapping

import numpy as np

from .. import transform as T
from .._container import Header, ParamReader, ParamWriter
from .._kernels import arith as _ac
from .._kernels import spiht as _k
from . import _spiht_priors as _priors
from ._options import check_levels_option, check_wavelet_option
from .._registry import Capabilities, Codec, EncodeTarget, ImageSpec, Option, register
from ..errors import CorruptStreamError, InvalidArgumentError

VARIANTS = ("ac", "binary")
_VARIANT_CODE = {"binary": 0, "ac": 1}
_COLOUR_NONE, _COLOUR_ICT, _COLOUR_RCT = 0, 1, 2
_MAX_PLANE = 30  # int32 magnitudes
_N_STEPS = 4  # quantiser steps 2**(-k/4), k = 0..3, searched by the encoder
_SEARCH_MAX_BPP = 0.3  # step_search="auto" searches up to this rate (cheap there, and it pays most)
_MAX_PAD = 16  # padded tree layout: at most this many times the image area (+1 Mi)


@dataclass
class _Plan:
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
    def unpack(cls, header: Header) -> "_Plan":
        r = ParamReader(header.params, "spiht")
        vcode = r.u8("variant", 0, 1)
        variant = {v: k for k, v in _VARIANT_CODE.items()}[vcode]
        wavelet, levels, colour = read_transform_fields(r, header, "spiht")
        frac_bits = r.u8("fractional bits", 0, 8)
        n_max = r.i8("top bit-plane")
        if not -1 <= n_max <= _MAX_PLANE:
            raise CorruptStreamError(f"spiht stream: top bit-plane {n_max} outside -1..{_MAX_PLANE}")
        recon = (r.u8("fresh reconstruction point"), r.u8("refined reconstruction point"))
        step = r.u8("quantiser step", 0, _N_STEPS - 1)
        if header.lossless and step != 0:
            raise CorruptStreamError("spiht stream: quantiser step in a lossless stream")
        offsets = [r.i32("plane offset") if header.lossless else r.f32("plane mean") for _ in range(header.channels)]
        if not header.lossless and any(abs(m) > 2.0**20 for m in offsets):
            raise CorruptStreamError("spiht stream: plane mean out of range")
        r.end()
        return cls(variant, wavelet, levels, colour, frac_bits, n_max, offsets, recon, step)


def read_transform_fields(r: ParamReader, header: Header, name: str) -> tuple[str, int, int]:
    """Read and check the wavelet, level count and colour transform of a bit-plane codec's block.

    Shared by SPIHT, EZW and IMP1EZW: the wavelet must be known, the padded tree
    layout bounded, the colour transform must match the channel count, and the
    lossless flag must go with the reversible transforms (and only with them).
    """
    wavelet = r.text("wavelet")
    try:
        wavelet = T.check_wavelet(wavelet)
    except InvalidArgumentError:
        raise CorruptStreamError(f"{name} stream names an unknown wavelet {wavelet!r}") from None
    levels = r.u8("levels", 0, T.MAX_LEVELS)
    try:
        _check_padding(levels, header.height, header.width)
    except InvalidArgumentError as exc:
        raise CorruptStreamError(f"{name} stream: {exc}") from None
    colour = r.u8("colour transform", 0, 2)
    if (colour != _COLOUR_NONE) != (header.channels == 3):
        raise CorruptStreamError(f"{name} stream: colour transform does not match the channel count")
    if header.lossless and (wavelet != "legall53" or colour == _COLOUR_ICT):
        raise CorruptStreamError(f"{name} stream: lossless flag with an irreversible transform")
    if not header.lossless and (colour == _COLOUR_RCT or wavelet == "legall53"):
        raise CorruptStreamError(f"{name} stream: reversible transform in a lossy stream")
    return wavelet, levels, colour


def _check_padding(levels: int, height: int, width: int) -> int:
    """Validate ``levels`` and bound the zero-padded tree layout it implies.

    The tree layout pads each side to a multiple of ``2**(levels+1)``; for thin
    images and many levels that area could dwarf the image (and a corrupt header
    could ask for gigabytes), so the padded area may be at most 16x the image plus
    1 Mi samples (enough for the deepest pyramid of any reasonably shaped image).
    """
    levels = T.check_levels(levels, height, width)
    hp, wp = T.padded_shape(height, width, levels)
    if hp * wp > _MAX_PAD * height * width + (1 << 20):
        fit = levels
        while fit > 0:
            fit -= 1
            a, b = T.padded_shape(height, width, fit)
            if a * b <= _MAX_PAD * height * width + (1 << 20):
                break
        raise InvalidArgumentError(
            f"levels={levels} would pad the {height}x{width} image to {hp}x{wp} coefficients;"
            f" use levels <= {fit}"
        )
    return levels


def _level_maps(hp: int, wp: int, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Decomposition level of every row and column of the tree layout (levels+1 = LL slot)."""

    def axis(n: int) -> np.ndarray:
        lev = np.full(n, levels + 1, dtype=np.int64)
        for k in range(1, levels + 1):
            lev[n >> k : n >> (k - 1)] = k
        return lev

    return axis(hp), axis(wp)


def _chroma_weights(colour: int) -> np.ndarray:
    """Scale of each plane before quantisation: sqrt of the plane's synthesis gain to RGB, Y = 1."""
    if colour != _COLOUR_ICT:
        return np.ones(3)
    g = T.ict_synthesis_gains()
    return np.sqrt(g / g[0])


def _frac_bits(bit_depth: int, levels: int) -> int:
    """Fractional bits kept below the integer part of the (L2-normalised) lossy coefficients.

    Two bits put the finest quantiser step at 1/4 of a sample value, so the
    default "full quality" stream is nearly lossless; fewer when needed to keep
    magnitudes within int32 (the LL gain is 2**levels).
    """
    return int(np.clip(_MAX_PLANE - 1 - bit_depth - levels, 0, 2))


def initial_models(priors: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Context models at the start of a stream: the trained priors of ``_spiht_priors`` or flat 1/2."""
    if priors and _priors.PRIORS is not None:
        return _ac.models_from_priors(np.asarray(_priors.PRIORS), _priors.CONFIDENCE)
    return _ac.new_models(_k.spiht_context_count())


def _run_kernel(decoding, arith, mag, sgn, levels, n_max, state, buf, out_val, out_sign, trace, stats=None,
                priors=True):
    nc, hp, wp = mag.shape
    rowlev, collev = _level_maps(hp, wp, levels)
    probs, counts = initial_models(priors)
    if stats is None:
        stats = np.zeros((0, 2), dtype=np.int64)
    # The flags are passed as None (off) or True (on): Numba compiles a separate
    # specialisation for each combination and prunes the branches that test them
    # (``flag is None``), which keeps each compiled kernel small and fast.
    return _k.spiht_code(
        True if decoding else None, True if arith else None, mag, sgn, levels, hp >> levels, wp >> levels, rowlev, collev,
        n_max, 0, state, buf, probs, counts, out_val, out_sign, trace, stats,
    )


def forward_coefficients(
    pixels: np.ndarray, *, lossless: bool, wavelet: str, levels: int, bit_depth: int, steps: tuple = (0,)
) -> list[tuple[np.ndarray, _Plan]]:
    """Pixels (H, W, C) -> signed integer coefficients (C, hp, wp) in tree layout, and the plan.

    Lossy coefficients are quantised once per quantiser step in ``steps``
    (``2**(-step/4)``; the transform runs once); one ``(q, plan)`` pair per step.
    """
    h, w, c = pixels.shape
    if c == 3:
        colour = _COLOUR_RCT if lossless else _COLOUR_ICT
        planes = T.rct_forward(pixels) if lossless else T.ict_forward(pixels.astype(np.float64))
    else:
        colour = _COLOUR_NONE
        planes = pixels.transpose(2, 0, 1)
    if lossless:
        planes = planes.astype(np.int64)
        offsets = [int(np.round(p.mean())) for p in planes]
        try:
            coeffs = np.stack(
                [T.forward((p - m).astype(np.int32), wavelet=wavelet, levels=levels) for p, m in zip(planes, offsets)]
            )
        except InvalidArgumentError as exc:
            # the integer 5/3 keeps every intermediate in int32 only up to a data range
            # that shrinks with the number of levels
            raise InvalidArgumentError(
                f"lossless coding of this {bit_depth}-bit image cannot use levels={levels} ({exc});"
                " choose fewer levels"
            ) from None
        frac = 0
        candidates = [(coeffs.astype(np.int64), 0)]
    else:
        planes = planes.astype(np.float64)
        offsets = [float(np.float32(p.mean())) for p in planes]
        coeffs = np.stack([T.forward(p - m, wavelet=wavelet, levels=levels) for p, m in zip(planes, offsets)])
        coeffs *= T.synthesis_weights(h, w, levels, wavelet)[None]
        coeffs *= _chroma_weights(colour)[:c, None, None]
        frac = _frac_bits(bit_depth, levels)
        candidates = [(np.trunc(coeffs * (step_scale(s) * (1 << frac))).astype(np.int64), s) for s in steps]
    out = []
    for q, s in candidates:
        top = int(np.abs(q).max()) if q.size else 0
        if top >= 1 << _MAX_PLANE:
            raise InvalidArgumentError("coefficient magnitudes exceed the 30-bit range; use fewer levels")
        out.append((q, _Plan("ac", wavelet, levels, colour, frac, top.bit_length() - 1, offsets, step=s)))
    return out


def resolve_transform(codec: str, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                      options: Mapping[str, Any]) -> tuple[str, int, tuple]:
    """The wavelet, the number of levels and the quantiser steps to try, from a codec's options.

    Shared by the bit-plane codecs (options ``wavelet``, ``levels``, ``step_search``):
    ``'auto'`` picks the 5/3 for lossless and the 9/7 otherwise; the steps are all
    ``_N_STEPS`` when the search applies (``'always'``, or ``'auto'`` with a budget of
    at most ``_SEARCH_MAX_BPP``), else only the plain bit-planes.
    """
    h, w = image.height, image.width
    wavelet = options["wavelet"]
    if wavelet == "auto":
        wavelet = "legall53" if lossless else "cdf97"
    if lossless and not T.is_reversible(wavelet):
        raise InvalidArgumentError(f"{codec}: lossless=True needs wavelet='legall53' (or 'auto'), not {wavelet!r}")
    if not lossless and T.is_reversible(wavelet):
        raise InvalidArgumentError(f"{codec}: wavelet='legall53' is the reversible transform; use it with"
                                   " lossless=True")
    levels = options["levels"]
    levels = T.default_levels(h, w) if levels is None else _check_padding(levels, h, w)
    search = options.get("step_search", "never")
    budget_bpp = None if target.max_bytes is None else 8.0 * target.max_bytes / (h * w)
    if not lossless and (search == "always" or (search == "auto" and budget_bpp is not None
                                                and budget_bpp <= _SEARCH_MAX_BPP)):
        return wavelet, levels, tuple(range(_N_STEPS))
    return wavelet, levels, (0,)


def least_distortion(candidates: list, code: Callable) -> tuple:
    """Code every ``(q, plan)`` candidate with ``code(q, plan) -> (plan, result)`` and keep the best.

    The best is the one whose decoded coefficients have the least squared error,
    estimated from ``result.reduction`` without decoding and taken back to the
    unscaled domain (quantiser step and fractional bits); one candidate is
    returned as it is coded.
    """
    best = None
    for q, plan in candidates:
        plan, result = code(q, plan)
        if len(candidates) == 1:
            return plan, result
        scale = step_scale(plan.step) * (1 << plan.frac_bits)
        energy = float(np.sum((np.abs(q) + 0.5 * (q != 0)) ** 2))
        error = (energy - result.reduction) / (scale * scale)
        if best is None or error < best[2]:
            best = (plan, result, error)
    return best[0], best[1]


def step_scale(step: int) -> float:
    """Scale applied to the coefficients for quantiser step ``step`` (``2**(-step/4)``)."""
    return 2.0 ** (-step / 4.0)


def inverse_coefficients(coeffs: np.ndarray, plan: _Plan, header: Header) -> np.ndarray:
    """Reconstructed (unweighted) coefficients (C, hp, wp) -> pixels (H, W, C) of the header's dtype."""
    h, w, c = header.height, header.width, header.channels
    maxval = (1 << header.bit_depth) - 1
    if header.lossless:
        planes = [
            T.inverse(coeffs[k].astype(np.int32), shape=(h, w), wavelet=plan.wavelet, levels=plan.levels).astype(np.int64)
            + plan.offsets[k]
            for k in range(c)
        ]
        img = T.rct_inverse(np.stack(planes)) if c == 3 else planes[0][:, :, None]
        return np.clip(img, 0, maxval).astype(header.dtype)
    planes = [T.inverse(coeffs[k], shape=(h, w), wavelet=plan.wavelet, levels=plan.levels, overwrite_input=True)
              for k in range(c)]
    for k in range(c):
        planes[k] += plan.offsets[k]
    img = T.ict_inverse(np.stack(planes)) if c == 3 else planes[0][:, :, None]
    np.rint(img, out=img)
    np.clip(img, 0, maxval, out=img)
    return img.astype(header.dtype)


@dataclass
class EncodeResult:
    """Output of :func:`encode_coefficients`."""

    payload: bytes
    trace: np.ndarray  # (n_trace, 6): plane, kind, plane index c, row, column, bit
    recon: tuple  # MSE-optimal reconstruction points (1/256 of the interval), fresh and refined
    reduction: float = 0.0  # squared error removed by the decoded coefficients (see distortion_reduction)


def encode_coefficients(q: np.ndarray, *, variant: str, levels: int, n_max: int, budget: int | None,
                        trace_capacity: int = 0, stats: np.ndarray | None = None, priors: bool = True) -> EncodeResult:
    """Run the SPIHT encoder on signed integer coefficients in tree layout (C, hp, wp).

    The payload is at most ``budget`` bytes; ``trace`` holds the first
    ``trace_capacity`` coded bits (see :mod:`wavecodec._kernels.spiht` for the kinds).
    """
    mag = np.ascontiguousarray(np.abs(q), dtype=np.int32)
    sgn = np.ascontiguousarray(q < 0, dtype=np.uint8)
    arith = variant == "ac"
    trace = np.zeros((trace_capacity, 6), dtype=np.int64)
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    dummy_val = np.zeros((1, 1, 1), dtype=np.int32)
    dummy_sign = np.zeros((1, 1, 1), dtype=np.uint8)
    if n_max < 0:
        return EncodeResult(b"", trace[:0], (128, 128))
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
        n_stop, n_lsp, refined, lsp_old, n_trace, lsp, lsp_plane = _run_kernel(
            False, arith, mag, sgn, levels, n_max, state, buf, dummy_val, dummy_sign, trace, stats, priors
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
    return EncodeResult(buf[:n_bytes].tobytes(), trace[: min(int(n_trace), trace_capacity)], recon, reduction)


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
    trace = np.zeros((0, 6), dtype=np.int64)
    n_stop, n_lsp, refined, lsp_old, _, lsp, lsp_plane = _run_kernel(
        True, arith, out_val, out_sign, levels, n_max, state, data, out_val, out_sign, trace
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
               f" 'auto': search when a budget of at most {_SEARCH_MAX_BPP} bpp is given",
               ("auto", "always", "never")),
        Option("reconstruction", "optimized",
               "'midpoint': centre of the uncertainty interval (the paper); 'optimized': encoder-measured"
               " conditional means, sent in two header bytes", ("optimized", "midpoint")),
    )

    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                     options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        wavelet, levels, steps = resolve_transform(self.name, image, target, lossless=lossless, options=options)
        candidates = forward_coefficients(image.pixels, lossless=lossless, wavelet=wavelet, levels=levels,
                                          bit_depth=image.bit_depth, steps=steps)
        def code(q, plan):
            plan.variant = options["variant"]
            budget = target.payload_budget(plan.pack(lossless))  # same length for every step
            result = encode_coefficients(q, variant=plan.variant, levels=levels, n_max=plan.n_max, budget=budget)
            if options["reconstruction"] == "optimized" and not lossless:
                plan.recon = result.recon
            return plan, result

        plan, result = least_distortion(candidates, code)
        return plan.pack(lossless), result.payload

    def decode_image(self, header: Header, payload: bytes) -> np.ndarray:
        plan = _Plan.unpack(header)
        hp, wp = T.padded_shape(header.height, header.width, plan.levels)
        coeffs = decode_coefficients(
            payload, variant=plan.variant, shape=(header.channels, hp, wp), levels=plan.levels,
            n_max=plan.n_max, frac_bits=plan.frac_bits, integer=header.lossless, recon=plan.recon,
            weight_map=None if header.lossless else T.synthesis_weights(header.height, header.width, plan.levels, plan.wavelet),
            plane_weight=_chroma_weights(plan.colour)[: header.channels] * step_scale(plan.step),
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
            "reconstruction_points": (plan.recon[0] / 256, plan.recon[1] / 256),
            "quantiser_step": 1.0 / step_scale(plan.step),  # 2**(k/4) in units of the plain bit-planes
        }


register(SpihtCodec())
