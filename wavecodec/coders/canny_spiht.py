"""canny-spiht: an edge layer (Canny contours + side grey values) plus SPIHT on the residual.

After Wang, Kang, Guo et al. (Computer Science, 2019): Canny edge detection,
Huffman-coded edge information, combined with SPIHT so that high-frequency
structure survives at low bit rates.  See docs/canny-spiht.md.

Stream (parameter block, mode byte first):

``mode 0`` (plain SPIHT)
    the rest of the block is a SPIHT parameter block and the payload a SPIHT
    payload: the encoder chose not to use the edge layer (no budget, lossless,
    or the edge layer did not pay at this rate).
``mode 1`` (edge layer)
    entropy coder (0 Huffman, 1 arithmetic), knot spacing, side offset,
    quantiser step, edge-layer length E (4 bytes), then the SPIHT parameter
    block of the residual.  Payload = E bytes of edge layer + the embedded SPIHT
    payload of ``original - base``, where ``base`` is inpainted from the edge layer.
    Any cut after the edge layer decodes (SPIHT is embedded); a cut inside it
    decodes the complete contours before the cut, with no residual.

Rate split (option ``edge_share``): the encoder codes the image with a few edge
layer sizes (fractions of the budget: the most important contours, long and
contrasted, first), measures the squared error of each after SPIHT, compares with
plain SPIHT, and keeps the best (see :func:`_choose`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from .. import transform as T
from .._container import Header, ParamReader, ParamWriter
from .._kernels.pages import release_span as _release_span
from .._kernels.pages import trim_heap as _trim_heap
from .._progress import mapped_span, progress_span, report_progress
from .._registry import Capabilities, Codec, EncodeTarget, ImageSpec, Option, register
from ..errors import CorruptStreamError, InvalidArgumentError, RateUnreachableError
from . import _bitplane as B
from . import _edge_layer as E
from . import _subband_klt as _sklt
from . import spiht as S
from ._options import check_levels_option, check_wavelet_option

MODE_SPIHT, MODE_EDGES = 0, 1
_ENTROPY_CODE = {"huffman": 0, "arith": 1}
# edge-layer fractions of the payload tried by edge_share="auto": both up to B.SEARCH_MAX_BPP
# (where spiht itself codes 4 quantiser steps), the first only above it (use_edges="always")
SHARES = (0.04, 0.12)
# use_edges="auto" with edge_share="auto" codes plain SPIHT above this rate (bpp): on the 24 gray
# Kodak images the edge layer gained 0.000 dB there on average (1 image of 24 used it at 0.5 bpp)
EDGE_MAX_BPP = 0.3
TOLERANCE_SHARES = (0.25, 0.4)  # tried as well when psnr_tolerance > 0 (more edge, less PSNR)
# edge_share="auto" tries the second share in gray only below this rate (bpp; without
# psnr_tolerance): on the 24 gray Kodak images the 12% layer never beat the 4% one from 0.2 bpp on
# (0 of 31 image-rate points where both were coded); the rule changed no Kodak stream at 0.02-0.25
# bpp and saves the second candidate's inpainting and residual coding where it could not win
# (docs/canny-spiht.md, "Encode cost")
GRAY_SECOND_SHARE_BPP = 0.2
_MIN_CONTOUR_SHARE = 0.3  # when no share holds a contour: the first one alone, if within this share


def _positive_float(name: str, lo: float, hi: float):
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not lo <= float(value) <= hi:
            raise InvalidArgumentError(f"option {name} must be a number in [{lo}, {hi}], got {value!r}")
        return float(value)
    return check


def _int_range(name: str, lo: int, hi: int):
    def check(value: Any) -> int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
            raise InvalidArgumentError(f"option {name} must be an int in {lo}..{hi}, got {value!r}")
        return int(value)
    return check


def _check_share(value: Any) -> Any:
    if value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0.0 <= float(value) <= 0.9:
        raise InvalidArgumentError(f"option edge_share must be 'auto' or a fraction in [0, 0.9], got {value!r}")
    return float(value)


@dataclass
class _EdgePlan:
    entropy: str
    spacing: int
    offset: int
    step8: int
    edge_bytes: int

    def pack(self) -> bytes:
        w = ParamWriter()
        w.u8(MODE_EDGES).u8(_ENTROPY_CODE[self.entropy]).u8(self.spacing).u8(self.offset).u8(self.step8)
        w.i32(self.edge_bytes)
        return w.bytes()


class _PrefixedTarget:
    """The codec's target seen by the SPIHT encoder: every SPIHT parameter block is
    charged the bytes of our own parameters in front of it."""

    def __init__(self, target: EncodeTarget, prefix: bytes):
        self._target = target
        self._prefix = prefix
        self.max_bytes = target.max_bytes

    def payload_budget(self, params: bytes) -> int | None:
        return self._target.payload_budget(self._prefix + params)


_SPIHT = S.SpihtCodec()


_BLOCK_SAMPLES = 1 << 18  # samples per block of the decoder's colour transform, addition and rounding
#: edge-layer streams of at least this many samples decode with the residual narrowed to float32
#: (:func:`_decode_narrowed`: within the output plus 8 bytes per sample); smaller ones in float64
#: throughout (one residual decoding instead of two; up to about 20 MiB beyond that bound)
NARROW_MIN_SAMPLES = B.BIG_IMAGE_SAMPLES
_NARROW_BLOCK_SAMPLES = 1 << 16  # samples per block there (its temporaries are part of the peak)


def _residual_planes(payload: bytes, plan: B.BitplanePlan, header: Header, *, narrow: bool = False,
                     coder: B.BitplaneCodec = _SPIHT) -> list[np.ndarray] | np.ndarray:
    """The residual's planes (C of H x W float64, in the SPIHT decoder's coefficient memory), before
    the inverse ICT (with the subband KLT, which is undone on the coefficients, the R, G and B
    planes): what :meth:`SpihtCodec.decode_plan` computes at full size
    before it adds ``add_to`` and rounds, by blocks of rows
    (:func:`wavecodec.coders._bitplane.decode_reduced`, :func:`~wavecodec.coders._bitplane.inverse_coefficients`),
    so that the base image can be added band by band.

    ``narrow``: instead, one (C, H, W) float32 array, each value the float64 one rounded to
    nearest, in the first half of that memory (each plane written there row by row as its
    inverse transform ends: a row's floats never reach a row not yet read), and the pages of
    the second half given back (:func:`wavecodec._kernels.pages.release_span`, where the
    memory is a map of its own: from ``BIG_IMAGE_SAMPLES`` on).  4 bytes per sample instead of 8.
    """
    h, w, c = header.height, header.width, header.channels
    hp, wp = T.padded_shape(h, w, plan.levels)
    weights = B.CoefficientWeights.for_stream(plan, header, hp, wp)
    plane_weight = B.chroma_weights(plan.colour)[:c] * B.step_scale(plan.step)
    coeffs = coder.decode_coefficients(payload, plan, (c, hp, wp), integer=False, weights=weights,
                                       plane_weight=plane_weight)
    if plan.colour == B.COLOUR_SKLT:  # as decode_reduced does: back to RGB before the inverse wavelet
        if narrow:
            raise ValueError("the narrowed residual is for ICT or gray residuals")
        rowlev, collev = B.level_maps(hp, wp, plan.levels)
        _sklt.rotate(coeffs, rowlev, collev, plan.rotations, inverse=True)
    if not narrow:
        planes = [T.inverse(coeffs[k], shape=(h, w), wavelet=plan.wavelet, levels=plan.levels, overwrite_input=True)
                  for k in range(c)]
        for k in range(c):
            planes[k] += plan.offsets[k]
        return planes
    memory = coeffs.reshape(-1)
    narrowed = memory.view(np.float32)[: c * h * w].reshape(c, h, w)
    row = np.empty(w)
    for k in range(c):
        # plane k's floats end at byte 4 (k + 1) h w, where plane k + 1's coefficients start at
        # 8 (k + 1) hp wp or later; within the plane, row y's floats end before row y + 1 starts
        plane = T.inverse(coeffs[k], shape=(h, w), wavelet=plan.wavelet, levels=plan.levels, overwrite_input=True)
        for y in range(h):
            np.add(plane[y], plan.offsets[k], out=row)  # the float64 value, as above
            narrowed[k, y] = row
        del plane
    _release_span(memory.view(np.uint8), 4 * c * h * w, memory.nbytes)
    return narrowed


def _decode_narrowed(payload: bytes, plan: B.BitplanePlan, rheader: Header, layer: E.EdgeLayer, header: Header, *,
                     slack: float = 1.0, coder: B.BitplaneCodec = _SPIHT) -> tuple[np.ndarray, int]:
    """The full-size image of an edge-layer stream, bit for bit what the float64 path of
    :meth:`CannySpihtCodec.decode_image` gives, in the output plus 8 bytes per sample; and the
    number of samples that needed the second decoding.

    1. The residual is decoded and narrowed to float32 (:func:`_residual_planes`): 4 bytes per
       sample, beside which the base image's pyramid and band fit.
    2. Base plus residual, rounded and clipped, by blocks of rows into the output, as the float64
       path does but from the float32 residual (:func:`wavecodec._kernels.edges.add_narrowed_rows`);
       the residual's rows are given back behind the blocks.  A sample is *near* when its value
       lies within a bound of a rounding boundary (a half-integer) that covers what the float32
       rounding of the residual (at most ``2**-24`` of each plane's value, through the inverse
       ICT's coefficients) and the float64 arithmetic can change:
       ``2**-22 * (|Y| + 1.772 |Cb| + 1.402 |Cr|) + 2**-40 * (|value| + 1)`` (``|residual|`` in
       gray), times ``slack`` (>= 1; the tests raise it to make many samples near).  Every other
       sample rounds as the float64 value would.
    3. If any sample is near (314 of the 16.7 million of a 4096^2 Kodak mosaic at 0.1 bpp;
       almost every big image has some), the residual is decoded again in float64, the output
       and the near samples' base values being all that is kept (the SPIHT decoder's own peak,
       the output plus about 8 bytes per sample), and those samples are computed as the float64
       path computes them.
    """
    h, w, c = header.height, header.width, header.channels
    maxval = (1 << header.bit_depth) - 1
    with mapped_span(0.0, 0.5, B.CoderProgress(), "residual"):  # the SPIHT decoder attaches its coder
        narrowed = _residual_planes(payload, plan, rheader, narrow=True, coder=coder)
    _trim_heap()  # the decoder's temporaries, before the base image's pyramid
    out = np.empty((h, w, c), dtype=header.dtype)
    rows = max(1, _NARROW_BLOCK_SAMPLES // (w * c))
    released = [0] * c
    near_at, near_base = [], []
    at_block = np.empty(rows * w * c, dtype=np.int64)
    base_block = np.empty(rows * w * c)
    for r0, r1, base in E.base_bands(layer, h, w, c):
        report_progress(0.5 + 0.3 * r0 / h, "edge layer")
        planes = base.transpose(2, 0, 1)  # the band's own (C, rows, W) layout
        for a in range(r0, r1, rows):
            b = min(r1, a + rows)
            # contiguous blocks (copies in colour, where the planes' rows are apart): one compiled
            # kernel for every image, the one a small image's warm-up compiles too
            n = E.add_narrowed_rows(np.ascontiguousarray(narrowed[:, a:b]),
                                    np.ascontiguousarray(planes[:, a - r0 : b - r0]), out[a:b], float(maxval),
                                    float(slack), at_block, base_block)
            if n:
                near_at.append(at_block[:n] + a * w * c)
                near_base.append(base_block[:n].copy())
            for k in range(c):
                released[k] = _release_span(narrowed[k], released[k], b * w)
        del base, planes  # the band buffer goes with the generator
    del narrowed
    if not near_at:
        return out, 0
    at = np.concatenate(near_at)
    base_values = np.concatenate(near_base)
    del near_at, near_base
    _trim_heap()  # the bands' temporaries: the second decoding's peak is the output's plus its own
    with mapped_span(0.8, 1.0, B.CoderProgress(), "residual, near samples"):
        planes = _residual_planes(payload, plan, rheader, coder=coder)
    pixel, channel = np.divmod(at, c)
    y, x = np.divmod(pixel, w)
    if c == 3:
        # the inverse ICT of just these pixels: the same kernel, the same arithmetic per pixel
        rgb = T.ict_inverse(np.stack([p[y, x] for p in planes])[:, :, None])
        residual = rgb[np.arange(at.size), 0, channel]
    else:
        residual = planes[0][y, x]
    del planes
    value = base_values + residual
    np.rint(value, out=value)
    np.clip(value, 0, maxval, out=value)
    out.reshape(-1)[at] = value
    return out, int(at.size)


def _residual(pixels: np.ndarray, layer: E.EdgeLayer) -> np.ndarray:
    """``pixels`` minus the layer's base image, computed band by band (the base image is never
    whole), in float32: the SPIHT front end copies it into its own float64 array, and a
    float64 residual beside that copy was the encoder's peak (the rounding is the encoder's
    choice; the decoder adds its float64 base image to what the stream says)."""
    h, w, c = pixels.shape
    residual = np.empty((h, w, c), dtype=np.float32)
    for r0, r1, base in E.base_bands(layer, h, w, c):
        np.subtract(pixels[r0:r1], base, out=residual[r0:r1])
    return residual


def _squared_errors(out: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    err = (out.astype(np.float64) - ref) ** 2
    return float(err.sum()), float(err[mask].sum())


class CannySpihtCodec(Codec):
    """The edge layer plus a bit-plane coder (:attr:`coder`: SPIHT, arithmetic-coded) for the
    plain stream and the residual; :class:`wavecodec.coders.canny_ecbp.CannyEcbpCodec` is the
    same with ``ecbp``."""

    name = "canny-spiht"
    #: the bit-plane codec of the plain stream (mode 0) and of the residual (mode 1)
    coder: B.BitplaneCodec = _SPIHT
    #: its options for the plain stream, besides ``wavelet`` and ``levels``
    coder_options: Mapping[str, Any] = MappingProxyType(
        {"variant": "ac", "step_search": "auto", "reconstruction": "optimized"})
    #: its options for the residual (coded with the plain stream's quantiser step)
    residual_options: Mapping[str, Any] = MappingProxyType({"variant": "ac", "reconstruction": "optimized"})
    description = "Canny edge layer (chain codes + side samples, Huffman or arithmetic) + SPIHT residual"
    reference = "after Wang, Kang, Guo et al., Computer Science 2019 (Canny + Huffman edge information + SPIHT)"
    capabilities = Capabilities(embedded=True, lossless=True, colour=True)
    options = (
        Option("use_edges", "auto", "'auto': edge layer when it measures better than plain SPIHT at the budget"
               " (tried up to 0.3 bpp unless edge_share is given);"
               " 'always': edge layer whenever a budget is given; 'never': plain SPIHT",
               ("auto", "always", "never")),
        Option("edge_share", "auto", "fraction of the payload for the edge layer, or 'auto' (a fraction that"
               " depends on the rate, see docs/canny-spiht.md)", check=_check_share),
        Option("psnr_tolerance", 0.0, "use_edges='auto' keeps an edge-layer stream at most this many dB below"
               " plain SPIHT if it has less error near the edges (0: only if it is at least as good overall)",
               check=_positive_float("psnr_tolerance", 0.0, 3.0)),
        Option("sigma", 2.0, "Canny Gaussian sigma (pixels)", check=_positive_float("sigma", 0.3, 16.0)),
        Option("low_threshold", 0.05, "Canny low hysteresis threshold (fraction of the sample range)",
               check=_positive_float("low_threshold", 0.0, 1.0)),
        Option("high_threshold", 0.15, "Canny high hysteresis threshold (fraction of the sample range)",
               check=_positive_float("high_threshold", 0.0, 1.0)),
        Option("min_length", 20, "contours shorter than this (pixels) are never coded", check=_int_range("min_length", 1, 1 << 20)),
        Option("spacing", 16, "distance (pixels along the contour) between grey-value knots", check=_int_range("spacing", 1, 255)),
        Option("offset", 1, "distance of the side samples from the contour (pixels along the normal)",
               check=_int_range("offset", 1, 8)),
        Option("quant_step", 16, "quantiser step of the side values (for 8-bit samples; scaled for other depths)",
               check=_int_range("quant_step", 1, 255)),
        Option("entropy", "auto", "edge-layer entropy coder: 'huffman' (the paper), 'arith' (shared adaptive"
               " arithmetic coder) or 'auto' (the smaller)", ("auto", "huffman", "arith")),
        Option("wavelet", "auto", "SPIHT wavelet, as for spiht", check=check_wavelet_option),
        Option("levels", None, "SPIHT decomposition levels; None picks from the image size", check=check_levels_option),
    )

    # ------------------------------------------------------------------ encoder
    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                     options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        h, w, c = image.pixels.shape
        spiht_opts = {**self.coder_options, "wavelet": options["wavelet"], "levels": options["levels"]}
        self._check_combinations(options, lossless)
        wavelet, levels, steps = B.resolve_transform(self.name, image, _PrefixedTarget(target, bytes([MODE_SPIHT])),
                                                     lossless=lossless, options=spiht_opts)
        try_edges = not (lossless or target.max_bytes is None or options["use_edges"] == "never" or min(h, w) < 16
                         # above EDGE_MAX_BPP the edge layer did not pay on Kodak (docs/canny-spiht.md)
                         or (options["use_edges"] == "auto" and options["edge_share"] == "auto"
                             and 8.0 * target.max_bytes / (h * w) > EDGE_MAX_BPP))
        # progress: plain SPIHT, then the edge-layer candidates (each a detection share and a SPIHT run)
        with progress_span(0.0, 0.4 if try_edges else 1.0, "spiht"):
            plain = self._encode_plain(image, target, lossless, spiht_opts, wavelet, levels, steps, try_edges)
        if not try_edges:
            return plain[:2]
        with progress_span(0.4, 1.0, "edge layer"):
            candidates, mask = self._encode_edges(image, target, options, wavelet, levels, plain[3], plain[2])
        if not candidates:
            return plain[:2]
        best = min(candidates, key=lambda cand: cand[2])
        if options["use_edges"] == "always":
            return best[:2]
        if options["psnr_tolerance"] == 0.0:
            # the rate-distortion choice, on the encoders' own error estimates (no decoding)
            return best[:2] if best[2] < plain[2] else plain[:2]
        measured = [cand[:2] + self._errors(image, cand, mask) for cand in candidates]
        return self._choose(measured, plain[:2] + self._errors(image, plain, mask), options["psnr_tolerance"])

    def _check_combinations(self, options: Mapping[str, Any], lossless: bool) -> None:
        """Options that contradict each other: an InvalidArgumentError naming them, before any work."""
        if options["low_threshold"] > options["high_threshold"]:
            raise InvalidArgumentError(
                f"{self.name}: option low_threshold={options['low_threshold']!r} must not exceed"
                f" high_threshold={options['high_threshold']!r} (Canny's hysteresis thresholds)"
            )
        use, share, tol = options["use_edges"], options["edge_share"], options["psnr_tolerance"]
        if use == "never" and share != "auto":
            raise InvalidArgumentError(f"{self.name}: option edge_share={share!r} asks for an edge layer but"
                                       " use_edges='never' codes none")
        if use == "always" and share == 0.0:
            raise InvalidArgumentError(f"{self.name}: option edge_share=0 leaves no room for the edge layer that"
                                       " use_edges='always' asks for")
        if tol != 0.0 and use != "auto":
            raise InvalidArgumentError(f"{self.name}: option psnr_tolerance={tol!r} applies to use_edges='auto'"
                                       f" only, not use_edges={use!r}")

    @staticmethod
    def _choose(candidates: list, plain: tuple, tolerance_db: float) -> tuple[bytes, bytes]:
        """Keep plain SPIHT unless an edge-layer stream is at most ``tolerance_db`` below it in
        PSNR; among those, the one with the least squared error near the edges.

        Candidates are (params, payload, total squared error, squared error in the edge mask).
        With tolerance 0 this is the pure rate-distortion choice (never below SPIHT).
        """
        limit = plain[2] * 10.0 ** (tolerance_db / 10.0)
        ok = [cand for cand in candidates if cand[2] <= limit and (cand[3] < plain[3] or cand[2] < plain[2])]
        if not ok or not candidates:
            return plain[0], plain[1]
        best = min(ok, key=lambda cand: (cand[3], cand[2]))
        return best[0], best[1]

    def _encode_plain(self, image: ImageSpec, target: EncodeTarget, lossless: bool, spiht_opts: dict, wavelet: str,
                      levels: int, steps: tuple, estimate_error: bool) -> tuple[bytes, bytes, float | None, int]:
        """The plain SPIHT stream behind mode byte 0 (the ``spiht`` codec's own choices), its
        estimated squared error (:func:`wavecodec.coders._bitplane.least_distortion`; None
        without ``estimate_error`` when one step is coded, as the ``spiht`` codec does) and
        the quantiser step it chose."""
        prefix = bytes([MODE_SPIHT])
        plan, result, err = self.coder.encode_plans(image.pixels, _PrefixedTarget(target, prefix).payload_budget,
                                                    lossless=lossless, bit_depth=image.bit_depth, wavelet=wavelet,
                                                    levels=levels, steps=steps, options=spiht_opts,
                                                    estimate_error=estimate_error)
        return prefix + self.coder.pack_plan(plan, lossless), result.payload, err, plan.step

    def _errors(self, image: ImageSpec, stream: tuple, mask: np.ndarray) -> tuple[float, float]:
        """Squared error of a stream's decoded image: everywhere, and inside ``mask``."""
        header = self._header(image, stream[0], len(stream[1]), lossless=False)
        out = self.decode_image(header, stream[1])
        return _squared_errors(out, image.pixels, mask)

    def _header(self, image: ImageSpec, params: bytes, n_payload: int, lossless: bool) -> Header:
        return Header(codec=self.name, height=image.height, width=image.width, channels=image.channels,
                      dtype=image.pixels.dtype, bit_depth=image.bit_depth, lossless=lossless, embedded=True,
                      channel_axis=False, params=params, payload_length=n_payload)

    def _encode_edges(self, image: ImageSpec, target: EncodeTarget, options: Mapping[str, Any], wavelet: str,
                      levels: int, step: int, plain_error: float):
        """Edge-layer streams as (params, payload, estimated squared error), and the edge mask.

        For each share of the payload (``edge_share``, or :data:`SHARES` for ``'auto'``
        -- the first one only above ``SEARCH_MAX_BPP`` -- and :data:`TOLERANCE_SHARES`
        too when ``psnr_tolerance`` is set) the most
        important contours that fit are coded, then SPIHT on the residual with the
        quantiser step of the plain stream.  The mask (all detected contours dilated by
        2 pixels) is computed only for ``psnr_tolerance``, else None.  With ``'auto'`` and
        no tolerance, a larger share is tried only when the candidates so far beat
        ``plain_error`` (the plain stream's estimated squared error).
        """
        pixels = image.pixels
        h, w, c = pixels.shape
        contours = E.detect_contours(pixels, image.bit_depth, sigma=options["sigma"], low=options["low_threshold"],
                                     high=options["high_threshold"], min_length=options["min_length"])
        if contours.count == 0:
            return [], None
        # the residual SPIHT block has a fixed size: measure the budget with a dummy plan
        probe = _EdgePlan("arith", options["spacing"], options["offset"], options["quant_step"], 0)
        dummy = B.BitplanePlan("ac", wavelet, levels, 1 if c == 3 else 0, 0, 0, [0.0] * c)
        try:
            dummy_params = self.coder.pack_plan(dummy, False)
            payload_budget = target.payload_budget(probe.pack() + dummy_params)
        except RateUnreachableError:  # a budget that holds the plain SPIHT header but not this longer one
            return [], None
        if payload_budget is None or payload_budget < 16:
            return [], None
        # the contour-pixel flags only of the contours kept (they cost as much as the levels)
        layer_all = E.sample_contours(pixels, image.bit_depth, contours, spacing=options["spacing"],
                                      offset=options["offset"], step8=options["quant_step"], flags=False)
        entropies = ("huffman", "arith") if options["entropy"] == "auto" else (options["entropy"],)
        bpp = 8.0 * target.max_bytes / (h * w)
        both = bpp <= B.SEARCH_MAX_BPP and (c == 3 or bpp < GRAY_SECOND_SHARE_BPP
                                            or options["psnr_tolerance"] != 0.0)
        shares = (options["edge_share"],) if options["edge_share"] != "auto" \
            else (SHARES if both else SHARES[:1]) \
            + (TOLERANCE_SHARES if options["psnr_tolerance"] != 0.0 else ())
        order = self._importance(layer_all)
        cum = np.cumsum(self._contour_bits(layer_all, c, h, w)[order]) / 8.0
        targets = [(share * payload_budget, int(np.searchsorted(cum, share * payload_budget, side="right")))
                   for share in shares]
        if options["edge_share"] == "auto":
            # low rates: if no share holds a contour, the most important one alone within a larger share
            targets.append((_MIN_CONTOUR_SHARE * payload_budget, 1))
        candidates = []
        tried = set()
        for k, (limit, n_keep) in enumerate(targets):
            if k == len(shares) and candidates:
                break  # the one-contour fallback is only for when no share held a contour
            if options["edge_share"] == "auto" and options["psnr_tolerance"] == 0.0 and candidates \
                    and min(cand[2] for cand in candidates) >= plain_error:
                break  # a larger layer is tried only when the smaller one beat plain SPIHT
            while n_keep > 0:
                keep = np.sort(order[:n_keep])  # coding order: the detection order (longest first)
                layer = layer_all.subset(keep)
                layer.pixel_side = E.contour_flags(pixels, layer)
                symbols = E._symbols(layer)  # shared by the entropy coders tried
                edge_data, entropy = min(((E.encode(layer, c, h, w, e, symbols), e) for e in entropies),
                                         key=lambda t: len(t[0]))
                if len(edge_data) <= limit:
                    break
                n_keep = int(n_keep * min(0.95, limit / len(edge_data)))  # the estimate was low: fewer contours
            if n_keep == 0 or n_keep in tried:
                continue
            tried.add(n_keep)
            with progress_span(k / len(targets), (k + 1) / len(targets)):
                if h * w * c >= B.BIG_IMAGE_SAMPLES:
                    # the freed temporaries of the detection and of the last coding, back to the
                    # system before the residual and its SPIHT coding (the peak; docs/memory.md).
                    # Not for small images: the heap's reuse saves them page faults
                    _trim_heap()
                residual = _residual(pixels, layer)
                # measured with a plan of the ICT's length: the subband KLT's parameter block is longer
                # (``params`` empty: the coder's first estimate, before the block is known)
                plan, result, err = self.coder.encode_plans(
                    residual, lambda params, n=len(edge_data): payload_budget - n
                    - (max(0, len(params) - len(dummy_params)) if params else 0), lossless=False,
                    bit_depth=image.bit_depth, wavelet=wavelet, levels=levels, steps=(step,),
                    options=self.residual_coding_options(h * w * c))
                del residual
            eplan = _EdgePlan(entropy, layer.spacing, layer.offset, options["quant_step"], len(edge_data))
            candidates.append((eplan.pack() + plan.pack(False), edge_data + result.payload, err))
        mask = None
        if options["psnr_tolerance"] != 0.0:
            mask = np.zeros((h, w), dtype=bool)
            mask[contours.ys, contours.xs] = True
            from scipy import ndimage  # imported on use: 0.3-0.6 s of `import wavecodec` otherwise

            mask = ndimage.binary_dilation(mask, np.ones((5, 5), dtype=bool))
        return candidates, mask

    @staticmethod
    def _importance(layer: E.EdgeLayer) -> np.ndarray:
        """Contour indices, most important first: length times mean side contrast."""
        c = layer.contours
        ns = E.n_samples(c.lengths, layer.spacing)
        knot_c = np.repeat(np.arange(c.count), ns)
        contrast = np.abs(layer.levels[:, 0, :].astype(np.float64) - layer.levels[:, 1, :]).sum(axis=1)
        mean_contrast = np.bincount(knot_c, contrast, c.count) / np.maximum(ns, 1)
        score = c.lengths * mean_contrast
        return np.argsort(-score, kind="stable")

    @staticmethod
    def _contour_bits(layer: E.EdgeLayer, n_planes: int, h: int, w: int) -> np.ndarray:
        """Estimated bits of each contour: position and length fields, ~1.3 bits per turn,
        and the empirical entropy of the sample symbols."""
        c = layer.contours
        ns = E.n_samples(c.lengths, layer.spacing)
        zig = E.sample_symbols(layer)
        hist = np.bincount(np.minimum(zig, E._k.ESCAPE), minlength=E._k.N_RES_SYMBOLS).astype(np.float64)
        p = hist / max(hist.sum(), 1.0)
        bits_sym = -np.log2(np.maximum(p, 1e-9))
        sym_bits = bits_sym[np.minimum(zig, E._k.ESCAPE)] + 2.0 * np.log2(np.maximum(zig - E._k.ESCAPE, 0) + 1)
        per_knot = sym_bits.reshape(-1, 2 * n_planes).sum(axis=1)
        knot_c = np.repeat(np.arange(c.count), ns)
        fixed = np.ceil(np.log2(max(h, 2))) + np.ceil(np.log2(max(w, 2))) + 2 * np.log2(c.lengths + 1) + 6
        return fixed + 1.3 * c.lengths + np.bincount(knot_c, per_knot, c.count)

    # ------------------------------------------------------------------ decoder
    def _split(self, header: Header):
        """Parse the parameter block: (mode, edge plan or None, SPIHT header)."""
        if not header.params:
            raise CorruptStreamError(f"{self.name} parameter block is empty")
        mode = header.params[0]
        if mode == MODE_SPIHT:
            return mode, None, dataclasses.replace(header, params=header.params[1:])
        if mode != MODE_EDGES:
            raise CorruptStreamError(f"{self.name} stream has an unknown mode {mode}")
        if header.lossless:
            raise CorruptStreamError(f"{self.name} stream: edge layer in a lossless stream")
        r = ParamReader(header.params[1:9], self.name)
        entropy = {0: "huffman", 1: "arith"}[r.u8("entropy coder", 0, 1)]
        spacing = r.u8("knot spacing", 1, 255)
        offset = r.u8("side offset", 1, 8)
        step8 = r.u8("quantiser step", 1, 255)
        edge_bytes = r.i32("edge-layer length")
        if edge_bytes < 0:
            raise CorruptStreamError(f"{self.name} stream: negative edge-layer length")
        if header.payload_length < edge_bytes:
            raise CorruptStreamError(f"{self.name} stream: edge layer longer than the payload")
        r.end()
        return mode, _EdgePlan(entropy, spacing, offset, step8, edge_bytes), dataclasses.replace(header, params=header.params[9:])

    def decode_image(self, header: Header, payload: bytes, reduce: int = 0) -> np.ndarray:
        """The image, or with ``reduce=k`` the image at ``1/2**k`` of each side: the residual
        through SPIHT's reduced inverse, the edge layer's base image averaged over
        ``2**k x 2**k`` blocks (it is inpainted at full size)."""
        mode, eplan, sheader = self._split(header)
        if mode == MODE_SPIHT:
            return self.coder.decode_image(sheader, payload, reduce)
        plan = self.coder.read_plan(sheader)  # in gray, the ICT or (ecbp) the subband KLT
        h, w, c = header.height, header.width, header.channels
        step, n_levels = E.quant_params(eplan.step8, header.bit_depth)
        layer = E.decode(payload[: eplan.edge_bytes], h=h, w=w, n_planes=c, entropy=eplan.entropy,
                         spacing=eplan.spacing, offset=eplan.offset, step=step, n_levels=n_levels)
        # (with no residual bytes at all this still adds the residual's plane means)
        rheader = Header(codec=self.coder.name, height=h, width=w, channels=c, dtype=header.dtype,
                         bit_depth=header.bit_depth, lossless=False, embedded=True, channel_axis=False, params=b"",
                         payload_length=len(payload) - eplan.edge_bytes)
        if reduce:
            # the reduced base image once the residual's coefficients are decoded (a corner of them,
            # the decoder's full-size memory freed), not beside that memory
            return self.coder.decode_plan(plan, payload[eplan.edge_bytes:], rheader, reduce,
                                      add_to=lambda: E.base_image_reduced(layer, h, w, c, reduce))
        rgb_planes = plan.colour == B.COLOUR_SKLT  # (the encoder writes those only below NARROW_MIN_SAMPLES)
        if h * w * c >= NARROW_MIN_SAMPLES and not rgb_planes:
            return _decode_narrowed(payload[eplan.edge_bytes:], plan, rheader, layer, header, coder=self.coder)[0]
        # full size: the residual's planes first, then the base image band by band (never whole),
        # added, rounded and clipped by blocks of rows into the output
        with mapped_span(0.0, 0.8, B.CoderProgress(), "residual"):  # the SPIHT decoder attaches its coder
            planes = _residual_planes(payload[eplan.edge_bytes:], plan, rheader, coder=self.coder)
        out = np.empty((h, w, c), dtype=header.dtype)
        maxval = (1 << header.bit_depth) - 1
        rows = max(1, _BLOCK_SAMPLES // (w * c))
        for r0, r1, base in E.base_bands(layer, h, w, c):
            report_progress(0.8 + 0.2 * r0 / h, "edge layer")
            for a in range(r0, r1, rows):
                b = min(r1, a + rows)
                if c == 3 and not rgb_planes:
                    block = T.ict_inverse(np.stack([p[a:b] for p in planes]))
                else:
                    block = np.stack([p[a:b] for p in planes], axis=-1)
                block = base[a - r0 : b - r0] + block
                np.rint(block, out=block)
                np.clip(block, 0, maxval, out=block)
                out[a:b] = block
        return out

    def residual_coding_options(self, n_samples: int) -> Mapping[str, Any]:
        """The coder's options for the residual of an image of ``n_samples`` samples."""
        return self.residual_options

    def describe(self, header: Header) -> dict[str, Any]:
        mode, eplan, sheader = self._split(header)
        label = self.coder.name  # "spiht", "edges+spiht"
        info = {"mode": label if mode == MODE_SPIHT else f"edges+{label}"}
        if eplan is not None:
            info.update(edge_entropy=eplan.entropy, edge_layer_bytes=eplan.edge_bytes, knot_spacing=eplan.spacing,
                        side_offset=eplan.offset, side_quantiser_step=eplan.step8)
        info.update(self.coder.describe(sheader))  # of the residual in edge mode
        return info


register(CannySpihtCodec())
