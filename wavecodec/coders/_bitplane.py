"""The bit-plane codec framework: SPIHT, EZW and IMP1EZW (and canny-spiht's residual).

One policy layer for every coder of integer bit-planes in tree layout:

* the front end: colour and wavelet transforms, the quantisation of the
  coefficients into signed integers (with the quantiser-step candidates the
  encoders search), the choice of the least-distortion candidate, the inverse path;
* :class:`BitplanePlan`, the parameter block every such codec stores (variant,
  codec-specific mode bytes, transform, top bit-plane, offsets, reconstruction
  points, quantiser step), packed and checked once;
* :func:`run_encoder` (the one buffer-growth loop around an encoding kernel) and
  :func:`start_decoder`;
* :class:`BitplaneCodec`, the codec class: ``encode_image``, ``decode_image`` and
  ``describe`` once.  A codec is a declaration: its name, options, mode fields,
  and the two methods that run its kernel on coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from .. import transform as T
from .._container import Header, ParamReader, ParamWriter
from .._kernels import arith as _ac
from .._kernels import coefficients as _coef
from .._kernels import pages as _pages
from .._progress import current_mapping, mapped_span, report_progress
from .._registry import Codec, EncodeTarget, ImageSpec, Option
from ..errors import CorruptStreamError, InvalidArgumentError, RateUnreachableError
from . import _subband_klt as _sklt
from ._options import check_levels_option, check_wavelet_option

COLOUR_NONE, COLOUR_ICT, COLOUR_RCT, COLOUR_SKLT = 0, 1, 2, 3
#: the ``colour`` option's values (lossy colour images) and their colour-transform codes
COLOUR_TRANSFORMS = {"ict": COLOUR_ICT, "subband-klt": COLOUR_SKLT}
COLOUR_NAMES = {COLOUR_NONE: None, COLOUR_ICT: "ICT", COLOUR_RCT: "RCT", COLOUR_SKLT: "subband KLT"}
MAX_PLANE = 30  # int32 magnitudes
N_STEPS = 4  # quantiser steps 2**(-k/4), k = 0..3, searched by the encoder
SEARCH_MAX_BPP = 0.3  # step_search="auto" searches up to this rate (cheap there, and it pays most)
#: images of at least this many samples (16 MiB of float64 coefficients) run the front end once per
#: searched step when their codec's ``search_recomputes`` says so; smaller ones hold the coefficients
#: (at 768x512 the extra front ends cost 17% of a gray encode at 0.25 bpp and 27% of a colour one)
SEARCH_RECOMPUTE_MIN_SAMPLES = 1 << 21
#: images of at least this many samples keep their coders' big lists in memory maps of their own
#: (SPIHT's LIP and LIS, :func:`wavecodec._kernels.pages.list_buffer`), whose unused pages go back
#: to the system between passes; smaller ones in ordinary arrays, which the allocator reuses from
#: call to call without page faults (kodim01 at 0.1 bpp decoded in 1.1-1.6x the time with mapped lists)
BIG_IMAGE_SAMPLES = 1 << 21
MAX_PAD = 16  # padded tree layout: at most this many times the image area (+1 Mi)


@dataclass
class Quantised:
    """What :func:`forward_coefficients` did to one candidate: the codecs' parameter blocks store it."""

    colour: int  # COLOUR_NONE, COLOUR_ICT, COLOUR_RCT or COLOUR_SKLT
    frac_bits: int
    n_max: int  # top bit-plane, -1 if all coefficients are 0
    offsets: list  # per-plane mean removed before the transform (float lossy, int lossless)
    step: int = 0  # quantiser step 2**(-step/4) (0 = the plain bit-planes)
    rotations: tuple = ()  # COLOUR_SKLT: the stored quaternion of each group (:mod:`._subband_klt`)
    #: :func:`coefficient_energy` of the quantised coefficients when :func:`forward_coefficients` was
    #: asked for it (``energy=True``: computed in the quantisation's pass), else None
    energy: float | None = None


def read_transform_fields(r: ParamReader, header: Header, name: str,
                          colours: tuple[int, ...] = (COLOUR_ICT,)) -> tuple[str, int, int]:
    """Read and check the wavelet, level count and colour transform of a bit-plane codec's block.

    Shared by SPIHT, EZW and IMP1EZW: the wavelet must be known, the padded tree
    layout bounded, the colour transform must match the channel count, and the
    lossless flag must go with the reversible transforms (and only with them).
    ``colours``: the lossy colour transforms the codec implements.
    """
    wavelet = r.text("wavelet")
    try:
        wavelet = T.check_wavelet(wavelet)
    except InvalidArgumentError:
        raise CorruptStreamError(f"{name} stream names an unknown wavelet {wavelet!r}") from None
    levels = r.u8("levels", 0, T.MAX_LEVELS)
    try:
        check_padding(levels, header.height, header.width)
    except InvalidArgumentError as exc:
        raise CorruptStreamError(f"{name} stream: {exc}") from None
    colour = r.u8("colour transform", 0, COLOUR_SKLT)
    if colour == COLOUR_SKLT and colour not in colours:
        raise CorruptStreamError(f"{name} stream: colour transform {colour} is not one of this codec's")
    if (colour != COLOUR_NONE) != (header.channels == 3):
        raise CorruptStreamError(f"{name} stream: colour transform does not match the channel count")
    if header.lossless and (wavelet != "legall53" or colour in (COLOUR_ICT, COLOUR_SKLT)):
        raise CorruptStreamError(f"{name} stream: lossless flag with an irreversible transform")
    if not header.lossless and (colour == COLOUR_RCT or wavelet == "legall53"):
        raise CorruptStreamError(f"{name} stream: reversible transform in a lossy stream")
    return wavelet, levels, colour


def check_padding(levels: int, height: int, width: int) -> int:
    """Validate ``levels`` and bound the zero-padded tree layout it implies.

    The tree layout pads each side to a multiple of ``2**(levels+1)``; for thin
    images and many levels that area could dwarf the image (and a corrupt header
    could ask for gigabytes), so the padded area may be at most 16x the image plus
    1 Mi samples (enough for the deepest pyramid of any reasonably shaped image).
    """
    levels = T.check_levels(levels, height, width)
    hp, wp = T.padded_shape(height, width, levels)
    if hp * wp > MAX_PAD * height * width + (1 << 20):
        fit = levels
        while fit > 0:
            fit -= 1
            a, b = T.padded_shape(height, width, fit)
            if a * b <= MAX_PAD * height * width + (1 << 20):
                break
        raise InvalidArgumentError(
            f"levels={levels} would pad the {height}x{width} image to {hp}x{wp} coefficients;"
            f" use levels <= {fit}"
        )
    return levels


def level_maps(hp: int, wp: int, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Decomposition level of every row and column of the tree layout (levels+1 = LL slot)."""

    def axis(n: int) -> np.ndarray:
        lev = np.full(n, levels + 1, dtype=np.int64)
        for k in range(1, levels + 1):
            lev[n >> k : n >> (k - 1)] = k
        return lev

    return axis(hp), axis(wp)


def chroma_weights(colour: int) -> np.ndarray:
    """Scale of each plane before quantisation: sqrt of the plane's synthesis gain to RGB, Y = 1.

    The subband KLT's planes are orthonormal rotations of RGB: an error ``e`` in one
    adds ``e**2 / 3`` to the mean squared error over the three channels, where the
    ICT's Y adds ``e**2`` (:func:`wavecodec.transform.ict_synthesis_gains`)."""
    if colour == COLOUR_SKLT:
        return np.full(3, np.sqrt(1.0 / 3.0))
    if colour != COLOUR_ICT:
        return np.ones(3)
    g = T.ict_synthesis_gains()
    return np.sqrt(g / g[0])


def frac_bits_for(bit_depth: int, levels: int) -> int:
    """Fractional bits kept below the integer part of the (L2-normalised) lossy coefficients.

    Two bits put the finest quantiser step at 1/4 of a sample value, so the
    default "full quality" stream is nearly lossless; fewer when needed to keep
    magnitudes within int32 (the LL gain is 2**levels).
    """
    return int(np.clip(MAX_PLANE - 1 - bit_depth - levels, 0, 2))


_CHUNK = 1 << 18  # samples per block of the element-wise passes (2 MiB float64 temporaries)


def _block_rows(width: int) -> int:
    """Rows per block of the colour transforms: about ``_CHUNK`` samples (3 per pixel)."""
    return max(1, _CHUNK // (3 * width))


def _blocks(n: int):
    """``(start, stop)`` of consecutive blocks of at most ``_CHUNK`` samples covering ``range(n)``."""
    return ((a, min(a + _CHUNK, n)) for a in range(0, n, _CHUNK))


def _weighted_coefficients(pixels: np.ndarray, *, wavelet: str, levels: int,
                           colour_transform: str = "ict") -> tuple[np.ndarray, list, int, tuple]:
    """Lossy front end: ``(base, offsets, colour, rotations)``.

    ``base`` is a 1-D float64 array owning ``C * hp * wp`` samples: the coefficients
    in tree layout (C, hp, wp), each scaled by its synthesis weight and its plane's
    chroma weight; ``offsets`` are the plane means removed first.  Memory: when the
    tree layout is the compact layout (no padding) and the wavelet is a lifting
    one, each plane is transformed in place inside ``base``, so the whole front end
    needs ``base`` (8 bytes per sample) and block-sized temporaries; the colour
    transform and the weighting run by blocks of rows and by bands.  (Same
    arithmetic, element for element, as transforming whole planes.)

    ``colour_transform="subband-klt"`` (colour): the RGB planes are transformed and
    weighted, then each group of levels is rotated into its principal axes
    (:mod:`._subband_klt`; ``rotations`` are the stored quaternions), and every
    plane gets the chroma weight of an orthonormal plane.
    """
    h, w, c = pixels.shape
    hp, wp = T.padded_shape(h, w, levels)
    colour = COLOUR_NONE if c == 1 else COLOUR_TRANSFORMS[colour_transform]
    base = np.empty(c * hp * wp)
    x = base.reshape(c, hp, wp)
    in_place = wavelet in T.LIFTING_WAVELETS and (hp, wp) == (h, w)
    planes = x if in_place else np.empty((c, h, w))
    if colour == COLOUR_ICT:
        rows = _block_rows(w)
        for r0 in range(0, h, rows):
            planes[:, r0 : r0 + rows] = T.ict_forward(pixels[r0 : r0 + rows])
    elif colour == COLOUR_SKLT:
        for k in range(3):
            planes[k] = pixels[:, :, k]
    else:
        planes[0] = pixels[:, :, 0]
    offsets = []
    table = T.synthesis_weight_table(wavelet, levels)
    weights = chroma_weights(colour)
    for k in range(c):
        p = planes[k]
        m = float(np.float32(p.mean()))
        offsets.append(m)
        p -= m
        if in_place:
            T.forward_compact(p, wavelet=wavelet, levels=levels, overwrite_input=True)
        else:
            x[k] = T.forward(p, wavelet=wavelet, levels=levels)
        for r, r0, r1 in T.level_ranges(hp, levels):
            for cc, c0, c1 in T.level_ranges(wp, levels):
                x[k, r0:r1, c0:c1] *= table[r, cc]
        if weights[k] != 1.0 and colour != COLOUR_SKLT:  # (gray and luma: no pass over the plane for nothing)
            x[k] *= weights[k]
    rotations = ()
    if colour == COLOUR_SKLT:
        rowlev, collev = level_maps(hp, wp, levels)
        rotations = _sklt.fit(x, rowlev, collev)
        _sklt.rotate(x, rowlev, collev, rotations, inverse=False)
        x *= weights[0]
    return base, offsets, colour, rotations


def _quantise(x: np.ndarray, factor: float, out: np.ndarray, *, energy: bool = False) -> tuple[int, float | None]:
    """``out = trunc(x * factor)`` as int32, block by block (1-D arrays); returns ``max |out|``
    and, with ``energy``, :func:`coefficient_energy` of ``out`` (else None), from the same pass
    (:func:`wavecodec._kernels.coefficients.quantise_block`; each block's energy is summed by
    NumPy, as :func:`coefficient_energy` sums it, so the values are the same bit for bit).

    ``out`` may be the int32 view of ``x``'s own memory (its first half): block
    ``[a, b)`` is read into a temporary before it is written, and writing it
    touches only samples of ``x`` below ``b``.
    """
    top, total = 0, 0.0
    scratch = np.empty(min(_CHUNK, x.size))
    limit = float(1 << MAX_PLANE)
    for a, b in _blocks(x.size):
        m = _coef.quantise_block(x, a, b, float(factor), out, scratch, energy, limit)
        if m >= limit:
            raise InvalidArgumentError("coefficient magnitudes exceed the 30-bit range; use fewer levels")
        top = max(top, int(m))
        if energy:
            total += float(scratch[: b - a].sum())
    return top, (total if energy else None)


def _lossless_coefficients(pixels: np.ndarray, *, levels: int, bit_depth: int) -> tuple[np.ndarray, list, int]:
    """Lossless front end: int32 coefficients (C, hp, wp) of the RCT and the integer 5/3, the plane means
    removed first, and the colour transform."""
    h, w, c = pixels.shape
    hp, wp = T.padded_shape(h, w, levels)
    colour = COLOUR_RCT if c == 3 else COLOUR_NONE
    planes = T.rct_forward(pixels) if c == 3 else pixels.transpose(2, 0, 1)
    q = np.empty((c, hp, wp), dtype=np.int32)
    offsets = []
    for k in range(c):
        m = int(np.round(planes[k].mean()))
        offsets.append(m)
        try:
            if (hp, wp) == (h, w):
                q[k] = planes[k]
                q[k] -= m
                T.forward_compact(q[k], wavelet="legall53", levels=levels, overwrite_input=True)
            else:
                q[k] = T.forward((planes[k].astype(np.int64) - m).astype(np.int32), wavelet="legall53", levels=levels)
        except InvalidArgumentError as exc:
            # the integer 5/3 keeps every intermediate in int32 only up to a data range
            # that shrinks with the number of levels
            raise InvalidArgumentError(
                f"lossless coding of this {bit_depth}-bit image cannot use levels={levels} ({exc});"
                " choose fewer levels"
            ) from None
    return q, offsets, colour


def forward_coefficients(
    pixels: np.ndarray, *, lossless: bool, wavelet: str, levels: int, bit_depth: int, steps: tuple = (0,),
    colour_transform: str = "ict", recompute: bool = False, energy: bool = False,
) -> Iterator[tuple[np.ndarray, Quantised]]:
    """Pixels (H, W, C) -> signed int32 coefficients (C, hp, wp) in tree layout, and how.

    Yields one ``(q, quantised)`` pair per quantiser step in ``steps`` (``2**(-step/4)``;
    the transform runs once), lazily: with several steps ``q`` is one buffer that
    the next step overwrites, so use each pair before asking for the next.  With
    one step the float64 coefficients are quantised in place and their memory
    shrunk to the int32 result (peak 8 bytes per sample, then 4).

    ``recompute`` (several steps): instead of holding the float64 coefficients (8 bytes
    per sample) beside each step's int32 ones through the caller's use of them, run the
    front end again for each step (the same coefficients, bit for bit) and quantise it
    in place as with one step; each ``q`` is then a new array, which the caller should
    drop before asking for the next (:func:`least_distortion` does).

    ``energy``: each lossy candidate's :attr:`Quantised.energy` is computed in the quantisation's
    pass (what :func:`least_distortion` needs, without a pass of its own).
    """
    h, w, c = pixels.shape
    hp, wp = T.padded_shape(h, w, levels)
    if lossless:
        q, offsets, colour = _lossless_coefficients(pixels, levels=levels, bit_depth=bit_depth)
        flat = q.reshape(-1)
        top = max((int(max(flat[a:b].max(), -flat[a:b].min())) for a, b in _blocks(flat.size)), default=0)
        if top >= 1 << MAX_PLANE:
            raise InvalidArgumentError("coefficient magnitudes exceed the 30-bit range; use fewer levels")
        yield q, Quantised(colour, 0, top.bit_length() - 1, offsets, step=0)
        return
    base, offsets, colour, rotations = _weighted_coefficients(pixels, wavelet=wavelet, levels=levels,
                                                              colour_transform=colour_transform)
    frac = frac_bits_for(bit_depth, levels)
    n = base.size
    if len(steps) == 1 or recompute:
        for k, s in enumerate(steps):
            if k > 0:
                base, offsets, colour, rotations = _weighted_coefficients(pixels, wavelet=wavelet, levels=levels,
                                                                          colour_transform=colour_transform)
            top, total = _quantise(base, step_scale(s) * (1 << frac), base.view(np.int32)[:n], energy=energy)
            if n % 2 == 0:
                try:
                    base.resize(n // 2)  # realloc: keep the int32 half, give the rest back
                except ValueError:  # another reference to ``base`` (a debugger, a tracer): keep it whole
                    pass
            q = base.view(np.int32)[:n].reshape(c, hp, wp)
            del base
            yield q, Quantised(colour, frac, top.bit_length() - 1, offsets, step=s, rotations=rotations, energy=total)
            del q
        return
    q = np.empty((c, hp, wp), dtype=np.int32)
    for s in steps:
        top, total = _quantise(base, step_scale(s) * (1 << frac), q.reshape(-1), energy=energy)
        yield q, Quantised(colour, frac, top.bit_length() - 1, offsets, step=s, rotations=rotations, energy=total)


def _int32_in_place(values: np.ndarray) -> np.ndarray:
    """Integer-valued float64 ``values`` (C-contiguous) as int32, written block by block into the
    first half of their own memory (each block is read before it is written); returns that int32 view."""
    flat = values.reshape(-1)
    out = flat.view(np.int32)[: flat.size]
    for a, b in _blocks(flat.size):
        out[a:b] = flat[a:b].astype(np.int32)
    return out.reshape(values.shape)


def coefficient_energy(q: np.ndarray) -> float:
    """``sum (|q| + 0.5)**2`` over the non-zero coefficients (their truncation-interval centres), by blocks."""
    flat = q.reshape(-1)
    total = 0.0
    for a, b in _blocks(flat.size):
        block = flat[a:b]
        e = np.abs(block) + 0.5 * (block != 0)
        e *= e
        total += float(e.sum())
    return total


def resolve_transform(codec: str, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                      options: Mapping[str, Any]) -> tuple[str, int, tuple]:
    """The wavelet, the number of levels and the quantiser steps to try, from a codec's options.

    Shared by the bit-plane codecs (options ``wavelet``, ``levels``, ``step_search``):
    ``'auto'`` picks the 5/3 for lossless and the 9/7 otherwise; the steps are all
    ``N_STEPS`` when the search applies (``'always'``, or ``'auto'`` with a budget of
    at most ``SEARCH_MAX_BPP``), else only the plain bit-planes.
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
    levels = T.default_levels(h, w) if levels is None else check_padding(levels, h, w)
    search = options.get("step_search", "never")
    budget_bpp = None if target.max_bytes is None else 8.0 * target.max_bytes / (h * w)
    if not lossless and (search == "always" or (search == "auto" and budget_bpp is not None
                                                and budget_bpp <= SEARCH_MAX_BPP)):
        return wavelet, levels, tuple(range(N_STEPS))
    return wavelet, levels, (0,)


def least_distortion(candidates: Iterable, code: Callable, *, estimate_error: bool = True) -> tuple:
    """Code every ``(q, quantised)`` candidate with ``code(q, quantised) -> (plan, result)``
    and keep the best: (plan, result, squared error).

    The best is the one whose decoded coefficients have the least squared error,
    estimated from ``result.reduction`` without decoding and taken back to the
    unscaled domain (quantiser step and fractional bits).  ``estimate_error=False``
    (one candidate, and the caller needs no error): the first candidate, error None.
    """
    best = None
    for q, quantised in candidates:
        plan, result = code(q, quantised)
        if not estimate_error:
            return plan, result, None
        scale = step_scale(plan.step) * (1 << plan.frac_bits)
        energy = coefficient_energy(q) if quantised.energy is None else quantised.energy
        error = (energy - result.reduction) / (scale * scale)
        if best is None or error < best[2]:
            best = (plan, result, error)
        del q  # (the next candidate may be a new array: forward_coefficients(recompute=True))
    return best


def step_scale(step: int) -> float:
    """Scale applied to the coefficients for quantiser step ``step`` (``2**(-step/4)``)."""
    return 2.0 ** (-step / 4.0)


def inverse_coefficients(coeffs: np.ndarray, plan: Any, header: Header, reduce: int = 0, *,
                         rounded: bool = True, add_to: np.ndarray | None = None) -> np.ndarray:
    """Reconstructed (unweighted) coefficients (C, hp, wp) -> pixels (H, W, C) of the header's dtype
    (``plan``: a codec's parameter block with ``wavelet``, ``levels`` and ``offsets``).

    ``reduce=k``: the image at ``1/2**k`` of each side (:func:`wavecodec.transform.reduced_shape`).
    With ``r = min(k, levels)``, the inverse transform runs only the ``levels - r``
    coarsest levels, on the top-left ``(hp >> r, wp >> r)`` corner of the tree
    layout, which is all ``coeffs`` needs to hold (the full layout is accepted
    too); the colour transform, rounding and clipping run at the reduced size,
    and ``k > levels`` averages the coarsest image over ``2**(k - levels)`` blocks.
    ``rounded=False`` (lossy only): the float64 image before rounding and clipping.
    ``add_to`` (lossy only): a float64 image of the output's shape that this image is
    added to before rounding and clipping (canny-spiht's base image), by blocks of
    rows, without a float64 copy of either.
    Shared by every bit-plane codec (:meth:`BitplaneCodec.decode_plan`, the zerotree codecs).
    """
    h, w, c = header.height, header.width, header.channels
    maxval = (1 << header.bit_depth) - 1
    r = min(int(reduce), plan.levels)
    extra = int(reduce) - r
    rgb_planes = plan.colour == COLOUR_SKLT
    if rgb_planes:  # back from each group's principal axes to RGB, before the inverse wavelet transform
        rowlev, collev = level_maps(*T.padded_shape(h, w, plan.levels), plan.levels)
        _sklt.rotate(coeffs, rowlev, collev, plan.rotations, inverse=True)
    if r:
        hp, wp = T.padded_shape(h, w, plan.levels)
        coeffs = coeffs[:, : hp >> r, : wp >> r]  # the bands of level > r (a view)
    if header.lossless:
        if (r == 0 and not extra and coeffs.dtype in (np.float64, np.int32) and coeffs.flags.c_contiguous
                and coeffs.flags.writeable and coeffs.shape[1:] == (h, w)):
            # in place: the integer coefficients (the decoders' int32 memory, or written into
            # the first half of a float64 array's), the inverse 5/3 there, then the offsets,
            # the inverse RCT, clipping and the cast by blocks of rows into the output (the
            # same arithmetic per sample)
            q = coeffs if coeffs.dtype == np.int32 else _int32_in_place(coeffs)
            planes = [T.inverse(q[k], shape=(h, w), wavelet=plan.wavelet, levels=plan.levels, overwrite_input=True)
                      for k in range(c)]
            out = np.empty((h, w, c), dtype=header.dtype)
            rows = _block_rows(w)
            for r0 in range(0, h, rows):
                block = [p[r0 : r0 + rows].astype(np.int64) + plan.offsets[k] for k, p in enumerate(planes)]
                rgb = T.rct_inverse(np.stack(block)) if c == 3 else block[0][:, :, None]
                out[r0 : r0 + rows] = np.clip(rgb, 0, maxval)
            return out
        planes = [
            T.inverse(coeffs[k].astype(np.int32), shape=(h, w), wavelet=plan.wavelet, levels=plan.levels,
                      reduce=r).astype(np.int64)
            + plan.offsets[k]
            for k in range(c)
        ]
        img = T.rct_inverse(np.stack(planes)) if c == 3 else planes[0][:, :, None]
        if extra:
            img = np.rint(T.block_mean(img, extra))
        return np.clip(img, 0, maxval).astype(header.dtype)
    planes = [T.inverse(coeffs[k], shape=(h, w), wavelet=plan.wavelet, levels=plan.levels, overwrite_input=True,
                        reduce=r)
              for k in range(c)]
    for k in range(c):
        planes[k] += plan.offsets[k]
    if (c == 3 or add_to is not None) and rounded and not extra:
        # the inverse ICT, the addition, rounding and clipping by blocks of rows, straight
        # into the output: no float64 RGB image beside the planes (same arithmetic per sample)
        hr, wr = planes[0].shape
        out = np.empty((hr, wr, c), dtype=header.dtype)
        rows = _block_rows(wr)
        for r0 in range(0, hr, rows):
            if rgb_planes:
                block = np.stack([p[r0 : r0 + rows] for p in planes], axis=-1)
            elif c == 3:
                block = T.ict_inverse(np.stack([p[r0 : r0 + rows] for p in planes]))
            else:
                block = planes[0][r0 : r0 + rows, :, None]
            block = add_to[r0 : r0 + rows] + block if add_to is not None else block
            np.rint(block, out=block)
            np.clip(block, 0, maxval, out=block)
            out[r0 : r0 + rows] = block
        return out
    if rgb_planes:
        img = np.stack(planes, axis=-1)
    else:
        img = T.ict_inverse(np.stack(planes)) if c == 3 else planes[0][:, :, None]
    if extra:
        img = T.block_mean(img, extra)
    if add_to is not None:
        img = add_to + img
    if not rounded:
        return img
    np.rint(img, out=img)
    np.clip(img, 0, maxval, out=img)
    return img.astype(header.dtype)


@dataclass
class CoefficientWeights:
    """The weight of every coefficient of the tree layout, without a per-coefficient array:
    ``table[rowlev[i], collev[j]]`` (:func:`wavecodec.transform.synthesis_weight_table`, or
    ones for lossless streams) with the level maps of :func:`level_maps`."""

    table: np.ndarray
    rowlev: np.ndarray
    collev: np.ndarray

    @classmethod
    def for_stream(cls, plan: Any, header: Header, hp: int, wp: int) -> "CoefficientWeights":
        rowlev, collev = level_maps(hp, wp, plan.levels)
        if header.lossless:
            table = np.ones((plan.levels + 2, plan.levels + 2))
        else:
            table = T.synthesis_weight_table(plan.wavelet, plan.levels)
        return cls(table, rowlev, collev)


def coefficient_buffer(shape: tuple[int, int, int], *, integer: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A decoder's working memory: ``(values, codes)``, a zero-filled float64 array of ``shape`` and
    the int32 array of the same shape in the first half of its memory.

    The decoder builds its coefficient codes in ``codes`` and expands them in place
    into ``values`` (:func:`wavecodec._kernels.coefficients.expand_codes`): 8 bytes
    per coefficient in all, and pages that decoding never reaches stay unallocated.
    ``integer`` (lossless streams): one zero-filled int32 array, both ``values`` and
    ``codes``, 4 bytes per coefficient; the codes become the integer coefficients in
    place (:func:`~wavecodec._kernels.coefficients.expand_integer_codes`) and the
    inverse 5/3 runs there (:func:`inverse_coefficients`).
    """
    n = int(np.prod(shape))
    if integer:
        codes = np.zeros(shape, dtype=np.int32)
        return codes, codes
    # a big one in a memory map of its own, whose pages a caller can give back as it is done
    # with them (canny-spiht's narrowed residual, :func:`wavecodec._kernels.pages.release_span`)
    values = _pages.zeroed_buffer(n, np.float64, huge=True) if n >= BIG_IMAGE_SAMPLES else np.zeros(n)
    codes = values.view(np.int32)[:n].reshape(shape)
    return values.reshape(shape), codes


def payload_area(values: np.ndarray) -> np.ndarray | None:
    """The bytes of a decoder's working memory (:func:`coefficient_buffer`) that decoding never
    touches, as uint8: the second half of the float64 array (the int32 codes fill the first);
    None for the int32 memory of lossless streams, which has none.

    :func:`start_decoder` copies the payload there (the kernels read a writable array)
    instead of into a new array: a new one would be freed before the inverse transform
    but kept by the allocator, one more payload's worth of memory at the peak.  Nothing
    reads it after decoding: expanding the codes overwrites it.
    """
    if values.dtype != np.float64:
        return None
    flat = values.reshape(-1)
    return flat.view(np.uint8)[4 * flat.size:]


def expand(values: np.ndarray, codes: np.ndarray, *, integer: bool, frac_bits: int, recon: tuple,
           weights: CoefficientWeights | None, plane_weight: np.ndarray | None,
           window: tuple[int, int] | None = None) -> np.ndarray:
    """Coefficient values from a decoder's codes (:func:`coefficient_buffer`): in place in ``values``,
    or, with ``window=(rows, cols)``, a new array of that top-left corner.  The int32 memory of
    lossless streams (``coefficient_buffer(integer=True)``) gives int32 coefficients: their
    weights are all 1 (lossless streams have neither synthesis weights, chroma weights nor a
    quantiser step), so they are the float64 path's values, truncated as
    :func:`inverse_coefficients` truncates those."""
    nc, hp, wp = codes.shape
    if values.dtype == np.int32:
        out = values if window is None else np.empty((nc,) + tuple(window), dtype=np.int32)
        _coef.expand_integer_codes(codes, out, frac_bits)
        return out
    if weights is None:
        weights = CoefficientWeights(np.ones((1, 1)), np.zeros(hp, dtype=np.int64), np.zeros(wp, dtype=np.int64))
    if plane_weight is None:
        plane_weight = np.ones(nc)
    out = values if window is None else np.empty((nc,) + tuple(window))
    _coef.expand_codes(codes, out, weights.table, weights.rowlev, weights.collev,
                       np.ascontiguousarray(plane_weight, dtype=np.float64), frac_bits, integer,
                       recon[0] / 256.0, recon[1] / 256.0)
    return out


def decode_reduced(decode: Callable, plan: Any, header: Header, reduce: int = 0, *, windowed: bool = False,
                   rounded: bool = True, add_to: np.ndarray | Callable[[], np.ndarray] | None = None,
                   payload_bytes: int | None = None) -> np.ndarray:
    """Pixels at ``1/2**reduce`` of each side from a bit-plane decoder: the shared decode path.

    ``decode(shape, weights, plane_weight, window)`` runs a codec's kernel on the
    full tree layout ``shape`` (C, hp, wp) (every bit must be parsed: the stream
    interleaves the levels) and returns float64 coefficients, divided by their
    :class:`CoefficientWeights` ``weights`` and ``plane_weight``.  With ``windowed``
    (the codec can reconstruct only a corner) it gets ``window = (hp >> r, wp >> r)``
    for ``r = min(reduce, levels)`` and returns that corner; otherwise ``window``
    is None and it returns the full layout.  Then :func:`inverse_coefficients` with ``reduce``.
    ``payload_bytes`` (the bytes present, default the header's payload length) sizes the
    decoding's share of the :func:`wavecodec.progress` fractions.  ``add_to`` may be a function
    that makes the image to add: it is called after the decoder has returned its coefficients
    (a windowed decoder's corner, its full-size memory freed), so that what it allocates does
    not add to the decoder's peak (canny-spiht's reduced base image).
    """
    h, w, c = header.height, header.width, header.channels
    hp, wp = T.padded_shape(h, w, plan.levels)
    r = min(int(reduce), plan.levels)
    window = (hp >> r, wp >> r) if windowed and r else None
    weights = CoefficientWeights.for_stream(plan, header, hp, wp)
    plane_weight = chroma_weights(plan.colour)[:c] * step_scale(plan.step)
    coding_ns = _coding_ns(c * hp * wp, header.payload_length if payload_bytes is None else payload_bytes)
    coding = coding_ns / (coding_ns + INVERSE_NS * c * (hp >> r) * (wp >> r))
    with mapped_span(0.0, coding, CoderProgress(), "decoding"):  # start_decoder attaches the coder
        coeffs = decode((c, hp, wp), weights, plane_weight, window)
    if callable(add_to):
        add_to = add_to()
    with mapped_span(coding, 1.0, None, "inverse transform"):
        return inverse_coefficients(coeffs, plan, header, reduce, rounded=rounded, add_to=add_to)


# --------------------------------------------------------------------------- the codec framework

#: The entropy-coding variants of every bit-plane codec: ``"ac"`` (context-modelled
#: arithmetic coding) and ``"plain"`` (the papers' raw bits; SPIHT's ``"binary"``
#: is accepted as the same word).
VARIANTS = ("ac", "plain")
VARIANT_ALIASES = {"binary": "plain"}
_VARIANT_CODE = {"plain": 0, "ac": 1}
#: The variant byte of an arithmetic-coded stream whose context models start from the codec's second
#: table of trained priors (``ecbp``'s lossy streams from 2026-11-27, :mod:`._ecbp_priors`); byte 1 is
#: the first table.  A codec lists the tables it has in :attr:`BitplaneCodec.context_models`.
_AC_SECOND_MODELS = 2


def variant_option(plain_doc: str) -> Option:
    """The ``variant`` option of a bit-plane codec (``plain_doc``: what its raw bits are)."""
    return Option("variant", "ac", "'ac': context-modelled arithmetic coding; 'plain' (or 'binary'): " + plain_doc,
                  VARIANTS, aliases=VARIANT_ALIASES)


def common_options(*, midpoint_doc: str = "centre of the uncertainty interval (the paper)") -> tuple[Option, ...]:
    """The transform, quantiser and reconstruction options every bit-plane codec has."""
    return (
        Option("wavelet", "auto",
               "'auto' (cdf97 lossy, legall53 lossless), 'cdf97', 'legall53' or any PyWavelets name (periodization)",
               check=check_wavelet_option),
        Option("levels", None, "decomposition levels; None picks from the image size (6 for 768x512)",
               check=check_levels_option),
        Option("step_search", "auto",
               "'always': the encoder codes with 4 quantiser steps 2**(-k/4) and keeps the one with the least"
               " distortion at the budget (1 header byte); 'never': plain bit-planes (the paper);"
               f" 'auto': search when a budget of at most {SEARCH_MAX_BPP} bpp is given",
               ("auto", "always", "never")),
        Option("reconstruction", "optimized",
               f"'midpoint': {midpoint_doc}; 'optimized': encoder-measured conditional means, sent in two"
               " header bytes", ("optimized", "midpoint")),
    )


@dataclass(frozen=True)
class ModeField:
    """A codec-specific choice stored as one byte after the variant (EZW's scan and pass order).

    ``codes`` maps every value the stream format knows to its byte; ``allowed`` is
    what this codec implements (a stream naming another value is corrupt).
    ``key`` names it in :func:`wavecodec.info`'s parameters (omitted when only one
    value is allowed); ``default`` applies when the codec has no such option.
    """

    option: str
    label: str
    codes: Mapping[str, int]
    allowed: tuple[str, ...]
    key: str
    default: str


@dataclass
class BitplanePlan:
    """Everything the decoder of a bit-plane codec needs, as stored in the parameter block.

    Layout: variant (u8: 0 plain, 1 arithmetic coding, 2 arithmetic coding from the codec's second
    table of priors, ``models = 2``), the codec's mode bytes, wavelet (text), levels, colour
    transform, fractional bits (u8 each), top bit-plane (i8), the two
    reconstruction points (u8, 1/256 of the interval), quantiser step (u8), then one
    plane offset per channel (i32 lossless, f32 lossy); with the subband KLT (colour
    transform 3) the three groups' quaternions follow (4 x i16 each, :mod:`._subband_klt`).
    """

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
    step: int = 0  # quantiser step 2**(-step/4) applied to every plane (0 = the plain bit-planes)
    modes: dict = field(default_factory=dict)  # the codec's mode fields, by option name
    rotations: tuple = ()  # subband KLT: the stored quaternion of each group of levels
    models: int = 1  # arithmetic coding: the table of trained priors the context models start from (1 or 2)

    def __getattr__(self, name: str) -> Any:  # plan.scan, plan.pass_order
        modes = self.__dict__.get("modes", {})
        if name in modes:
            return modes[name]
        raise AttributeError(name)

    def pack(self, lossless: bool, mode_fields: tuple[ModeField, ...] = ()) -> bytes:
        w = ParamWriter()
        if self.models == 2 and self.variant != "ac":
            raise ValueError("the second table of priors is for arithmetic-coded streams")
        w.u8(_AC_SECOND_MODELS if self.models == 2 else _VARIANT_CODE[self.variant])
        for f in mode_fields:
            w.u8(f.codes[self.modes[f.option]])
        w.text(self.wavelet).u8(self.levels).u8(self.colour)
        w.u8(self.frac_bits).i8(self.n_max).u8(self.recon[0]).u8(self.recon[1]).u8(self.step)
        for m in self.offsets:
            if lossless:
                w.i32(int(m))
            else:
                w.f32(float(m))
        if self.colour == COLOUR_SKLT:
            for q in self.rotations:
                for e in q:
                    w.i16(e)
        return w.bytes()

    @classmethod
    def unpack(cls, header: Header, name: str, mode_fields: tuple[ModeField, ...] = (),
               colours: tuple[int, ...] = (COLOUR_ICT,), models: tuple[int, ...] = (1,)) -> "BitplanePlan":
        """Read and check the parameter block of a ``name`` stream (:class:`CorruptStreamError` if invalid);
        ``colours``: the lossy colour transforms the codec implements; ``models``: its tables of priors."""
        r = ParamReader(header.params, name)
        code = r.u8("variant", 0, _AC_SECOND_MODELS)
        if code == _AC_SECOND_MODELS and _AC_SECOND_MODELS not in models:
            raise CorruptStreamError(f"{name} stream: variant byte {code} (a second table of priors) is not"
                                     " one of this codec's")
        variant = "ac" if code == _AC_SECOND_MODELS else {v: k for k, v in _VARIANT_CODE.items()}[code]
        modes = {}
        for f in mode_fields:
            value = {v: k for k, v in f.codes.items()}[r.u8(f.label, 0, len(f.codes) - 1)]
            if value not in f.allowed:
                raise CorruptStreamError(f"{name} stream: {f.label} {value!r} is not one of this codec's")
            modes[f.option] = value
        wavelet, levels, colour = read_transform_fields(r, header, name, colours)
        frac_bits = r.u8("fractional bits", 0, 8)
        n_max = r.i8("top bit-plane")
        # magnitudes stay below 2**MAX_PLANE (the encoder refuses larger ones), so that the
        # decoders' codes (v << 1) | (1 << low) fit int32
        if not -1 <= n_max <= MAX_PLANE - 1:
            raise CorruptStreamError(f"{name} stream: top bit-plane {n_max} outside -1..{MAX_PLANE - 1}")
        recon = (r.u8("fresh reconstruction point"), r.u8("refined reconstruction point"))
        step = r.u8("quantiser step", 0, N_STEPS - 1)
        if header.lossless and step != 0:
            raise CorruptStreamError(f"{name} stream: quantiser step in a lossless stream")
        offsets = [r.i32("plane offset") if header.lossless else r.f32("plane mean") for _ in range(header.channels)]
        if not header.lossless and any(not abs(m) <= 2.0**20 for m in offsets):
            raise CorruptStreamError(f"{name} stream: plane mean out of range")
        rotations = ()
        if colour == COLOUR_SKLT:
            rotations = tuple(tuple(r.i16("subband KLT quaternion") for _ in range(4)) for _ in range(_sklt.N_GROUPS))
            if any(not any(q) for q in rotations):
                raise CorruptStreamError(f"{name} stream: a zero subband KLT quaternion")
        r.end()
        return cls(variant, wavelet, levels, colour, frac_bits, n_max, offsets, recon, step, modes, rotations,
                   models=2 if code == _AC_SECOND_MODELS else 1)


@dataclass
class EncodeResult:
    """What a bit-plane encoder returns: the payload and what the plan and the step search need."""

    payload: bytes
    recon: tuple = (128, 128)  # MSE-optimal reconstruction points (1/256 of the interval), fresh and refined
    reduction: float = 0.0  # squared error removed by the decoded coefficients (see least_distortion)


#: A time model of the bit-plane codecs, for the shares of :func:`wavecodec.progress`
#: fractions (ns; fitted to SPIHT, EZW and IMP1EZW on kodim01 tiled 3x3, 0.25 bpp to
#: lossless, benchmarks/bench_progress.py): the front end (colour and wavelet transforms,
#: quantisation) and the inverse path per sample, a coding run per sample and per byte
#: coded, and the size of a stream without a budget (measured 0.41-0.53 bytes per sample).
FRONT_END_NS, INVERSE_NS = 25.0, 15.0
CODING_NS_PER_SAMPLE, CODING_NS_PER_BYTE = 8.0, 700.0
FULL_STREAM_BYTES_PER_SAMPLE = 0.5


def _coding_ns(samples: int, n_bytes: int | None) -> float:
    """Estimated time of one coding run over ``samples`` coefficients that codes ``n_bytes`` (None: no budget)."""
    full = FULL_STREAM_BYTES_PER_SAMPLE * samples
    return CODING_NS_PER_SAMPLE * samples + CODING_NS_PER_BYTE * (full if n_bytes is None else min(n_bytes, full))


class CoderProgress:
    """The fraction of a coding run done, for :func:`wavecodec.progress`: the larger of the
    coder's position against its limit (bytes or bits of the budget, or of the payload) and the
    bit-planes done to the 4th power (lower planes code more bits).

    The kernels' plane loops report the planes done (``report_progress(planes_done)``);
    this mapping reads the coder's ``state`` (set by :func:`run_encoder` and
    :func:`start_decoder`) when it is called, between passes.
    """

    def __init__(self, state: np.ndarray | None = None):
        self.state = state

    def __call__(self, planes_done: float) -> float:
        done = planes_done ** 4
        state = self.state
        if state is not None and state[_ac.STATE_LIMIT] > 0:
            done = max(done, float(state[_ac.STATE_POS]) / float(state[_ac.STATE_LIMIT]))
        return done


def run_encoder(arith: bool, budget: int | None, estimate: int, run: Callable) -> tuple[bytes, Any]:
    """Run an encoding kernel until its output fits its buffer; returns (payload, what ``run`` returned).

    ``run(state, buf)`` codes into ``buf`` with the coder ``state`` (initialised
    here: arithmetic coder or raw bits, stopping at ``budget`` bytes).  Without a
    budget the stream is as long as the coefficients need: the buffer starts at
    ``estimate`` bytes (a budget larger than any stream is not allocated) and
    doubles when the coder reports that it ran past the end (it counts what it
    could not write).
    """
    capacity = estimate if budget is None else min(budget, estimate)
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    with mapped_span(0.0, 1.0, CoderProgress(state), "coding"):  # the kernels report the planes done
        while True:
            buf = np.zeros(capacity + 8, dtype=np.uint8)
            if arith:
                _ac.ac_encoder_init(state, budget if budget is not None else 1 << 60)
            else:
                _ac.raw_init(state, 8 * budget if budget is not None else 1 << 60)
            result = run(state, buf)
            if arith:
                n_bytes = int(_ac.ac_encoder_flush(state, buf))
            else:
                n_bytes = (int(_ac.position(state)) + 7) // 8
            if budget is not None:
                n_bytes = min(n_bytes, budget)
            if n_bytes <= buf.shape[0]:
                return buf[:n_bytes].tobytes(), result
            capacity = 2 * n_bytes


def start_decoder(payload: bytes, arith: bool, into: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The payload as a writable array (one kernel signature for both directions) and a started decoder state.

    ``into`` (uint8, optional): memory to copy the payload into when it fits there
    (:func:`payload_area`); otherwise a new array holds the copy, one whose pages behind
    what the decoder has read it gives back between passes
    (:func:`wavecodec._kernels.pages.list_buffer`, :func:`wavecodec._kernels.arith.passes_done`).
    """
    n = len(payload)
    if into is not None and into.shape[0] >= n:
        data = into[:n]
    else:  # pages the decoder has read are given back between passes (lossless streams' big payloads)
        data = _pages.list_buffer(n, np.uint8)
    data[:] = np.frombuffer(payload, dtype=np.uint8)
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    if arith:
        _ac.ac_decoder_init(state, data, data.shape[0])
    else:
        _ac.raw_init(state, 8 * data.shape[0])
    tracker = current_mapping()  # decode_reduced's, while a wavecodec.progress callback is installed
    if isinstance(tracker, CoderProgress):
        tracker.state = state
    return data, state


class BitplaneCodec(Codec):
    """Base class of the bit-plane codecs: the policy, once.

    A subclass declares ``name``, ``options`` (:func:`variant_option` and
    :func:`common_options` plus its own), ``mode_fields`` (its header bytes after
    the variant) and implements :meth:`encode_coefficients` and
    :meth:`decode_coefficients`, which run its kernel.
    """

    mode_fields: tuple[ModeField, ...] = ()
    #: True when :meth:`decode_coefficients` takes ``window=(rows, cols)`` and then reconstructs only
    #: that top-left corner of the tree layout (reduced-resolution decoding, see :func:`decode_reduced`)
    windowed_decode: bool = False

    # -- what a codec implements
    def encode_coefficients(self, q: np.ndarray, plan: BitplanePlan, budget: int | None, *,
                            estimate_error: bool = True) -> EncodeResult:
        """Code signed integer coefficients (C, hp, wp) in tree layout into at most ``budget`` bytes
        (``estimate_error=False``: leave ``EncodeResult.reduction`` at 0, see :func:`least_distortion`)."""
        raise NotImplementedError

    def decode_coefficients(self, payload: bytes, plan: BitplanePlan, shape: tuple[int, int, int], *,
                            integer: bool, weights: CoefficientWeights | None,
                            plane_weight: np.ndarray) -> np.ndarray:
        """Decode a (possibly truncated) payload into float64 coefficients (C, hp, wp), divided by
        ``weights`` and ``plane_weight`` (see :func:`decode_reduced`)."""
        raise NotImplementedError

    #: the lossy colour transforms this codec's streams may use (:data:`COLOUR_TRANSFORMS` codes)
    colour_transforms: tuple[int, ...] = (COLOUR_ICT,)
    #: the quantiser-step search of an image of at least :data:`SEARCH_RECOMPUTE_MIN_SAMPLES` runs the
    #: front end once per step instead of holding the float64 coefficients through the coding runs
    #: (:func:`forward_coefficients` ``recompute``: the same streams, up to 8 bytes per sample less at
    #: the encoder's peak, one more front end per step)
    search_recomputes: bool = False
    #: the tables of trained priors this codec's arithmetic-coded streams may start from (1: the first,
    #: variant byte 1; 2: the second, variant byte 2); new streams use :meth:`context_models_for`
    context_models: tuple[int, ...] = (1,)

    # -- the policy
    def context_models_for(self, lossless: bool) -> int:
        """The table of priors a new stream starts from (the first unless the codec has another)."""
        return 1

    def lossy_colour_transform(self, options: Mapping[str, Any], budget: int | None, pixels: np.ndarray) -> str:
        """The colour transform of a lossy colour stream (a :data:`COLOUR_TRANSFORMS` key) for this
        payload ``budget`` (None: no budget); the ICT unless the codec offers others."""
        return "ict"

    def read_plan(self, header: Header) -> BitplanePlan:
        return BitplanePlan.unpack(header, self.name, self.mode_fields, self.colour_transforms, self.context_models)

    def pack_plan(self, plan: BitplanePlan, lossless: bool) -> bytes:
        return plan.pack(lossless, self.mode_fields)

    def new_plan(self, options: Mapping[str, Any], wavelet: str, levels: int, quantised: Quantised, *,
                 lossless: bool) -> BitplanePlan:
        modes = {f.option: options.get(f.option, f.default) for f in self.mode_fields}
        variant = options.get("variant", "ac")
        return BitplanePlan(variant, wavelet, levels, quantised.colour, quantised.frac_bits,
                            quantised.n_max, quantised.offsets, step=quantised.step, modes=modes,
                            rotations=quantised.rotations,
                            models=self.context_models_for(lossless) if variant == "ac" else 1)

    def encode_plans(self, pixels: np.ndarray, budget_for: Callable[[bytes], int | None], *, lossless: bool,
                     bit_depth: int, wavelet: str, levels: int, steps: tuple,
                     options: Mapping[str, Any], estimate_error: bool = True,
                     ) -> tuple[BitplanePlan, EncodeResult, float | None]:
        """Code ``pixels`` with every quantiser step in ``steps``; the least-distortion (plan, result, error).

        ``budget_for(params)`` is the payload budget once the parameter block is known
        (its length is the same for every step).  ``estimate_error=False`` with one
        step skips the error estimate (its two passes over the significant
        coefficients and one over all of them): the error is then None.
        """
        estimate_error = estimate_error or len(steps) > 1
        report_progress(0.0, "transform")  # the front end runs when the first candidate is asked for
        try:
            budget = budget_for(b"")  # (about: the parameter block is left out)
        except RateUnreachableError:
            budget = 0  # (raised again by the first candidate, with the parameter block)
        colour = self.lossy_colour_transform(options, budget, pixels)
        candidates = forward_coefficients(pixels, lossless=lossless, wavelet=wavelet, levels=levels,
                                          bit_depth=bit_depth, steps=steps, colour_transform=colour,
                                          recompute=self.search_recomputes
                                          and pixels.size >= SEARCH_RECOMPUTE_MIN_SAMPLES, energy=estimate_error)
        # the front end's share of the time, then each candidate's coding run an equal part
        front_ns = FRONT_END_NS * pixels.size
        front = front_ns / (front_ns + len(steps) * _coding_ns(pixels.size, budget))

        def code(q, quantised: Quantised):
            plan = self.new_plan(options, wavelet, levels, quantised, lossless=lossless)
            k = steps.index(quantised.step)
            with mapped_span(front + (1.0 - front) * k / len(steps), front + (1.0 - front) * (k + 1) / len(steps),
                             None, "coding"):
                result = self.encode_coefficients(q, plan, budget_for(self.pack_plan(plan, lossless)),
                                                  estimate_error=estimate_error)
            if options.get("reconstruction", "optimized") == "optimized" and not lossless:
                plan.recon = result.recon
            return plan, result

        return least_distortion(candidates, code, estimate_error=estimate_error)

    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                     options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        wavelet, levels, steps = resolve_transform(self.name, image, target, lossless=lossless, options=options)
        plan, result, _ = self.encode_plans(image.pixels, target.payload_budget, lossless=lossless,
                                            bit_depth=image.bit_depth, wavelet=wavelet, levels=levels, steps=steps,
                                            options=options, estimate_error=False)
        return self.pack_plan(plan, lossless), result.payload

    def decode_plan(self, plan: BitplanePlan, payload: bytes, header: Header, reduce: int = 0, *,
                    rounded: bool = True, add_to: np.ndarray | Callable[[], np.ndarray] | None = None) -> np.ndarray:
        """Pixels (H, W, C) of the header's size and dtype from a plan and its payload
        (``reduce=k``: at ``1/2**k`` of each side; ``rounded=False``: float64; ``add_to``: an image
        this one is added to before rounding, or a function that makes it, called once the
        coefficients are decoded; see :func:`decode_reduced` and :func:`inverse_coefficients`)."""

        def decode(shape, weights, plane_weight, window):
            extra = {} if window is None else {"window": window}
            return self.decode_coefficients(payload, plan, shape, integer=header.lossless, weights=weights,
                                            plane_weight=plane_weight, **extra)

        return decode_reduced(decode, plan, header, reduce, windowed=self.windowed_decode, rounded=rounded,
                              payload_bytes=len(payload),
                              add_to=add_to)

    def decode_image(self, header: Header, payload: bytes, reduce: int = 0) -> np.ndarray:
        return self.decode_plan(self.read_plan(header), payload, header, reduce)

    def describe(self, header: Header) -> dict[str, Any]:
        plan = self.read_plan(header)
        out: dict[str, Any] = {"variant": plan.variant}
        if len(self.context_models) > 1:
            out["context_models"] = plan.models  # which table of trained priors (1 or 2)
        for f in self.mode_fields:
            if len(f.allowed) > 1:
                out[f.key] = plan.modes[f.option]
        out.update({
            "transform": plan.wavelet,
            "levels": plan.levels,
            "colour_transform": COLOUR_NAMES[plan.colour],
            "top_bitplane": plan.n_max,
            "fractional_bits": plan.frac_bits,
            "reconstruction_points": (plan.recon[0] / 256, plan.recon[1] / 256),
            "quantiser_step": 1.0 / step_scale(plan.step),  # 2**(k/4) in units of the plain bit-planes
        })
        if plan.colour == COLOUR_SKLT:  # each group's stored quaternion (level 1, level 2, levels 3+ and LL)
            out["subband_klt_quaternions"] = plan.rotations
        return out
